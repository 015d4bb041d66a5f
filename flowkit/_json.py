"""JSON for run locals and payloads, with dates, times and durations kept as such.

A datetime is stored as ``{"$datetime": iso}`` (with ``"tz"``, the zone's name, when it
has a named zone, and no offset when it is naive), a date as ``{"$date": iso}``, a
duration as ``{"$seconds": n}``, a set as ``{"$set": [...]}``; tuples become lists.
Anything else that JSON cannot hold raises ``TypeError`` naming its type.

So that data can never be mistaken for these markers, a key of the caller's own dicts
that begins with ``$`` is stored with one more ``$`` (``{"$date": "x"}`` as
``{"$$date": "x"}``) and read back as it was. Event payloads are the exception
(``to_payload``): they are kept as the sender wrote them, since flows read them as
stored; a payload's dict copied into a run's locals is escaped like any other.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import orjson
import pendulum

_PLAIN = (str, int, float, bool, type(None))
_PLAIN_TYPES = frozenset(_PLAIN)


def to_jsonable(value: object) -> Any:
    """``value`` as plain JSON types (the encoded form), for JSON columns."""
    return _encode(value, True)


def to_payload(value: object) -> Any:
    """An event payload as plain JSON types: dates and the like encoded, but its dicts
    kept as written (flows read a payload as it is stored)."""
    return _encode(value, False)


# What orjson must not turn into JSON on its own: flowkit writes dates, times and
# subclasses its own way (``_encode``).
_PASSTHROUGH = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
                | orjson.OPT_PASSTHROUGH_DATACLASS)


def loggable(value: object) -> Any:
    """``value`` for a log (the ledger, the history): a copy as JSON types, encoded as
    ``to_payload`` does; a value JSON cannot hold is logged as its ``repr``."""
    try:
        # the common case, plain JSON, copied in C (a few times faster than _encode)
        return orjson.loads(orjson.dumps(value, option=_PASSTHROUGH))
    except orjson.JSONEncodeError:
        pass
    try:
        return _encode(value, False)
    except (TypeError, ValueError):
        return repr(value)


def _encode(value: object, escape: bool) -> Any:
    kind = type(value)
    if kind in _PLAIN_TYPES:  # the common case, without isinstance's walk
        return value
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"dict key {key!r} is a {type(key).__name__}, not a str")
            out["$" + key if escape and key[:1] == "$" else key] = _encode(item, escape)
        return out
    if isinstance(value, list | tuple):
        return [_encode(item, escape) for item in value]
    if isinstance(value, dt.datetime):
        zone = getattr(value.tzinfo, "name", None) or getattr(value.tzinfo, "key", None)
        if (isinstance(zone, str) and "/" in zone) or zone == "UTC":
            return {"$datetime": value.isoformat(), "tz": zone}
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$seconds": value.total_seconds()}
    if isinstance(value, set | frozenset):
        return {"$set": [_encode(item, escape) for item in value]}
    raise TypeError(type(value).__name__)


def from_jsonable(value: Any) -> Any:
    """The inverse of ``to_jsonable``."""
    if isinstance(value, dict):
        if "$datetime" in value and len(value) <= 2:
            moment = pendulum.parse(value["$datetime"], tz=None)
            if "tz" in value and isinstance(moment, pendulum.DateTime):
                return moment.in_timezone(value["tz"])
            return moment
        if len(value) == 1:
            if "$set" in value:
                return {from_jsonable(item) for item in value["$set"]}
            if "$date" in value:
                return pendulum.Date.fromisoformat(value["$date"])
            if "$seconds" in value:
                return pendulum.duration(seconds=value["$seconds"])
        return {key[1:] if key[:2] == "$$" else key: from_jsonable(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [from_jsonable(item) for item in value]
    return value


def dumps(value: object) -> str:
    """Encode ``value``; raises ``TypeError`` naming the type that is not JSON."""
    return json.dumps(to_jsonable(value), ensure_ascii=False, sort_keys=True)


def loads(text: str) -> Any:
    return from_jsonable(json.loads(text))


def encode_column(value: object) -> str:
    """Encode an already JSON-able ``value`` for a JSON column or parameter, in C
    (orjson); a value orjson refuses (an int past 64 bits) goes through ``json``."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def decode_column(text: str | bytes) -> Any:
    """Decode a JSON column's text, in C (orjson). Anything but text raises TypeError,
    as ``json.loads`` does: SQLAlchemy's SQLite JSON type then keeps a number that
    SQLite stored as one."""
    if not isinstance(text, str | bytes | bytearray | memoryview):
        raise TypeError(f"JSON text must be str or bytes, not {type(text).__name__}")
    return orjson.loads(text)

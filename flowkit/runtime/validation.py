"""The boundary: every event that enters flowkit is checked here, before anything of it
is stored.

``Engine.emit`` and ``emit_many`` turn each event into its row with ``event_row``, and
so do ``flowkit emit``, the Simulation, events that actions emit, and any later way in
(an HTTP API calls ``emit_many``). An event is refused with one ``InvalidEventError``
naming the event's position and the field at fault when:

- its name, user or idempotency key is missing, or longer than its column;
- a payload field is named ``event``, ``user`` or ``idempotency_key`` (``as_event``);
- the platform declares the field (``event_fields``) and the value is missing, longer
  than the column it is written to, or, for a date, not a date;
- a text (value or key) holds a NUL character, which PostgreSQL cannot store;
- the payload exceeds the ``Limits``: its size as JSON, a text's length, nesting
  depth, a list's length (each set from the environment, see ``Limits.from_env``).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Mapping
from typing import Any

import attrs
import orjson
import pendulum

from flowkit import _json
from flowkit.errors import ConfigurationError, EventError, InvalidEventError
from flowkit.store import schema as t
from flowkit.store.repository import shard_of

RESERVED = frozenset({"event", "user", "idempotency_key"})
_NAME_LENGTH: int | None = getattr(t.events.c.name.type, "length", None)
_USER_LENGTH: int | None = getattr(t.events.c.user_id.type, "length", None)
_KEY_LENGTH: int | None = getattr(t.events.c.key.type, "length", None)


@attrs.frozen
class Field:
    """What a platform declares of one field of its events (``event_fields``)."""

    required: bool = False
    max_length: int | None = None  # the length of the column the value is written to
    date: bool = False  # a date or moment: a date, a datetime, or an ISO 8601 text


_ENV = {"max_event_bytes": "FLOWKIT_MAX_EVENT_BYTES",
        "max_string_length": "FLOWKIT_MAX_STRING_LENGTH",
        "max_depth": "FLOWKIT_MAX_DEPTH", "max_list_length": "FLOWKIT_MAX_LIST_LENGTH"}


@attrs.frozen
class Limits:
    """The sizes an event may reach; ``from_env`` reads each from its variable."""

    max_event_bytes: int = 64 * 1024  # the payload as JSON (UTF-8)
    max_string_length: int = 10_000  # characters in one text value
    max_depth: int = 10  # dicts and lists inside one another
    max_list_length: int = 1_000  # items in one list

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, each overridden by its variable when set: FLOWKIT_MAX_EVENT_BYTES,
        FLOWKIT_MAX_STRING_LENGTH, FLOWKIT_MAX_DEPTH, FLOWKIT_MAX_LIST_LENGTH."""
        environ = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for name, variable in _ENV.items():
            text = environ.get(variable)
            if not text:
                continue
            try:
                values[name] = int(text)
            except ValueError:
                values[name] = -1
            if values[name] <= 0:
                raise ConfigurationError(
                    f"{variable}={text!r} is not a positive whole number; set it to one "
                    f"(default {getattr(cls(), name)}) or unset it")
        return cls(**values)


def as_event(name: str, user: str, payload: Mapping[str, Any], *,
             idempotency_key: str | None = None, index: int = 0) -> dict[str, Any]:
    """The mapping ``emit_many`` takes, from a payload given apart (a command line's
    ``field=value`` pairs, an HTTP body): refuses a payload field with a reserved name."""
    for field in payload:
        if field in RESERVED:
            raise InvalidEventError(
                f"{field!r} is reserved for the event itself", index=index, event=name,
                field=str(field), hint="rename the field (e.g. to a more specific name)")
    return {**payload, "event": name, "user": user, "idempotency_key": idempotency_key}


def event_row(platform: Any, limits: Limits, event: Mapping[str, Any],
              now: pendulum.DateTime, index: int = 0) -> dict[str, Any]:
    """The events-table row of ``event`` (``event``, ``user``, optionally
    ``idempotency_key``, and the payload's fields), or ``InvalidEventError``."""
    fields = dict(event)
    name = fields.pop("event", None)
    user = fields.pop("user", None)
    key = fields.pop("idempotency_key", None) or uuid.uuid4().hex
    if not isinstance(name, str) or not name:
        raise InvalidEventError(f"an event needs a name (event=...), got {name!r}",
                                index=index, field="event")
    _check_text(name, "event", _NAME_LENGTH, name, index)
    if user is None or user == "":
        raise InvalidEventError("an event needs a user (user=...)", index=index, event=name,
                                field="user")
    _check_text(str(user), "user", _USER_LENGTH, name, index)
    _check_text(str(key), "idempotency_key", _KEY_LENGTH, name, index)
    _check_declared(platform, name, fields, index)
    payload = _payload(name, str(user), fields, limits, index)
    return {"key": str(key), "name": name, "user_id": str(user), "payload": payload,
            "at": now, "routed": False, "shard": shard_of(str(user))}


def _check_text(text: str, field: str, length: int | None, event: str, index: int) -> None:
    if "\x00" in text:
        raise InvalidEventError("holds a NUL character", index=index, event=event,
                                field=field, hint="remove it")
    if length is not None and len(text) > length:
        raise InvalidEventError(f"is {len(text)} characters long, more than the {length} "
                                "its column holds", index=index, event=event, field=field,
                                hint="shorten it")


def _check_declared(platform: Any, name: str, fields: dict[str, Any], index: int) -> None:
    """The checks the platform declares for ``name`` (``event_fields``; dates are made
    ISO 8601 texts), then its own ``check_event``, if it has them."""
    declare = getattr(platform, "event_fields", None)
    if declare is not None:
        _check_fields(declare(name), name, fields, index)
    check = getattr(platform, "check_event", None)
    if check is not None:
        try:
            check(name, fields)
        except EventError as error:
            if type(error) is not EventError:
                raise  # a more precise error of flowkit's own (InvalidEventError, ...)
            raise InvalidEventError(str(error), index=index, event=name) from error


def _check_fields(declared: Mapping[str, Field], name: str, fields: dict[str, Any],
                  index: int) -> None:
    for field, rule in declared.items():
        value = fields.get(field)
        if value is None or value == "":
            if rule.required:
                needed = ", ".join(f"{f}=..." for f, r in declared.items() if r.required)
                raise InvalidEventError(f"{name!r} needs {needed}; it came without {field}",
                                        index=index, event=name, field=field)
            continue
        if rule.date:
            fields[field] = _date_text(value, name, field, index)
        elif rule.max_length is not None:
            _check_text(str(value), field, rule.max_length, name, index)


def _date_text(value: object, event: str, field: str, index: int) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            dt.datetime.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise InvalidEventError(f"{field}={value!r} is not a date", index=index, event=event,
                            field=field, hint="send an ISO date such as 2026-03-02 or "
                            "2026-03-02T09:00:00+00:00")


class _Refused(Exception):
    def __init__(self, problem: str, hint: str = "") -> None:
        self.problem, self.hint, self.path = problem, hint, ""


def _payload(name: str, user: str, fields: dict[str, Any], limits: Limits,
             index: int) -> Any:
    for field, value in fields.items():
        try:
            if not isinstance(field, str):
                raise _Refused(f"field name {field!r} is a {type(field).__name__}, not a str")
            _check_field_name(field)
            _walk(value, 1, limits)
        except _Refused as refused:
            raise InvalidEventError(refused.problem, index=index, event=name,
                                    field=f"{field}{refused.path}", hint=refused.hint
                                    ) from None
    try:
        payload = _json.to_payload({"event": name, "user": user, **fields})
    except (TypeError, ValueError) as error:
        raise InvalidEventError(f"has a value that is not JSON: {error}", index=index,
                                event=name) from error
    size = len(orjson.dumps(payload))
    if size > limits.max_event_bytes:
        raise InvalidEventError(
            f"the payload is {size:,} bytes as JSON, more than the limit of "
            f"{limits.max_event_bytes:,}", index=index, event=name,
            hint="send less, or raise FLOWKIT_MAX_EVENT_BYTES")
    return payload


def _check_field_name(key: str) -> None:
    if "\x00" in key:
        raise _Refused("a key holds a NUL character", "remove it")


def _walk(value: object, depth: int, limits: Limits) -> None:
    """Refuse what no column can hold or the limits forbid; ``path`` says where."""
    if isinstance(value, str):
        if "\x00" in value:
            raise _Refused("holds a NUL character", "remove it")
        if len(value) > limits.max_string_length:
            raise _Refused(f"is {len(value):,} characters long, more than the limit of "
                           f"{limits.max_string_length:,}",
                           "shorten it, or raise FLOWKIT_MAX_STRING_LENGTH")
        return
    if isinstance(value, dict | list | tuple | set | frozenset):
        if depth > limits.max_depth:
            raise _Refused(f"nests more than {limits.max_depth} levels deep",
                           "flatten it, or raise FLOWKIT_MAX_DEPTH")
        if isinstance(value, dict):
            for key, item in value.items():
                try:
                    _check_field_name(str(key))
                    _walk(item, depth + 1, limits)
                except _Refused as refused:
                    refused.path = f".{key}{refused.path}"
                    raise
            return
        if len(value) > limits.max_list_length:
            raise _Refused(f"has {len(value):,} items, more than the limit of "
                           f"{limits.max_list_length:,}",
                           "send fewer, or raise FLOWKIT_MAX_LIST_LENGTH")
        for position, item in enumerate(value):
            try:
                _walk(item, depth + 1, limits)
            except _Refused as refused:
                refused.path = f"[{position}]{refused.path}"
                raise



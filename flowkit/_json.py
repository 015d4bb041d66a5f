"""JSON for run locals and payloads, with dates, times and durations kept as such."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pendulum


def _default(value: object) -> object:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$seconds": value.total_seconds()}
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(type(value).__name__)


def _hook(obj: dict[str, Any]) -> object:
    if len(obj) == 1:
        if "$datetime" in obj:
            return pendulum.parse(obj["$datetime"])
        if "$date" in obj:
            return pendulum.Date.fromisoformat(obj["$date"])
        if "$seconds" in obj:
            return pendulum.duration(seconds=obj["$seconds"])
    return obj


def dumps(value: object) -> str:
    """Encode ``value``; raises ``TypeError`` naming the type that is not JSON."""
    return json.dumps(value, default=_default, ensure_ascii=False, sort_keys=True)


def loads(text: str) -> Any:
    return json.loads(text, object_hook=_hook)


def to_jsonable(value: object) -> Any:
    """``value`` as plain JSON types (the encoded form), for JSON columns."""
    return json.loads(dumps(value))


def from_jsonable(value: object) -> Any:
    return loads(json.dumps(value))

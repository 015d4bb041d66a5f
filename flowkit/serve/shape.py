"""The JSON shape of ``POST /v1/events`` bodies, checked before the events go in.

One event::

    {"event": "user.enrolled", "user": "u1", "fields": {"course": "python-101"},
     "idempotency_key": "enr-381"}

or a batch, ``{"events": [<event>, ...]}``. This checks the envelope only (members
and their JSON types); what the event itself may hold (names, sizes, the fields a
known event must carry) is the engine's one validator, behind ``Engine.emit_many``.
"""

from __future__ import annotations

from typing import Any

from flowkit.runtime.validation import RESERVED  # the boundary validator's rule
from flowkit.serve.problems import FieldError, Problem, invalid

MEMBERS = frozenset({"event", "user", "fields", "idempotency_key"})
MAX_HEADER_KEY = 128  # characters of an Idempotency-Key header (":<index>" is added)


def batch_of(document: Any, max_batch: int) -> tuple[list[Any], str]:
    """The list of events a body holds, and the JSON pointer base of its items."""
    if isinstance(document, dict) and "events" in document:
        extra = sorted(set(document) - {"events"})
        if extra:
            raise invalid(f"a batch holds only `events`, not {', '.join(extra)}")
        items = document["events"]
        if not isinstance(items, list):
            raise invalid("`events` must be a list of events")
        if not items:
            raise invalid("`events` is empty: send at least one event")
        if len(items) > max_batch:
            raise Problem(413, "batch-too-large", "Batch too large",
                          f"{len(items)} events in one request, over the limit of "
                          f"{max_batch}; split the batch")
        return items, "events"
    if isinstance(document, dict):
        return [document], ""
    raise invalid("the body must be an event object, or {\"events\": [...]}")


def _check(item: Any, index: int | None) -> list[FieldError]:
    if not isinstance(item, dict):
        return [FieldError("an event must be a JSON object", index)]
    errors = [FieldError("unknown member; put payload values under `fields`", index, name)
              for name in sorted(set(item) - MEMBERS)]
    name = item.get("event")
    if not isinstance(name, str) or not name:
        errors.append(FieldError("the event's name, a non-empty string", index, "event"))
    user = item.get("user")
    if not (isinstance(user, str) and user) and not (
            isinstance(user, int) and not isinstance(user, bool)):
        errors.append(FieldError("the user's id, a non-empty string", index, "user"))
    fields = item.get("fields", {})
    if not isinstance(fields, dict):
        errors.append(FieldError("`fields` must be a JSON object", index, "fields"))
    else:
        errors.extend(FieldError("is a member of the event itself, not a field", index,
                                 f"fields.{f}") for f in sorted(RESERVED & set(fields)))
    key = item.get("idempotency_key")
    if key is not None and not (isinstance(key, str) and key):
        errors.append(FieldError("a non-empty string, when given", index, "idempotency_key"))
    return errors


def to_events(items: list[Any], base: str, header_key: str | None) -> list[dict[str, Any]]:
    """The events for ``Engine.emit_many``, or a 400 naming every envelope error.

    A key comes from the event's ``idempotency_key``, else from the ``Idempotency-Key``
    header (for a batch, suffixed with the event's index), else the engine makes one.
    """
    batch = base != ""
    errors = [e for i, item in enumerate(items) for e in _check(item, i if batch else None)]
    if errors:
        raise invalid(f"{len({e.index for e in errors})} event(s) are malformed; "
                      "nothing was stored", tuple(errors), base)
    events = []
    for index, item in enumerate(items):
        key = item.get("idempotency_key")
        if key is None and header_key:
            key = f"{header_key}:{index}" if batch else header_key
        events.append({"event": item["event"], "user": str(item["user"]),
                       "idempotency_key": key, **item.get("fields", {})})
    return events

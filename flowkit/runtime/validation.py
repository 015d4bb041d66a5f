"""The boundary: every event that enters flowkit is checked here before it is stored.

``Engine.emit`` and ``emit_many`` (and so ``flowkit emit``, the Simulation, and events
that actions emit) turn each event into its row with ``event_row``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import pendulum

from flowkit import _json
from flowkit.errors import EventError
from flowkit.store.repository import shard_of


def event_row(platform: Any, event: Mapping[str, Any], now: pendulum.DateTime
              ) -> dict[str, Any]:
    """The events-table row of ``event`` (``event``, ``user``, optionally
    ``idempotency_key``, and the payload's fields)."""
    fields = dict(event)
    name = fields.pop("event", None)
    user = fields.pop("user", None)
    key = fields.pop("idempotency_key", None) or uuid.uuid4().hex
    if not isinstance(name, str) or not name:
        raise EventError(f"an event needs a name (event=...), got {name!r}")
    if user is None or user == "":
        raise EventError(f"event {name!r} needs a user (user=...)")
    check = getattr(platform, "check_event", None)
    if check is not None:
        check(name, fields)
    try:
        payload = _json.to_jsonable({"event": name, "user": str(user), **fields})
    except (TypeError, ValueError) as error:
        raise EventError(f"event {name!r} has a payload that is not JSON: {error}") from error
    return {"key": str(key), "name": name, "user_id": str(user), "payload": payload,
            "at": now, "routed": False, "shard": shard_of(str(user))}

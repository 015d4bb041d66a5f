"""Handing events to the engine: the same ``Engine.emit_many`` as ``flowkit emit``.

The engine's transaction has committed when ``emit_many`` returns, so a 202 is only
ever sent for stored events. Its one validator refuses a bad batch whole (nothing is
stored); its error is turned into a 400 naming the event's index and field.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool

from flowkit.errors import FlowkitError
from flowkit.runtime.dispatch import Dispatcher
from flowkit.runtime.engine import Emitted, Engine
from flowkit.serve.problems import FieldError, invalid

log = logging.getLogger("flowkit.serve")


class Ingest:
    """Emits batches in a worker thread (the engine is synchronous)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def emit(self, events: Sequence[Mapping[str, Any]], *, pointer_base: str = "",
                   batch: bool = True) -> list[Emitted]:
        try:
            emitted = await run_in_threadpool(self.engine.emit_many, events)
        except FlowkitError as error:
            index = getattr(error, "index", None)
            field = getattr(error, "field", None)
            raise invalid(f"{error}; nothing was stored", (FieldError(
                str(error), index if batch else None, _field(field)),),
                pointer_base) from None
        return _mark_repeats(emitted)


def _field(field: object) -> str | None:
    """The envelope member, or ``fields.<name>`` for a payload field."""
    if not isinstance(field, str) or not field:
        return None
    return field if field in ("event", "user", "idempotency_key") else f"fields.{field}"


def _mark_repeats(emitted: list[Emitted]) -> list[Emitted]:
    """A key given twice in one batch is stored once: its later events are duplicates."""
    seen: set[str] = set()
    out = []
    for item in emitted:
        out.append(Emitted(item.key, True) if item.key in seen else item)
        seen.add(item.key)
    return out


class DeferredDispatcher:
    """Leave new events to the workers' scheduler (it routes every shard with events
    waiting): for a server that has no Redis to tell the workers through."""

    def events_appended(self, engine: Engine, shards: set[int]) -> None:
        return None


class TolerantDispatcher:
    """Tell the workers through ``inner``; if that fails (Redis down), the events are
    already committed, and the scheduler's sweep routes them: log, do not fail."""

    def __init__(self, inner: Dispatcher) -> None:
        self.inner = inner

    def events_appended(self, engine: Engine, shards: set[int]) -> None:
        try:
            self.inner.events_appended(engine, shards)
        except Exception as error:
            log.warning("could not tell the workers about new events (%s: %s); the "
                        "scheduler will route them", type(error).__name__, error)

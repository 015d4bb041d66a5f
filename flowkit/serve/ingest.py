"""Handing events to the engine: the same ``Engine.emit_many`` as ``flowkit emit``.

The engine's transaction has committed when ``emit_many`` returns, so a 202 is only
ever sent for stored events. Its one validator refuses a bad batch whole (nothing is
stored); its error is turned into a 400 naming the event's index and field.

Requests that arrive while commits are under way are committed together, in one
transaction, as soon as one of them ends (a group commit): a lone request goes at
once, and a crowd of small ones costs a commit per group rather than per request. Up
to ``COMMITTERS`` groups commit at once, so that the server parses requests while the
database flushes (one at a time, 8 clients of single events were 1,190 to 1,290 a
second; four at a time, 1,540 to 1,600: docs/serve.md). A group the engine refuses is
split, and each request tried alone, so a bad request never fails its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from starlette.concurrency import run_in_threadpool

from flowkit.errors import FlowkitError, ServiceError
from flowkit.runtime import faults, logs
from flowkit.runtime.dispatch import Dispatcher
from flowkit.runtime.engine import Emitted, Engine
from flowkit.serve.problems import FieldError, Problem, invalid, unavailable

log = logging.getLogger("flowkit.serve")
MAX_GROUP = 2_000  # events in one group commit (a request's batch is never split)
COMMITTERS = 4  # groups committing at once (each a transaction in its own thread)


@attrs.define
class _Request:
    events: list[Mapping[str, Any]]
    pointer_base: str
    batch: bool
    answer: asyncio.Future[list[Emitted]]


class Ingest:
    """Emits requests' events in worker threads (the engine is synchronous), in
    groups of the requests waiting while up to ``committers`` groups commit."""

    def __init__(self, engine: Engine, max_group: int = MAX_GROUP,
                 committers: int | None = None) -> None:
        self.engine = engine
        self.max_group = max_group
        # SQLite writes one transaction at a time (and an in-memory one shares a single
        # connection between threads): more committers would only queue or collide
        self.committers = committers or (1 if engine.db.dialect.name == "sqlite"
                                         else COMMITTERS)
        self._waiting: list[_Request] = []
        self._running = 0  # committers at work; each leaves once nothing waits
        self._tasks: set[asyncio.Task[None]] = set()  # held, or asyncio may drop them

    async def emit(self, events: Sequence[Mapping[str, Any]], *, pointer_base: str = "",
                   batch: bool = True) -> list[Emitted]:
        request = _Request(list(events), pointer_base, batch,
                           asyncio.get_running_loop().create_future())
        self._waiting.append(request)
        if self._running < self.committers:
            self._running += 1
            task = asyncio.create_task(self._commit_waiting())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await request.answer

    async def _commit_waiting(self) -> None:
        try:
            while self._waiting:
                group: list[_Request] = []
                size = 0
                while self._waiting and (not group or size + len(self._waiting[0].events)
                                         <= self.max_group):
                    size += len(self._waiting[0].events)
                    group.append(self._waiting.pop(0))
                await self._commit(group)
        finally:  # no await since the last look at _waiting: none can be left behind
            self._running -= 1

    async def _commit(self, group: list[_Request], *, again: bool = False) -> None:
        events = [e for request in group for e in request.events]
        try:
            emitted = await run_in_threadpool(self.engine.emit_many, events)
        except BaseException as error:
            await self._failed(group, error, again)
            return
        emitted = _mark_repeats(emitted)
        for request in group:
            _answer(request, emitted[:len(request.events)])
            emitted = emitted[len(request.events):]

    async def _failed(self, group: list[_Request], error: BaseException,
                      again: bool) -> None:
        """Answer a group whose commit failed: 503 while the database is away (logged,
        throttled), 400 for a refused request (a group is split to find it); a group
        that lost a deadlock to another committer (two requests retrying the same keys
        in another order) is tried again, each request alone; anything else is passed
        on as it is."""
        if _conflict(error) and not again:
            for request in group:
                await self._commit([request], again=True)
            return
        service = faults.diagnose(error) if isinstance(error, Exception) else None
        if service is None and _conflict(error):
            service = ServiceError("the commit lost a deadlock twice", service="database",
                                   kind="conflict", transient=True)
        if service is not None:
            logs.fault(f"events not stored, answered 503: {service}", error,
                       kind=f"serve-events:{service.service}:{service.kind}")
            for request in group:
                _answer(request, error=unavailable(service))
        elif isinstance(error, FlowkitError):
            if len(group) > 1:
                for request in group:  # alone, each gets its own answer
                    await self._commit([request])
                return
            _answer(group[0], error=_refusal(error, group[0]))
        else:
            for request in group:
                _answer(request, error=error)
            if not isinstance(error, Exception):
                raise error


def _conflict(error: BaseException) -> bool:
    """PostgreSQL rolled the transaction back to break a deadlock or a serialization
    conflict: trying again succeeds."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) in ("40P01", "40001")


def _answer(request: _Request, emitted: list[Emitted] | None = None,
            error: BaseException | None = None) -> None:
    if request.answer.done():  # its client went away
        return
    if error is not None:
        request.answer.set_exception(error)
    else:
        request.answer.set_result(emitted or [])


def _refusal(error: FlowkitError, request: _Request) -> Problem:
    """A 400 naming the refused event by its index in the request and its field."""
    index = getattr(error, "index", None)
    text = str(error)
    detail = f"{text}; nothing was stored"
    return invalid(detail, (FieldError(
        str(getattr(error, "problem", text)), index if request.batch else None,
        _field(getattr(error, "field", None))),), request.pointer_base)


def _field(field: object) -> str | None:
    """The envelope member, or ``fields.<name>`` for a payload field."""
    if not isinstance(field, str) or not field:
        return None
    return field if field in ("event", "user", "idempotency_key") else f"fields.{field}"


def _mark_repeats(emitted: list[Emitted]) -> list[Emitted]:
    """A key given twice in one transaction is stored once: later ones are duplicates."""
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

    def __init__(self, inner: Dispatcher[Engine]) -> None:
        self.inner = inner

    def events_appended(self, engine: Engine, shards: set[int]) -> None:
        try:
            self.inner.events_appended(engine, shards)
        except Exception as error:
            log.warning("could not tell the workers about new events (%s: %s); the "
                        "scheduler will route them", type(error).__name__, error)

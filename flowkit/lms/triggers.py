"""The school's triggers beyond a plain event: inactivity, and dates in user fields.

``@on_inactive(days=14)`` starts a run when a user has not visited the school (or, with
``course=``, that course) for 14 days. It is driven by ``user.visited`` events: one
watcher run per user waits for their next visit with a 14-day timeout, so every visit
moves the same timer row (a thousand visits cost one timer, not a thousand). When the
timeout passes, a ``user.inactive`` event (with ``days`` and ``course``) starts the
decorated flow; the watcher then waits for the user's return before watching again.

``field_date(run, "cert_expires", days=-30)`` is the moment 30 days before the date in
the user's field ``cert_expires``, for ``wait(until=...)``: a naive moment, so it is read
in the user's own timezone; a moment already past makes the wait go on at once (and its
history says so). ``event_date(run, "expires_at", days=-30)`` is the same for a date the
trigger event carries (a certificate's expiry).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import pendulum

from flowkit.context import Run
from flowkit.dsl.action import action
from flowkit.dsl.flow import Flow, automation, on
from flowkit.dsl.primitives import wait_for
from flowkit.errors import DefinitionError

INACTIVE = "user.inactive"
VISITED = "user.visited"
_watchers: dict[tuple[int, str | None], Flow] = {}


@action(name="flag_inactive")
def flag_inactive(days: int, course: str | None, *, run: Run) -> None:
    run.emit(INACTIVE, key=run.idempotency_key(), days=days, course=course)


def _watcher(days: int, course: str | None) -> Flow:
    """The flow that watches one user's visits for one inactivity trigger."""
    key = (days, course)
    if key in _watchers:
        return _watchers[key]

    def counts(event: dict[str, Any]) -> bool:
        return course is None or event.get("course") == course

    async def watch(run: Run) -> None:
        while True:
            visit = await wait_for("user.visited", timeout={"days": days}, where=counts)
            if visit is None:
                await flag_inactive(days, course)
                await wait_for("user.visited", where=counts)

    name = f"inactivity-{days}d" + (f"-{course}" if course else "")
    flow = automation(name=name)(on(VISITED)(on("user.signed_up")(watch)))
    _watchers[key] = flow
    return flow


def on_inactive(days: int, course: str | None = None) -> Callable[[Any], Flow]:
    """Start the decorated flow when a user has not visited the school (or ``course``)
    for ``days`` days. The trigger event, ``user.inactive``, carries ``days`` and
    ``course``."""
    if not isinstance(days, int) or days <= 0:
        raise DefinitionError(f"@on_inactive(days=...) takes a positive whole number, "
                              f"got {days!r}")
    watcher = _watcher(days, course)

    def matches(event: dict[str, Any]) -> bool:
        return bool(event.get("days") == days and event.get("course") == course)

    def decorate(target: Any) -> Flow:
        flow = on(INACTIVE, where=matches)(target)
        return attrs.evolve(flow, companions=(*flow.companions, watcher))

    return decorate


def field_date(run: Run, field: str, *, days: float = 0, hours: float = 0) -> dt.datetime:
    """The date (or date-time) in the user's field ``field``, moved by ``days`` and
    ``hours``, for ``wait(until=...)``: a date or a naive date-time is read in the
    user's timezone; a date-time with an offset keeps it."""
    raw = run.user.fields.get(field)
    if raw in (None, ""):
        raise KeyError(f"user {run.user.id!r} has no {field!r} field to wait for")
    return _local(raw, f"user field {field!r}") + dt.timedelta(days=days, hours=hours)


def event_date(source: Run | Mapping[str, Any], field: str, *, days: float = 0,
               hours: float = 0) -> dt.datetime:
    """The date (or date-time) in the event's field ``field`` (of ``run.event`` when
    given a run), moved by ``days`` and ``hours``: ``field_date`` for event fields.

    In ``wait(until=event_date(run, "expires_at", days=-30))`` a date or a naive
    date-time is read in the user's timezone (midnight where the user is); one with an
    offset keeps it. In a condition, compare dates:
    ``event_date(event, "registered_at").date() < dt.date(2026, 4, 1)``. The school's
    events name their date fields (``flowkit.lms.events.DATES``), and ``emit`` refuses
    one that is not a date.
    """
    event = source.event if isinstance(source, Run) else source
    raw = event.get(field)
    if raw in (None, ""):
        raise KeyError(f"event {event.get('event', '')!r} has no {field!r} field")
    return _local(raw, f"event field {field!r}") + dt.timedelta(days=days, hours=hours)


def _local(raw: object, what: str) -> dt.datetime:
    """``raw`` (a date, a date-time, or their ISO text) as a date-time: a date is its
    midnight, naive (read later in the user's timezone)."""
    try:
        parsed = raw if isinstance(raw, dt.date) else pendulum.parse(str(raw), tz=None)
    except (ValueError, pendulum.parsing.exceptions.ParserError) as error:
        raise ValueError(f"{what} is {raw!r}, not a date") from error
    if isinstance(parsed, dt.datetime):
        return parsed  # an explicit offset is kept; a naive one is the user's local time
    if isinstance(parsed, dt.date):
        return dt.datetime(parsed.year, parsed.month, parsed.day)
    raise ValueError(f"{what} is {raw!r}, not a date")

"""Firing timers: waits that end, ``wait_for`` timeouts, and action retries that are due,
earliest first, a batch at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import pendulum

from flowkit.machine import Input, Retry, TimedOut, TimerFired
from flowkit.runtime import isolation, transitions
from flowkit.runtime.batch import Batch, Runtime, in_lane, open_batch
from flowkit.store import RunRow
from flowkit.store.repository import DueTimer

INPUTS: dict[str, Callable[[], Input]] = {
    "wait": TimerFired, "timeout": TimedOut, "retry": Retry,
    # a message the journey rules deferred: its step runs again, same idempotency key
    "deferred": lambda: Retry("resumed")}


def tick(rt: Runtime, now: pendulum.DateTime | None = None,
         max_batches: int | None = None) -> int:
    """Fire the timers due at ``now`` (see ``Engine.tick``). Returns how many fired."""
    fired = batches = 0
    while max_batches is None or batches < max_batches:
        claimed: list[str] = []
        try:
            count = _fire_next(rt, now, claimed)
        except Exception as error:
            if not claimed or not isolation.isolatable(error):
                raise
            isolation.batch_failed("timers", len(claimed), error)
            count = isolation.split(claimed, lambda part: _fire_part(rt, now, part),
                                    lambda run_id: _fire_alone(rt, now, run_id))
        if not count:
            return fired
        fired += count
        batches += 1
    return fired


def _fire_next(rt: Runtime, now: pendulum.DateTime | None, claimed: list[str]) -> int:
    """Fire the next batch of due timers; the claimed runs go in ``claimed``. 0 when
    none is due, or another batch holds the timers' lane (and fires them)."""
    def work(optimistic: bool) -> int:
        claimed.clear()
        return _fire_some(rt, now, claimed, optimistic=optimistic)

    return in_lane(rt, "timers", work, 0)


def _fire_some(rt: Runtime, now: pendulum.DateTime | None, claimed: list[str], *,
               optimistic: bool) -> int:
    with open_batch(rt, now, optimistic=optimistic) as batch:
        due, rows = rt.store.claim_due_timers(batch.conn, batch.now, rt.batch_size,
                                              delete=not optimistic)
        claimed.extend(d.run_id for d in due)
        if optimistic:
            batch.claimed = [d.run_id for d in due]
        fire(batch, due, rows)
    return len(due)


def _fire_part(rt: Runtime, now: pendulum.DateTime | None, run_ids: Sequence[str]) -> int:
    """Fire the timers of ``run_ids`` that are still due, in one transaction."""
    with open_batch(rt, now) as batch:
        due, rows = rt.store.claim_due_timers(batch.conn, batch.now, len(run_ids), run_ids)
        fire(batch, due, rows)
    return len(due)


def _fire_alone(rt: Runtime, now: pendulum.DateTime | None, run_id: str) -> int:
    """Fire one run's timer that failed alone carefully; if even that fails, park the
    run without resuming it."""
    try:
        with open_batch(rt, now) as batch:
            batch.careful = True
            due, rows = rt.store.claim_due_timers(batch.conn, batch.now, 1, [run_id])
            fire(batch, due, rows)
        return 1
    except Exception as error:
        if not isolation.isolatable(error):
            raise
        failed = error
    with open_batch(rt, now) as batch:
        due, rows = rt.store.claim_due_timers(batch.conn, batch.now, 1, [run_id])
        for timer in due:
            row = rows[run_id]
            isolation.park(batch, row, f"firing its {timer.kind} timer (run {run_id} of "
                           f"{row.flow!r} at step {timer.step!r})", failed)
    return 1


def fire(batch: Batch, due: Sequence[DueTimer], rows: dict[str, RunRow]) -> None:
    """Resume each claimed timer's run, unless it ended or moved on since."""
    batch.load_users(r.user_id for r in rows.values())
    batch.waits = batch.rt.store.event_waits(batch.conn, {r.user_id for r in rows.values()})
    batch.read.update((run_id, row.revision) for run_id, row in rows.items())
    batch.reads_done()
    for timer in due:
        row = rows[timer.run_id]
        if row.status != "waiting" or row.step != timer.step:
            continue  # ended, or moved on, since the timer was set
        if batch.rt.hooks:
            # datetime's own subtraction: pendulum's builds an Interval (~10 us)
            lateness = dt.datetime.__sub__(batch.now, timer.due_at).total_seconds()
            for hook in batch.rt.hooks:
                hook.timer_fired(row.flow, timer.kind, lateness)
        with isolation.guarded(batch, row, "firing its {} timer", timer.kind):
            transitions.transition(batch, row, INPUTS[timer.kind]())

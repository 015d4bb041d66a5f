"""Firing timers: waits that end, ``wait_for`` timeouts, and action retries that are due,
earliest first, a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence

import pendulum

from flowkit.machine import Retry, TimedOut, TimerFired
from flowkit.runtime import transitions
from flowkit.runtime.batch import Batch, Runtime, open_batch
from flowkit.store import RunRow
from flowkit.store.repository import DueTimer

INPUTS: dict[str, type[TimerFired] | type[TimedOut] | type[Retry]] = {
    "wait": TimerFired, "timeout": TimedOut, "retry": Retry}


def tick(rt: Runtime, now: pendulum.DateTime | None = None,
         max_batches: int | None = None) -> int:
    """Fire the timers due at ``now`` (see ``Engine.tick``). Returns how many fired."""
    fired = batches = 0
    while max_batches is None or batches < max_batches:
        with open_batch(rt, now) as batch:
            due, rows = rt.store.claim_due_timers(batch.conn, batch.now, rt.batch_size)
            if not due:
                return fired
            fire(batch, due, rows)
        fired += len(due)
        batches += 1
    return fired


def fire(batch: Batch, due: Sequence[DueTimer], rows: dict[str, RunRow]) -> None:
    """Resume each claimed timer's run, unless it ended or moved on since."""
    batch.load_users(r.user_id for r in rows.values())
    batch.waits = batch.rt.store.event_waits(batch.conn, {r.user_id for r in rows.values()})
    for timer in due:
        row = rows[timer.run_id]
        if row.status != "waiting" or row.step != timer.step:
            continue  # ended, or moved on, since the timer was set
        lateness = (batch.now - timer.due_at).total_seconds()
        for hook in batch.rt.hooks:
            hook.timer_fired(row.flow, timer.kind, lateness)
        transitions.transition(batch, row, INPUTS[timer.kind]())

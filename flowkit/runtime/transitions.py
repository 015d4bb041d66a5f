"""Moving runs: starting one, advancing one with an input, ending one, and recording
where each ended up (its row, timer, event wait and history) in the batch's writes."""

from __future__ import annotations

from typing import Any

from flowkit import _json
from flowkit.context import Run, User
from flowkit.dsl.flow import Flow
from flowkit.machine import (
    Completed,
    Exited,
    Failed,
    HistoryEntry,
    Ignored,
    Input,
    Outcome,
    Parked,
    RunState,
    Start,
    Suspended,
)
from flowkit.runtime import history, isolation
from flowkit.runtime.actions import RetryLater, drive
from flowkit.runtime.batch import Batch
from flowkit.store import LIVE, RunRow

STATUS: dict[type, str] = {Suspended: "waiting", Completed: "completed", Exited: "exited",
                           Parked: "parked", Failed: "failed", RetryLater: "waiting"}


def start(batch: Batch, flow: Flow, user_id: str, payload: dict[str, Any], run_id: str,
          *, reenroll: bool = False) -> str | None:
    """Start a run of ``flow`` unless its re-entry rule says no; returns its id."""
    existing = [r for r in batch.runs_by_user[user_id] if r.flow == flow.name]
    reentry = "always" if reenroll else flow.reentry
    if reentry == "never" and existing:
        return None
    if reentry == "after_exit" and any(r.status in LIVE for r in existing):
        return None
    row = RunRow(
        id=run_id, flow=flow.name, version=flow.version, user_id=user_id,
        status="running", step=None, locals={}, visits={}, trigger=payload, reason=None,
        created_at=batch.now, updated_at=batch.now,
    )
    batch.runs_by_user[user_id].append(row)
    with isolation.guarded(batch, row, "starting it", new=True):
        batch.changes.put(row, new=True)
        history.add(batch, row.id, HistoryEntry(batch.now, "started", None,
                                                {"event": payload}))
        for hook in batch.rt.hooks:
            hook.after_start(flow.name, user_id)
        transition(batch, row, Start())
    return row.id


def exit_run(batch: Batch, row: RunRow, reason: str) -> None:
    """End the run as exited: its timer and event wait go with it."""
    row.status, row.reason, row.updated_at = "exited", reason, batch.now
    batch.changes.put(row)
    batch.changes.rest(row.id, None, None)
    batch.waits.pop(row.id, None)
    history.add(batch, row.id, HistoryEntry(batch.now, "exited", row.step, {"reason": reason}))


def transition(batch: Batch, row: RunRow, inp: Input) -> None:
    """Advance the run with ``inp`` to its next rest, and record it."""
    user = batch.users.get(row.user_id) or User(id=row.user_id)
    flow = batch.rt.flows.get(row.flow)
    state = RunState(step=row.step, locals=_json.from_jsonable(row.locals),
                     visits=dict(row.visits))
    run = Run(id=row.id, flow=row.flow, user=user, event=row.trigger, now=batch.now,
              step=row.step, visits=state.visits, platform=batch.platform,
              emitter=batch.emit)
    if flow is None:
        outcome: Outcome | RetryLater = Parked(
            f"flow {row.flow!r} is not loaded by this engine; deploy it and "
            f"`flowkit runs retry {row.id}`, or `flowkit runs end {row.id} --reason ...`")
    else:
        outcome = drive(batch, flow, row, run, state, inp)
    if isinstance(outcome, Ignored):
        return
    record(batch, row, run, state, outcome)


def record(batch: Batch, row: RunRow, run: Run, state: RunState,
           outcome: Outcome | RetryLater) -> None:
    """Write where the run ended up: its row, its timer or event wait, its history."""
    status = STATUS[type(outcome)]
    row.status, row.step, row.updated_at = status, state.step, batch.now
    row.locals = _saveable(state.locals)
    row.visits = dict(state.visits)
    row.reason = getattr(outcome, "reason", None)
    flow = batch.rt.flows.get(row.flow)
    if flow is not None and (state.step is None or state.step in batch.rt.machines[
            flow.name].index):
        row.version = flow.version  # a stranded run keeps the version it came from
    batch.changes.put(row)
    _rest(batch, row, outcome)
    for entry in state.history:
        history.add(batch, row.id, entry)
    if isinstance(outcome, Exited | Parked | Failed) and not any(
            e.kind in ("exited", "parked", "failed") for e in state.history):
        history.add(batch, row.id, HistoryEntry(batch.now, status, state.step,
                                                {"reason": outcome.reason}))
    state.history.clear()
    batch.transitions += 1
    for hook in batch.rt.hooks:
        hook.after_transition(run, status, state.step, outcome)


def _rest(batch: Batch, row: RunRow, outcome: Outcome | RetryLater) -> None:
    """Set the run's timer and event wait (or none) for how it rests now."""
    timer = wait = None
    if isinstance(outcome, RetryLater):
        timer = {"run_id": row.id, "due_at": outcome.at, "step": outcome.step,
                 "kind": outcome.kind}
    if isinstance(outcome, Suspended):
        if outcome.wake_at is not None:
            timer = {"run_id": row.id, "due_at": outcome.wake_at, "step": outcome.step,
                     "kind": "wait" if outcome.event is None else "timeout"}
        if outcome.event is not None:
            wait = {"run_id": row.id, "user_id": row.user_id, "event": outcome.event,
                    "step": outcome.step}
            batch.waits[row.id] = (outcome.event, outcome.step)
        else:
            batch.waits.pop(row.id, None)
    else:
        batch.waits.pop(row.id, None)
    batch.changes.rest(row.id, timer, wait)


def _saveable(values: dict[str, Any]) -> dict[str, Any]:
    """The locals as JSON; one that JSON cannot hold is kept as a note of its type (its
    run is parked, and the note says what was there)."""
    try:
        return _json.to_jsonable(values)  # type: ignore[no-any-return]
    except (TypeError, ValueError):
        out: dict[str, Any] = {}
        for name, value in values.items():
            try:
                out[name] = _json.to_jsonable(value)
            except (TypeError, ValueError):
                out[name] = {"$unsaved": type(value).__name__}
        return out

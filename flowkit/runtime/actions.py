"""Running a run's actions: the machine asks for one, the engine runs it, records it in
the action ledger, and hands the result back, until the run suspends or ends.

A custom action runs inside a savepoint, so one that writes through the platform and
then raises keeps none of its writes. The savepoint is begun at the action's first SQL
statement, so an action that does not touch the database costs nothing (a savepoint
around every action halved the engine's throughput on S1's flow). An action that
raises is retried later at the same step with the same idempotency key (with backoff);
after ``action_attempts`` failures the run is parked. A message (an action with a
channel) first passes the journey rules (``flowkit.rules.gate``), which may defer it to
a durable timer or drop it.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import attrs
import pendulum
import sqlalchemy as sa

from flowkit import _json
from flowkit.context import Run
from flowkit.dsl.flow import Flow
from flowkit.errors import TemplateError
from flowkit.machine import (
    ActionDone,
    Failed,
    HistoryEntry,
    Input,
    NeedsAction,
    Outcome,
    Parked,
    RunState,
)
from flowkit.rules import gate
from flowkit.runtime.batch import Batch, Runtime
from flowkit.store import RunRow

MAX_ACTIONS_PER_TRANSITION = 1_000
_SAVEPOINT = "flowkit.action_savepoint"


@attrs.frozen
class RetryLater:
    """An action failed (or the journey rules deferred it): the run waits at its step
    for another attempt."""

    step: str
    at: pendulum.DateTime
    kind: str = "retry"  # the timer's kind: retry | deferred


def drive(batch: Batch, flow: Flow, row: RunRow, run: Run, state: RunState, inp: Input
          ) -> Outcome | RetryLater:
    """Advance the run with ``inp``, running each action the machine asks for."""
    machine = batch.rt.machines[flow.name]
    outcome = machine.advance(state, inp, run)
    for _ in range(MAX_ACTIONS_PER_TRANSITION):
        if not isinstance(outcome, NeedsAction):
            return outcome
        verdict = gate.admit(batch, flow, row, outcome, run.user.timezone)
        if not isinstance(verdict, gate.Permit):
            ruled = ruled_out(batch, row, state, outcome, verdict)
            if ruled is not None:
                return ruled
            outcome = machine.advance(state, ActionDone(None, skipped=True), run)
            continue
        action_run = attrs.evolve(run, step=outcome.step, visits=dict(state.visits))
        try:
            result = run_action(batch, row, action_run, outcome)
        except Exception as error:
            gate.release(batch, verdict.counted)
            if isinstance(error, sa.exc.StatementError) and _builtin(outcome.call):
                # No savepoint undid it: PostgreSQL's transaction is aborted, so the
                # batch fails (and is taken apart) with this, the real error.
                raise
            return action_failed(batch, row, state, outcome, error)
        row.attempts = 0
        outcome = machine.advance(state, ActionDone(result), run)
    return Failed(f"ran {MAX_ACTIONS_PER_TRANSITION} actions without waiting")


def ruled_out(batch: Batch, row: RunRow, state: RunState, need: NeedsAction,
              verdict: gate.Defer | gate.Drop | Parked) -> Outcome | RetryLater | None:
    """The journey rules held the message back: rest until it may go (deferred), or
    go on without it (dropped, returns ``None``); recorded in history and the rule log."""
    if isinstance(verdict, Parked):
        return verdict
    gate.log(batch, row, need.step, verdict)
    detail: dict[str, Any] = {"action": need.call.action.name, "rule": verdict.rule,
                              "reason": verdict.reason}
    if isinstance(verdict, gate.Drop):
        state.history.append(HistoryEntry(batch.now, "dropped", need.step, detail))
        return None
    detail["until"] = verdict.until.isoformat()
    state.history.append(HistoryEntry(batch.now, "deferred", need.step, detail))
    return RetryLater(need.step, verdict.until, "deferred")


# Failures of reviewed code that the same call will meet again (a template the sandbox
# refuses, a placeholder with no value): parked at once, not retried for minutes.
_NOT_RETRIED = (TemplateError,)


def action_failed(batch: Batch, row: RunRow, state: RunState, need: NeedsAction,
                  error: Exception) -> Outcome | RetryLater:
    """Retry the action later with the same key, with backoff; park the run when it
    has failed ``action_attempts`` times, or at once when no retry can help."""
    row.attempts += 1
    name = need.call.action.name
    cause = f"{type(error).__name__}: {error}"
    detail: dict[str, Any] = {"action": name, "key": need.key, "error": cause,
                              "attempt": row.attempts}
    if isinstance(error, _NOT_RETRIED):
        state.history.append(HistoryEntry(batch.now, "action_failed", need.step, detail))
        return Parked(f"action {name!r} at step {need.step!r} cannot succeed as written: "
                      f"{cause}; fix it, then `flowkit runs retry {row.id}`")
    if row.attempts >= batch.rt.action_attempts:
        state.history.append(HistoryEntry(batch.now, "action_failed", need.step, detail))
        return Parked(f"action {name!r} at step {need.step!r} failed {row.attempts} "
                      f"times, last with {cause}; fix the cause, then "
                      f"`flowkit runs retry {row.id}`")
    delay = batch.rt.action_backoff * 4 ** (row.attempts - 1)
    retry_at = batch.now.add(seconds=delay)
    detail["retry_at"] = retry_at.isoformat()
    state.history.append(HistoryEntry(batch.now, "action_failed", need.step, detail))
    return RetryLater(need.step, retry_at)


def run_action(batch: Batch, row: RunRow, run: Run, need: NeedsAction) -> Any:
    """Run the action ``need`` asks for, between the hooks, and add it to the ledger."""
    call = need.call
    hooks = batch.rt.hooks
    for hook in hooks:
        hook.before_action(run, call, need.key)
    kwargs = dict(call.kwargs)
    if call.action.takes_run:
        kwargs["run"] = run
    error: BaseException | None = None
    result: Any = None
    # A custom action runs in a savepoint: if it raises, none of its writes stay.
    savepoint: list[sa.NestedTransaction] = []
    custom = not _builtin(call)
    if custom:
        batch.info[_SAVEPOINT] = savepoint  # begun at its first statement
    try:
        result = call.action.fn(*call.args, **kwargs)
        if inspect.isawaitable(result):
            result = _await(batch.rt, result)
        if custom:
            batch.info.pop(_SAVEPOINT, None)
            if savepoint:
                savepoint[0].commit()
    except BaseException as raised:
        error = raised
        batch.info.pop(_SAVEPOINT, None)
        if savepoint and savepoint[0].is_active:
            savepoint[0].rollback()
        raise
    finally:
        for hook in hooks:
            hook.after_action(run, call, need.key, result, error)
    batch.changes.actions.append({
        "key": need.key, "run_id": row.id, "flow": row.flow, "user_id": row.user_id,
        "step": need.step, "action": call.action.name, "args": _bound_args(call),
        "result": _json.loggable(result), "at": batch.now,
    })
    return result


def lazy_savepoints(db: sa.Engine) -> None:
    """Have connections of ``db`` begin the savepoint an action asked for
    (``conn.info[_SAVEPOINT]``) just before the action's first statement."""
    sa.event.listen(db, "before_execute", _begin_savepoint)


def _begin_savepoint(conn: sa.Connection, *_: Any) -> None:
    info = conn.info
    wanted = info.pop(_SAVEPOINT, None) if info else None
    if wanted is not None:
        wanted.append(conn.begin_nested())


def _builtin(call: Any) -> bool:
    """Whether the action is one of flowkit's own (which write once, keyed, and so need
    no savepoint)."""
    return str(getattr(call.action.fn, "__module__", "")).startswith("flowkit.")


def _await(rt: Runtime, awaitable: Any) -> Any:
    loop = getattr(rt.local, "loop", None)
    if loop is None:
        loop = rt.local.loop = asyncio.new_event_loop()
    return loop.run_until_complete(awaitable)


def close_loop(rt: Runtime) -> None:
    """Close this thread's event loop for async actions, if it made one."""
    loop = getattr(rt.local, "loop", None)
    if loop is not None:
        loop.close()
        rt.local.loop = None


def _bound_args(call: Any) -> dict[str, Any]:
    return _json.loggable(call.action.arguments(call.args, call.kwargs))  # type: ignore[no-any-return]

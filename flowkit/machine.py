"""Run one instance of a flow from where it rests to its next suspension.

The machine is deterministic and does no I/O of its own: it takes a run's state and one
input (start, timer fired, event arrived, timed out, action done) and returns what
happened. Actions are not run here: the machine returns ``NeedsAction`` and the engine
runs the action and comes back with ``ActionDone``. Author code (the flow's own
statements, conditions and exit predicates) runs here and may do what it likes.
"""

from __future__ import annotations

import sys
import traceback
from types import CodeType
from typing import Any, TypeAlias

import attrs
import pendulum

from flowkit import _json
from flowkit.clock import later
from flowkit.compiler import RESULT
from flowkit.context import Run
from flowkit.dsl.action import ActionCall
from flowkit.dsl.flow import Flow
from flowkit.dsl.primitives import Branch, Command, Split, Wait, WaitFor
from flowkit.ir import End, Exec, Jump, JumpIf, Step

MAX_NODES_PER_ADVANCE = 100_000


# -- inputs -------------------------------------------------------------------


@attrs.frozen
class Start:
    """Begin a new run at the top of the flow."""


@attrs.frozen
class TimerFired:
    """The wait the run rests at is over."""


@attrs.frozen
class EventArrived:
    """An event the run waits for (``wait_for``) has arrived."""

    event: dict[str, Any]


@attrs.frozen
class TimedOut:
    """A ``wait_for`` ran out of time."""


@attrs.frozen
class ActionDone:
    """The action the machine asked for has run and returned ``result`` (or, ``skipped``,
    did not run: the journey rules dropped the message, and said so in the history)."""

    result: Any = None
    skipped: bool = False


@attrs.frozen
class Retry:
    """Run again the step a parked or failed run stopped at (``note`` names it in the
    history: ``retried``, or ``resumed`` after a deferral by the journey rules)."""

    note: str = "retried"


Input: TypeAlias = Start | TimerFired | EventArrived | TimedOut | ActionDone | Retry


# -- outcomes -----------------------------------------------------------------


@attrs.frozen
class Suspended:
    """The run rests at ``step`` until ``wake_at`` and/or until ``event`` arrives."""

    step: str
    wake_at: pendulum.DateTime | None
    event: str | None = None


@attrs.frozen
class NeedsAction:
    """Run ``call`` with idempotency ``key``, then advance with ``ActionDone``."""

    step: str
    call: ActionCall
    key: str


@attrs.frozen
class Completed:
    value: Any = None


@attrs.frozen
class Exited:
    reason: str


@attrs.frozen
class Parked:
    """The run cannot go on without someone's help; ``reason`` says why."""

    reason: str


@attrs.frozen
class Failed:
    reason: str


@attrs.frozen
class Ignored:
    """The input did not concern the run (an event its ``where`` rejects)."""

    reason: str


Outcome: TypeAlias = Suspended | NeedsAction | Completed | Exited | Parked | Failed | Ignored
FINAL = (Completed, Exited, Failed)


@attrs.frozen
class HistoryEntry:
    at: pendulum.DateTime
    kind: str
    step: str | None
    detail: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class RunState:
    """What the store keeps of a run between resumes."""

    step: str | None = None
    locals: dict[str, Any] = attrs.field(factory=dict)
    visits: dict[str, int] = attrs.field(factory=dict)
    history: list[HistoryEntry] = attrs.field(factory=list)
    pending: ActionCall | None = None


class StepGone(LookupError):
    """The run rests at a step this version of the flow no longer has."""


class Machine:
    """Advances runs of one flow."""

    def __init__(self, flow: Flow,
                 reraise: tuple[type[BaseException], ...] = ()) -> None:
        """``reraise``: errors that are not the author's code failing but the engine's
        (its database), raised to the engine instead of failing the run."""
        self.flow = flow
        self.reraise = reraise
        self.program = flow.program
        self.nodes = flow.ir.nodes
        self.index = {n.id: i for i, n in enumerate(self.nodes) if isinstance(n, Step)}
        self.state_exits = flow.state_exits  # checked before every step

    def advance(self, state: RunState, inp: Input, run: Run) -> Outcome:
        saved = set(state.locals)
        if not isinstance(inp, Start):
            lost = _unsaved(state.locals)
            if lost is not None:
                return Parked(self._lost(state, run, *lost))
        ns = self.program.namespace(state.locals, run)
        try:
            outcome = self._advance(state, inp, run, ns)
        except StepGone as gone:
            return Parked(
                f"the run rests at step {gone.args[0]!r}, which version {self.flow.version} "
                f"of {self.flow.name!r} no longer has; move it to a step of this version "
                f"(`flowkit runs migrate --flow {self.flow.name} --from {gone.args[0]} --to "
                f"STEP`), or end it (`flowkit runs end {run.id} --reason ...`)"
            )
        except NameError as error:
            if error.name in self.flow.ir.locals and error.name not in saved \
                    and not isinstance(inp, Start):
                return Parked(self._missing_local(error, run))
            return Failed(self._describe(error))
        except Exception as error:  # author code failed: the run fails, not the engine
            if isinstance(error, self.reraise):
                raise
            return Failed(self._describe(error))
        if not isinstance(outcome, Exited):  # a failed run is retried with its locals
            state.locals = {n: ns[n] for n in self.flow.ir.locals if n in ns}
        if isinstance(outcome, Suspended):
            problem = _unsaveable(state.locals)
            if problem:
                return Parked(f"at step {outcome.step!r}: {problem}; this run cannot go "
                              f"on: `flowkit runs end {run.id} --reason ...`")
        return outcome

    def _lost(self, state: RunState, run: Run, name: str, kind: str) -> str:
        step = self.index.get(state.step or "")
        node = self.nodes[step] if step is not None else None
        doing = "the action about to be retried" if isinstance(node, Step) \
            and node.kind == "action" else "the step"
        return (f"at step {state.step!r}: local variable {name!r} held a {kind}, which "
                f"could not be saved when the run stopped there, so {doing} cannot run; "
                "keep only JSON values (str, int, float, bool, None, list, dict, dates, "
                f"durations and sets) in locals that live across an action or a wait, or `del` "
                f"{name} before it, for the runs to come; this one cannot go on: "
                f"`flowkit runs end {run.id} --reason ...`")

    def _missing_local(self, error: NameError, run: Run) -> str:
        return (f"{self._describe(error)}: the run's saved state has no local variable "
                f"{error.name!r}, which this version of {self.flow.name!r} reads: the run "
                "began under a version that named it otherwise; give the variable its old "
                f"name, or move the run (`flowkit runs migrate`) or end it "
                f"(`flowkit runs end {run.id} --reason ...`)")

    # -- internals ------------------------------------------------------------

    def _at(self, step: str | None) -> int:
        if step is None or step not in self.index:
            raise StepGone(step)
        return self.index[step]

    def _advance(self, state: RunState, inp: Input, run: Run, ns: dict[str, Any]) -> Outcome:
        history = state.history
        if isinstance(inp, Start):
            pc = 0
        elif isinstance(inp, Retry):
            pc = self._at(state.step)
            assert state.step is not None
            # The retried visit keeps its idempotency key.
            state.visits[state.step] = max(state.visits.get(state.step, 1) - 1, 0)
            state.pending = None
            history.append(HistoryEntry(run.now, inp.note, state.step))
        else:
            pc = self._at(state.step)
            node = self.nodes[pc]
            assert isinstance(node, Step)
            result, early = self._resume(node, inp, state, run, ns)
            if early is not None:
                return early
            if node.target:
                ns[RESULT] = result
                exec(_code(self.program.assign[pc]), ns)
            pc += 1

        for _ in range(MAX_NODES_PER_ADVANCE):
            node = self.nodes[pc]
            if isinstance(node, Exec):
                exec(_code(self.program.code[pc]), ns)
                pc += 1
            elif isinstance(node, JumpIf):
                pc = node.then if eval(_code(self.program.code[pc]), ns) else node.orelse
            elif isinstance(node, Jump):
                pc = node.to
            elif isinstance(node, End):
                code = self.program.code[pc]
                value = eval(code, ns) if code is not None else None
                history.append(HistoryEntry(run.now, "completed", None,
                                            {"value": _json.loggable(value)}))
                return Completed(value)
            else:
                exited = self._check_exits(run, node.id)
                if exited is not None:
                    return exited
                outcome = self._step(pc, node, state, run, ns)
                if outcome is not None:
                    return outcome
                pc += 1
        return Failed(
            f"ran {MAX_NODES_PER_ADVANCE} steps without waiting: a loop with no wait in it?"
        )

    def _resume(self, node: Step, inp: Input, state: RunState, run: Run,
                ns: dict[str, Any]) -> tuple[Any, Outcome | None]:
        history = state.history
        if isinstance(inp, ActionDone):
            call = state.pending
            state.pending = None
            if inp.skipped:
                return inp.result, None
            history.append(HistoryEntry(run.now, "action", node.id, {
                "action": call.action.name if call else node.callee,
                "args": _json.loggable(list(call.args)) if call else [],
                "kwargs": _json.loggable(call.kwargs) if call else {},
                "key": run.idempotency_key(node.id),
                "result": _json.loggable(inp.result),
            }))
            return inp.result, None
        if node.kind == "wait" and isinstance(inp, TimerFired):
            history.append(HistoryEntry(run.now, "resumed", node.id, {"by": "timer"}))
            return None, None
        if node.kind == "wait_for" and isinstance(inp, EventArrived):
            command = eval(_code(self.program.code[self.index[node.id]]), ns)
            if isinstance(command, WaitFor) and command.where is not None \
                    and not command.where(inp.event):
                return None, Ignored(f"{inp.event.get('event')} did not match the wait's where=")
            history.append(HistoryEntry(run.now, "resumed", node.id,
                                        {"by": "event", "event": _json.loggable(inp.event)}))
            return dict(inp.event), None
        if node.kind == "wait_for" and isinstance(inp, TimedOut | TimerFired):
            history.append(HistoryEntry(run.now, "resumed", node.id, {"by": "timeout"}))
            return None, None
        return None, Ignored(f"{type(inp).__name__} does not resume a {node.kind} step")

    def _check_exits(self, run: Run, step: str) -> Exited | None:
        for exit_ in self.state_exits:
            if exit_.predicate(run):
                return Exited(f"exit condition {exit_.label!r} held before step {step!r}")
        return None

    def _step(self, pc: int, node: Step, state: RunState, run: Run,
              ns: dict[str, Any]) -> Outcome | None:
        command = eval(_code(self.program.code[pc]), ns)
        if not isinstance(command, Command):
            raise TypeError(
                f"step {node.id!r}: `await {node.callee}(...)` gave {command!r}, which is "
                "not a flowkit primitive or action; decorate it with @action"
            )
        state.visits[node.id] = state.visits.get(node.id, 0) + 1
        state.step = node.id
        history = state.history
        if isinstance(command, Branch | Split):
            value: Any
            if isinstance(command, Branch):
                value = command.value
                detail = {"label": command.label, "value": value}
            else:
                value = command.arm_for(run.user.id)
                detail = {"label": command.label, "arm": value,
                          "weights": dict(command.weights)}
            history.append(HistoryEntry(run.now, "branch" if isinstance(command, Branch)
                                        else "split", node.id, detail))
            if node.target:
                ns[RESULT] = value
                exec(_code(self.program.assign[pc]), ns)
            return None
        if isinstance(command, ActionCall):
            state.pending = command
            # run.idempotency_key(node.id) as of this visit, without a Run made for it
            key = f"{run.id}:{node.id}:{state.visits[node.id]}"
            return NeedsAction(node.id, command, key)
        if isinstance(command, Wait):
            wake_at = _wake_at(command, run)
            if wake_at <= run.now:
                history.append(HistoryEntry(run.now, "wait_skipped", node.id,
                                            {"until": wake_at.isoformat(),
                                             "why": "the moment had already passed"}))
                return None
            history.append(HistoryEntry(run.now, "waiting", node.id,
                                        {"until": wake_at.isoformat()}))
            return Suspended(node.id, wake_at)
        assert isinstance(command, WaitFor)
        deadline = later(run.now, command.timeout) if command.timeout is not None else None
        history.append(HistoryEntry(run.now, "waiting_for", node.id, {
            "event": command.event, "until": deadline.isoformat() if deadline else None}))
        return Suspended(node.id, deadline, command.event)

    def _describe(self, error: BaseException) -> str:
        where = ""
        for frame in reversed(traceback.extract_tb(sys.exc_info()[2])):
            if frame.filename == self.program.file:
                where = f" at {frame.filename}:{frame.lineno}"
                break
        return f"{type(error).__name__}: {error}{where}"


def _code(code: CodeType | None) -> CodeType:
    assert code is not None, "the compiler gives every executable node its code"
    return code


def _wake_at(command: Wait, run: Run) -> pendulum.DateTime:
    if command.delay is not None:
        return later(run.now, command.delay)
    assert command.until is not None
    until = command.until
    if until.tzinfo is None:  # a wall-clock moment in the user's own timezone
        local = pendulum.datetime(until.year, until.month, until.day, until.hour,
                                  until.minute, until.second, until.microsecond,
                                  tz=run.user.timezone)
        return local.in_timezone("UTC")
    return pendulum.instance(until).in_timezone("UTC")


def _unsaved(values: dict[str, Any]) -> tuple[str, str] | None:
    """The first local the store could not save (it keeps a note of its type)."""
    for name, value in values.items():
        if isinstance(value, dict) and len(value) == 1 and "$unsaved" in value:
            return name, str(value["$unsaved"])
    return None


def _unsaveable(values: dict[str, Any]) -> str | None:
    if not values:
        return None
    try:
        _json.dumps(values)
    except (TypeError, ValueError):
        for name, value in values.items():
            try:
                _json.dumps(value)
            except (TypeError, ValueError) as error:
                return (
                    f"local variable {name!r} holds a {type(value).__name__} ({error}), "
                    "which cannot be saved across a wait; keep only JSON values (str, int, "
                    "float, bool, None, list, dict, dates, durations and sets) in locals that "
                    "live across a wait, or `del` it before the wait"
                )
    return None

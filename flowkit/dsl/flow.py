"""Flows and the decorators that declare them: ``@on``, ``@exit_when``, ``@automation``
and ``@track``.

Each decorator accepts an ``async def`` or a ``Flow`` made by another flowkit decorator,
so they stack in any order. The first one compiles the function: a flow that cannot be
resumed fails at import, with file, line and column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal, TypeAlias

import attrs

from flowkit.compiler import Program, compile_function
from flowkit.compiler.conditions import condition_text
from flowkit.errors import CompileError, DefinitionError, NotInFlowError
from flowkit.ir import FlowIR
from flowkit.rules.policy import FlowRules

Reentry = Literal["never", "always", "after_exit"]
REENTRY: tuple[str, ...] = ("never", "always", "after_exit")
_EVENT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

EventPredicate: TypeAlias = Callable[[dict[str, Any]], bool]
RunPredicate: TypeAlias = Callable[[Any], bool]


@attrs.frozen
class Trigger:
    """Start a run when ``event`` arrives and ``where`` (if any) holds for its payload."""

    event: str
    where: EventPredicate | None = attrs.field(default=None, eq=False)


@attrs.frozen
class EventExit:
    """End a run when ``event`` arrives for its user, with ``same`` payload fields equal
    to the trigger event's and ``where`` holding."""

    event: str
    same: tuple[str, ...] = ()
    where: EventPredicate | None = attrs.field(default=None, eq=False)

    def matches(self, trigger_event: dict[str, Any], event: dict[str, Any]) -> bool:
        if any(event.get(field) != trigger_event.get(field) for field in self.same):
            return False
        return self.where is None or bool(self.where(event))

    def describe(self) -> str:
        same = f" with the same {', '.join(self.same)}" if self.same else ""
        return f"{self.event}{same}"


@attrs.frozen
class StateExit:
    """End a run when ``predicate(run)`` holds; checked before every step."""

    predicate: RunPredicate = attrs.field(eq=False)
    label: str = ""


Exit: TypeAlias = EventExit | StateExit


@attrs.frozen(eq=False)
class Flow:
    """A compiled automation or track, with its triggers, exits and options."""

    name: str
    kind: Literal["automation", "track"]
    program: Program = attrs.field(repr=False)
    triggers: tuple[Trigger, ...] = ()
    exits: tuple[Exit, ...] = ()
    reentry: Reentry = "after_exit"
    title: str | None = None
    active: bool = True
    # Flows that must run beside this one (an inactivity trigger's watcher): loading
    # this flow loads them too.
    companions: tuple[Flow, ...] = attrs.field(default=(), repr=False)
    # Quiet hours, caps, priority and goal (``@journey``, ``@goal``): docs/journey-rules.md
    rules: FlowRules = attrs.field(factory=FlowRules, repr=False)

    @property
    def ir(self) -> FlowIR:
        return self.program.ir

    @property
    def version(self) -> str:
        return self.program.ir.version

    @property
    def module(self) -> str:
        return str(getattr(self.program.fn, "__module__", ""))

    @property
    def event_exits(self) -> tuple[EventExit, ...]:
        return tuple(e for e in self.exits if isinstance(e, EventExit))

    @property
    def state_exits(self) -> tuple[StateExit, ...]:
        return tuple(e for e in self.exits if isinstance(e, StateExit))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotInFlowError(
            f"flow {self.name!r} is not called directly: register it with an Engine "
            "or a flowkit.testing.Simulation and emit its trigger event"
        )


@attrs.frozen(eq=False)
class BrokenFlow:
    """A flow that does not compile, kept in its module's place while the module is
    loaded for review (see ``reviewing``), so that the module's other flows load too."""

    name: str
    error: CompileError
    module: str
    # Kept as a flow's are, so that decorators which add companions pass it through.
    companions: tuple[Flow, ...] = attrs.field(default=(), repr=False)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


_REVIEWING: ContextVar[bool] = ContextVar("flowkit_reviewing", default=False)


@contextmanager
def reviewing() -> Iterator[None]:
    """While loading modules for review, a flow that does not compile becomes a
    ``BrokenFlow`` instead of stopping its module's import."""
    token = _REVIEWING.set(True)
    try:
        yield
    finally:
        _REVIEWING.reset(token)


FlowTarget: TypeAlias = "Callable[..., Any] | Flow | BrokenFlow"


def _as_flow(target: Callable[..., Any] | Flow, decorator: str) -> Flow:
    if isinstance(target, Flow):
        return target
    if not callable(target):
        raise DefinitionError(f"@{decorator} decorates an `async def`, not {target!r}")
    name = getattr(target, "__name__", None)
    if not isinstance(name, str):
        raise DefinitionError(f"@{decorator} decorates an `async def`, not {target!r}")
    return Flow(name=name, kind="automation", program=compile_function(target, name))


def _decorated(target: Callable[..., Any] | Flow | BrokenFlow, decorator: str,
               change: Callable[[Flow], Flow]) -> Any:
    """``change`` applied to the flow ``target`` is or compiles to; while reviewing, a
    flow that does not compile stays a ``BrokenFlow`` through every decorator."""
    if isinstance(target, BrokenFlow):
        return target
    try:
        flow = _as_flow(target, decorator)
    except CompileError as error:
        if not _REVIEWING.get():
            raise
        return BrokenFlow(error.flow, error, str(getattr(target, "__module__", "")))
    return _declared(change(flow))


def _declared(flow: Flow) -> Flow:
    """``flow`` with its IR's declaration (and so its version) saying what its
    decorators say."""
    lines = [f"on {t.event}" + (f" where {condition_text(t.where)}" if t.where else "")
             for t in flow.triggers]
    for exit_ in flow.exits:
        if isinstance(exit_, EventExit):
            same = f" same {', '.join(exit_.same)}" if exit_.same else ""
            where = f" where {condition_text(exit_.where)}" if exit_.where else ""
            lines.append(f"exit when {exit_.event}{same}{where}")
        else:
            lines.append(f"exit when {condition_text(exit_.predicate)}")
    lines += [f"kind {flow.kind}", f"reentry {flow.reentry}"]
    lines += flow.rules.declaration(condition_text)  # @journey, @goal
    if flow.kind == "track":
        lines.append(f"active {flow.active}")
        if flow.title and flow.title != flow.name:
            lines.append(f"title {flow.title}")
    ir = attrs.evolve(flow.program.ir, declaration=tuple(sorted(lines)))
    return attrs.evolve(flow, program=attrs.evolve(flow.program, ir=ir))


def _renamed(flow: Flow, name: str) -> Flow:
    program = attrs.evolve(flow.program, ir=attrs.evolve(flow.program.ir, name=name))
    return attrs.evolve(flow, name=name, program=program)


def _event_name(event: object, where: str) -> str:
    if not isinstance(event, str) or not _EVENT_NAME.match(event):
        raise DefinitionError(
            f"{where} needs an event name such as 'user.enrolled', got {event!r}"
        )
    return event


def on(
    event: str, where: EventPredicate | None = None
) -> Callable[[Callable[..., Any] | Flow], Flow]:
    """Start a run of the decorated flow whenever ``event`` arrives.

    ``where`` is a function of the event payload; the run starts only when it returns
    true: ``@on("user.enrolled", where=lambda e: e["course"] == "python-101")``.
    """
    trigger = Trigger(_event_name(event, "@on"), where)
    if where is not None and not callable(where):
        raise DefinitionError("@on(where=...) must be a function of the event payload")

    def decorate(target: Callable[..., Any] | Flow) -> Flow:
        return _decorated(target, "on",  # type: ignore[no-any-return]
                          lambda flow: attrs.evolve(flow, triggers=(trigger, *flow.triggers)))

    return decorate


def exit_when(
    event_or_predicate: str | RunPredicate,
    same: Sequence[str] = (),
    where: EventPredicate | None = None,
) -> Callable[[Callable[..., Any] | Flow], Flow]:
    """End a run early, cancelling it even while it waits.

    With an event name, the run ends when that event arrives for its user:
    ``@exit_when("course.completed", same=["course"])`` ends it only when the completed
    course is the trigger event's course. With a function of the run, the run ends as
    soon as the function returns true; it is checked before every step.
    """
    exit_: Exit
    if isinstance(event_or_predicate, str):
        if isinstance(same, str):
            raise DefinitionError(f"@exit_when(same=...) takes a list, not {same!r}")
        if where is not None and not callable(where):
            raise DefinitionError("@exit_when(where=...) must be a function of the payload")
        exit_ = EventExit(_event_name(event_or_predicate, "@exit_when"), tuple(same), where)
    elif callable(event_or_predicate):
        if same or where is not None:
            raise DefinitionError(
                "@exit_when(predicate) takes no same= or where=: those filter events"
            )
        label = getattr(event_or_predicate, "__name__", "predicate")
        exit_ = StateExit(event_or_predicate, label)
    else:
        raise DefinitionError(
            f"@exit_when takes an event name or a function of the run, got {event_or_predicate!r}"
        )

    def decorate(target: Callable[..., Any] | Flow) -> Flow:
        return _decorated(target, "exit_when",  # type: ignore[no-any-return]
                          lambda flow: attrs.evolve(flow, exits=(exit_, *flow.exits)))

    return decorate


def automation(
    name: str | None = None, *, reentry: Reentry = "after_exit"
) -> Callable[[Callable[..., Any] | Flow], Flow]:
    """Set an automation's options.

    ``name`` defaults to the function's name. ``reentry`` says when the same user may
    start another run: ``"after_exit"`` (default) when their previous run has ended,
    so a user has at most one live run at a time; ``"never"`` only once ever;
    ``"always"`` on every trigger, runs side by side.
    """
    if reentry not in REENTRY:
        raise DefinitionError(f"reentry must be one of {', '.join(REENTRY)}, got {reentry!r}")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise DefinitionError(f"@automation(name=...) must be a non-empty string, got {name!r}")

    def decorate(target: Callable[..., Any] | Flow) -> Flow:
        return _decorated(  # type: ignore[no-any-return]
            target, "automation",
            lambda flow: attrs.evolve(_renamed(flow, name or flow.name), reentry=reentry))

    return decorate


def track(
    slug: str, *, title: str | None = None, active: bool = True
) -> Callable[[Callable[..., Any] | Flow], Flow]:
    """Declare a track: a flow users are added to (by ``add_to_track``), named ``slug``.

    A track starts for a user when a ``track.joined`` event names it (``add_to_track``
    sends one, and so does the app when a user accepts an invitation), once per user
    unless re-enrollment is asked for. ``active=False`` keeps users from being added.
    """
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise DefinitionError(
            f"a track slug is lowercase letters, digits, '-' and '_', got {slug!r}"
        )

    def decorate(target: Callable[..., Any] | Flow) -> Flow:
        # A user starts a track once unless an add_to_track(..., reenroll=True) says
        # otherwise (the "Add User to Track" step's re-enrollment policy).
        return _decorated(target, "track", lambda flow: attrs.evolve(  # type: ignore[no-any-return]
            _renamed(flow, slug), kind="track", title=title or slug, active=active,
            reentry="never"))

    return decorate


def compile_flow(target: Callable[..., Any] | Flow) -> FlowIR:
    """The step machine of a flow (or of a bare ``async def``), for tools and tests."""
    return _as_flow(target, "compile_flow").ir

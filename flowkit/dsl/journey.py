"""``@journey`` and ``@goal``: a flow's own journey rules (see docs/journey-rules.md).

``@journey(quiet_hours=QuietHours("09:00", "18:00", weekdays_only=True), priority="low")``
overrides the project's quiet hours and says what happens to the flow's messages over a
frequency cap; ``@journey(transactional=True)`` exempts them from both.
``@goal("course.completed", same=["course"], within={"days": 30}, ends_run=True)`` says
what the flow is for: every run records whether and when it converted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import attrs

from flowkit.dsl.flow import Flow, _decorated, _event_name
from flowkit.errors import DefinitionError
from flowkit.rules.policy import (
    INHERIT,
    Goal,
    GoalWhere,
    OverCap,
    Priority,
    QuietHours,
    check_choice,
)


def journey(
    *,
    quiet_hours: QuietHours | Literal["project"] | None = INHERIT,
    transactional: bool = False,
    priority: Priority = "normal",
    over_cap: OverCap | None = None,
) -> Callable[[Callable[..., Any] | Flow], Flow]:
    """Set how the journey rules treat this flow's messages.

    ``quiet_hours``: the project's (default), this flow's own ``QuietHours``, or
    ``None`` for none. ``transactional=True``: exempt from quiet hours and caps.
    ``priority``: ``"high"`` (counts towards caps, never held by them), ``"normal"``
    (over a cap: deferred to the next period) or ``"low"`` (over a cap: dropped);
    ``over_cap="defer"`` or ``"drop"`` says it outright.
    """
    if quiet_hours not in (INHERIT, None) and not isinstance(quiet_hours, QuietHours):
        raise DefinitionError(f"@journey(quiet_hours=...) takes QuietHours(...), None or "
                              f"'project', got {quiet_hours!r}")
    check_choice(priority, ("low", "normal", "high"), "@journey(priority=...)")
    if over_cap is not None:
        check_choice(over_cap, ("defer", "drop"), "@journey(over_cap=...)")

    def change(flow: Flow) -> Flow:
        rules = attrs.evolve(flow.rules, quiet_hours=quiet_hours,
                             transactional=bool(transactional), priority=priority,
                             over_cap=over_cap)
        return attrs.evolve(flow, rules=rules)

    def decorate(target: Callable[..., Any] | Flow) -> Flow:
        return _decorated(target, "journey", change)  # type: ignore[no-any-return]

    return decorate


def goal(
    event: str,
    *,
    same: Sequence[str] = (),
    where: GoalWhere | None = None,
    within: dt.timedelta | Mapping[str, float] | None = None,
    ends_run: bool = False,
) -> Callable[[Callable[..., Any] | Flow], Flow]:
    """Declare what the flow is for: ``event`` arriving for the run's user.

    ``same`` payload fields must equal the trigger event's, ``where`` (a function of the
    payload) must hold, and the event must come ``within`` a duration of the run's start
    (a ``timedelta`` or ``{"days": 30}``). Every run records whether and when it
    converted, even after it ended; ``ends_run=True`` ends a live run when it converts.
    """
    _event_name(event, "@goal")
    if isinstance(same, str):
        raise DefinitionError(f"@goal(same=...) takes a list, not {same!r}")
    if where is not None and not callable(where):
        raise DefinitionError("@goal(where=...) must be a function of the event payload")
    if isinstance(within, Mapping):
        within = dt.timedelta(**within)
    if within is not None and within <= dt.timedelta(0):
        raise DefinitionError(f"@goal(within=...) must be a positive duration, got {within}")
    declared = Goal(event, tuple(same), where, within, bool(ends_run))

    def decorate(target: Callable[..., Any] | Flow) -> Flow:
        return _decorated(  # type: ignore[no-any-return]
            target, "goal",
            lambda flow: attrs.evolve(flow, rules=attrs.evolve(flow.rules, goal=declared)))

    return decorate

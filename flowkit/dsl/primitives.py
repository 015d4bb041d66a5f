"""The awaitable primitives of a flow: ``wait``, ``wait_for``, ``branch`` and ``split``.

Calling a primitive does no work: it returns a command value that describes what the
run should do. The compiled flow hands that value to the machine, which suspends the
run, records the decision, or asks the engine to run an action. Awaiting a primitive
anywhere but inside a compiled flow raises ``NotInFlowError``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Generator, Mapping
from typing import Any

import attrs
import pendulum

from flowkit.errors import DefinitionError, NotInFlowError

Predicate = Callable[[dict[str, Any]], bool]


class Command:
    """What an awaited call in a flow asks the machine to do."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, Any]:
        raise NotInFlowError(
            f"{self!r} was awaited outside a flow: flows are compiled and run by an "
            "Engine or flowkit.testing.Simulation, not awaited directly"
        )


@attrs.frozen
class Wait(Command):
    """Suspend the run for ``delay`` or until ``until`` (exactly one is set)."""

    delay: dt.timedelta | None = None
    until: dt.datetime | None = None


@attrs.frozen
class WaitFor(Command):
    """Suspend the run until ``event`` arrives for its user (and ``where`` holds), or the
    timeout passes."""

    event: str
    timeout: dt.timedelta | None = None
    where: Predicate | None = attrs.field(default=None, eq=False)


@attrs.frozen
class Branch(Command):
    """A named yes/no decision, recorded in the run's history."""

    label: str
    value: bool


def _duration(days: float, hours: float, minutes: float, seconds: float) -> dt.timedelta:
    return dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def wait(
    days: float = 0,
    hours: float = 0,
    minutes: float = 0,
    seconds: float = 0,
    *,
    until: dt.datetime | dt.date | str | None = None,
    id: str | None = None,
) -> Wait:
    """Wait durably for a duration, or until a moment.

    ``await wait(days=2)``; ``await wait(until=run.now.add(weeks=1))``. A naive
    ``until`` (or a bare date) is read in the user's timezone. A wait costs a database
    row, never a worker's memory. ``id`` pins the step id (see docs/step-ids.md).
    """
    del id  # read by the compiler, not at run time
    delay = _duration(days, hours, minutes, seconds)
    if until is not None:
        if delay:
            raise DefinitionError("wait() takes a duration or until=, not both")
        return Wait(until=_moment(until))
    if delay < dt.timedelta(0):
        # A computed duration may come out zero (the run goes on at once), never negative;
        # the compiler already rejects a zero or negative duration written as literals.
        raise DefinitionError(f"wait() needs a duration of zero or more, got {delay}")
    return Wait(delay=delay)


def _moment(value: dt.datetime | dt.date | str) -> dt.datetime:
    if isinstance(value, str):
        parsed = pendulum.parse(value, tz=None)
        if not isinstance(parsed, dt.datetime | dt.date):
            raise DefinitionError(f"wait(until={value!r}) is not a date or a date-time")
        value = parsed
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime(value.year, value.month, value.day)


def wait_for(
    event: str,
    timeout: dt.timedelta | Mapping[str, float] | None = None,
    where: Predicate | None = None,
    *,
    id: str | None = None,
) -> WaitFor:
    """Wait for an event of the run's user; returns its payload, or ``None`` on timeout.

    ``timeout`` is a ``timedelta`` or keyword arguments for one
    (``timeout={"days": 3}``); with none the run waits until the event comes.
    ``where`` filters the events that count.
    """
    del id
    if not isinstance(event, str) or not event:
        raise DefinitionError(f"wait_for() needs an event name, got {event!r}")
    if isinstance(timeout, Mapping):
        timeout = dt.timedelta(**timeout)
    if timeout is not None and timeout <= dt.timedelta(0):
        raise DefinitionError(f"wait_for() needs a positive timeout, got {timeout}")
    if where is not None and not callable(where):
        raise DefinitionError("wait_for(where=...) must be a function of the event payload")
    return WaitFor(event=event, timeout=timeout, where=where)


def branch(label: str, condition: object) -> Branch:
    """A named yes/no decision: ``if await branch("completed a unit?", n >= 1): ...``.

    The label is the step's id and names the decision in history and diagrams.
    """
    if not isinstance(label, str) or not label:
        raise DefinitionError(f"branch() needs a label, got {label!r}")
    return Branch(label=label, value=bool(condition))


@attrs.frozen
class Split(Command):
    """A split test: each user goes into one arm, by the arms' weights, for good."""

    label: str
    weights: tuple[tuple[str, int], ...]

    def arm_for(self, user_id: str) -> str:
        """The user's arm: a stable hash of the user and the split's label, so a user
        lands in the same arm on every run, worker and version with these weights."""
        digest = hashlib.sha256(f"{self.label}\x00{user_id}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") % sum(w for _, w in self.weights)
        for arm, weight in self.weights:
            if point < weight:
                return arm
            point -= weight
        raise AssertionError("unreachable: the point falls within the total weight")


def split(label: str, **weights: int) -> Split:
    """A split test: ``arm = await split("subject line", a=50, b=50)`` returns ``"a"``
    or ``"b"``, chosen by a stable hash of the user and the label (a user keeps their
    arm), with chances proportional to the weights. The label is the step's id."""
    if not isinstance(label, str) or not label:
        raise DefinitionError(f"split() needs a label, got {label!r}")
    weights.pop("id", None)
    if len(weights) < 2:
        raise DefinitionError(f"split({label!r}) needs two arms or more, such as a=50, b=50")
    for arm, weight in weights.items():
        if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
            raise DefinitionError(f"split({label!r}): arm {arm!r} needs a whole-number "
                                  f"weight of 0 or more, got {weight!r}")
    if not any(weights.values()):
        raise DefinitionError(f"split({label!r}): every arm has weight 0")
    return Split(label=label, weights=tuple(weights.items()))


PRIMITIVES: dict[object, str] = {wait: "wait", wait_for: "wait_for", branch: "branch",
                                 split: "split"}

"""What a flow and its actions see of a run: ``run.id``, ``run.user``, ``run.event``,
``run.now`` and ``run.idempotency_key()``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import pendulum


@attrs.frozen
class User:
    """The person a run is about."""

    id: str
    name: str | None = None
    email: str | None = None
    manager: str | None = None
    timezone: str = "UTC"
    fields: Mapping[str, Any] = attrs.field(factory=dict)
    platform: Any = attrs.field(default=None, repr=False, eq=False)

    # Questions for branches and exit conditions, answered by the platform as of now.

    def units_completed(self, course: str) -> int:
        """How many units of ``course`` the user has completed."""
        return int(self._platform().units_completed(self.id, course))

    def is_enrolled(self, course: str) -> bool:
        """Whether the user is enrolled in ``course``."""
        return bool(self._platform().is_enrolled(self.id, course))

    def has_tag(self, tag: str) -> bool:
        return bool(self._platform().has_tag(self.id, tag))

    def returned_since(self, moment: Any, course: str | None = None) -> bool:
        """Whether the user visited the school (or ``course``) or signed in after
        ``moment``."""
        last = self._platform().last_visit(self.id, course)
        return last is not None and last > moment

    def _platform(self) -> Any:
        if self.platform is None:
            raise RuntimeError("this user has no platform to ask: questions are answered "
                               "inside a run of an Engine or a Simulation")
        return self.platform


@attrs.frozen
class Run:
    """The run context a flow receives as its parameter.

    ``event`` is the payload of the event that started the run (for a track, of the
    event that added the user); ``now`` is the engine clock's time at this resume.
    """

    id: str
    flow: str
    user: User
    event: Mapping[str, Any]
    now: pendulum.DateTime
    step: str | None = None
    visits: Mapping[str, int] = attrs.field(factory=dict, repr=False)
    platform: Any = attrs.field(default=None, repr=False, eq=False)
    emitter: Any = attrs.field(default=None, repr=False, eq=False)

    def emit(self, event: str, *, key: str, **payload: Any) -> None:
        """Record an event for this run's user, committed with the current step and
        routed after it; ``key`` (its idempotency key) makes a retried step emit it once.
        For actions: ``run.emit("user.enrolled", key=..., course=...)``."""
        self.emit_for(self.user.id, event, key=key, **payload)

    def emit_for(self, user: str, event: str, *, key: str, **payload: Any) -> None:
        """``emit`` for another user (a manager, say)."""
        if self.emitter is None:
            raise RuntimeError("run.emit() is for actions run by an Engine")
        self.emitter(event, user, key, payload)

    def idempotency_key(self, step: str | None = None) -> str:
        """A key that is the same each time this visit of ``step`` (default: the current
        step) is retried, and different for every other run, step and visit."""
        step = step or self.step
        if step is None:
            raise ValueError("idempotency_key() needs a step outside an action")
        return f"{self.id}:{step}:{self.visits.get(step, 1)}"

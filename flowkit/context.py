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

    def idempotency_key(self, step: str | None = None) -> str:
        """A key that is the same each time this visit of ``step`` (default: the current
        step) is retried, and different for every other run, step and visit."""
        step = step or self.step
        if step is None:
            raise ValueError("idempotency_key() needs a step outside an action")
        return f"{self.id}:{step}:{self.visits.get(step, 1)}"

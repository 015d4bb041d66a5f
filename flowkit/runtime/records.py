"""What the engine reports about runs and actions: frozen values for tests and tools."""

from __future__ import annotations

from typing import Any

import attrs
import pendulum


@attrs.frozen
class HistoryRecord:
    at: pendulum.DateTime
    kind: str
    step: str | None
    detail: dict[str, Any]


@attrs.frozen
class RunRecord:
    """A run: where it is, why, and how it got there."""

    id: str
    flow: str
    user: str
    status: str
    step: str | None
    version: str
    reason: str | None
    locals: dict[str, Any]
    event: dict[str, Any]
    created_at: pendulum.DateTime
    updated_at: pendulum.DateTime
    history: tuple[HistoryRecord, ...] = attrs.field(repr=False)
    wakes_at: pendulum.DateTime | None = None
    waits_for: str | None = None

    def kinds(self) -> list[str]:
        """The kinds of the history entries, in order (handy in tests)."""
        return [h.kind for h in self.history]


@attrs.frozen
class ActionRecord:
    """An action that ran: its name, its arguments by parameter name, and for whom."""

    key: str
    name: str
    args: dict[str, Any]
    user: str
    run: str
    flow: str
    step: str
    at: pendulum.DateTime
    result: Any = None


@attrs.frozen
class RejectedEvent:
    """An event routing refused: it started, resumed and ended nothing."""

    key: str
    name: str
    user: str
    at: pendulum.DateTime
    error: str

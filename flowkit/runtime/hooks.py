"""Extension points: subclass ``Hooks``, override what you need, pass it to the Engine.

Every method is a no-op by default, so metrics, logging and tenancy plug in without
editing the engine (as Dramatiq's middleware does for its workers).

The hooks called inside a batch (``after_start``, ``after_transition``, the action
hooks, ``timer_fired``) run before it commits: for a batch that rolls back, or on
SQLite goes stale and runs again (``flowkit.runtime.batch``), they run again for the
same work. ``after_commit`` counts what committed.
"""

from __future__ import annotations

from typing import Any

from flowkit.context import Run
from flowkit.dsl.action import ActionCall


class Hooks:
    def before_action(self, run: Run, call: ActionCall, key: str) -> None:
        """An action is about to run."""

    def after_action(self, run: Run, call: ActionCall, key: str, result: Any,
                     error: BaseException | None) -> None:
        """An action has returned ``result`` or raised ``error``."""

    def after_start(self, flow: str, user: str) -> None:
        """A run of ``flow`` started for ``user`` (not yet committed)."""

    def after_transition(self, run: Run, status: str, step: str | None,
                         outcome: object) -> None:
        """A run reached ``status`` at ``step`` (not yet committed)."""

    def timer_fired(self, flow: str, kind: str, lateness: float) -> None:
        """A timer of ``kind`` (wait, timeout, retry) fired ``lateness`` seconds after it
        was due."""

    def after_commit(self, transitions: int, seconds: float) -> None:
        """A batch of ``transitions`` committed, ``seconds`` after its transaction began."""

    def batch_slot_taken(self, waited: float) -> None:
        """A batch took its slot (``concurrent_batches``) after ``waited`` seconds: 0
        when one was free at once; waits that grow mean the cap is what holds the
        workers back."""

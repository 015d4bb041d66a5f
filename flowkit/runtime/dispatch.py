"""How an engine gets newly recorded events routed: inline, or by Dramatiq workers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from flowkit.runtime.engine import Engine


class Dispatcher(Protocol):
    def events_appended(self, engine: Engine, shards: set[int]) -> None:
        """Events were committed to these shards' logs and wait to be routed."""


class InlineDispatcher:
    """Route at once, in the emitting process (the default, and the Simulation's)."""

    def events_appended(self, engine: Engine, shards: set[int]) -> None:
        if not engine.routing:  # a route() under way picks them up before it returns
            engine.route()

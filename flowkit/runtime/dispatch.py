"""How an engine gets newly recorded events routed: inline, or by Dramatiq workers.

A dispatcher is told which shards got events; it needs nothing of the engine but the
``Router`` below, so this module does not import the engine (the engine imports it).
"""

from __future__ import annotations

from typing import Protocol, TypeVar

E_contra = TypeVar("E_contra", contravariant=True)


class Router(Protocol):
    """What routing inline needs of an engine."""

    @property
    def routing(self) -> bool: ...

    def route(self, shard: int | None = None, *, max_batches: int | None = None) -> int: ...


class Dispatcher(Protocol[E_contra]):
    def events_appended(self, engine: E_contra, shards: set[int]) -> None:
        """Events were committed to these shards' logs and wait to be routed."""


class InlineDispatcher:
    """Route at once, in the emitting process (the default, and the Simulation's)."""

    def events_appended(self, engine: Router, shards: set[int]) -> None:
        if not engine.routing:  # a route() under way picks them up before it returns
            engine.route()

"""The Dramatiq entry point: ``dramatiq worker --processes 2 --threads 4``.

Workers read REDIS_URL and DATABASE_URL and run the flows of automations/ and tracks/;
see docs/operations.md.
"""

from flowkit.runtime.worker import broker, fire_timers, route_events

__all__ = ["broker", "fire_timers", "route_events"]

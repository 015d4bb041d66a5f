"""The HTTP front door (``flowkit serve``): the events API, signed platform webhooks,
health, readiness and metrics, over the same ``Engine.emit_many`` as ``flowkit emit``.

The engine knows nothing of this package; this package only calls the engine.
"""

from flowkit.serve.adapters import Adapter, event
from flowkit.serve.app import create_app
from flowkit.serve.settings import ServeSettings

__all__ = ["Adapter", "ServeSettings", "create_app", "event"]

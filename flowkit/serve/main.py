"""The application ``flowkit serve`` runs, made from the environment (a factory, so
``uvicorn --workers N`` can make one in each process)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from flowkit.runtime import logs, services
from flowkit.runtime.dispatch import Dispatcher
from flowkit.runtime.engine import Engine
from flowkit.serve import access
from flowkit.serve.app import create_app
from flowkit.serve.ingest import DeferredDispatcher, TolerantDispatcher


def dispatcher_from_env() -> tuple[Dispatcher[Engine], Callable[[], Any] | None]:
    """Tell the workers through Redis when there is one (REDIS_URL, or that of a
    ``flowkit run`` here); else leave new events to the workers' scheduler."""
    url = services.redis_url()
    if not url:
        return DeferredDispatcher(), None
    os.environ.setdefault("REDIS_URL", url)
    import redis

    from flowkit.runtime.worker import DramatiqDispatcher

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return TolerantDispatcher(DramatiqDispatcher()), client.ping


def console(database_url: str) -> tuple[list[BaseRoute], list[Callable[[], None]]]:
    """The console (``flowkit.console``) at ``/console``, and what closes it: closed
    without a console password, open on loopback when the front door is in demo mode."""
    import attrs

    from flowkit.console import ConsoleSettings
    from flowkit.console import create_app as console_app
    from flowkit.serve.settings import ServeSettings

    settings = ConsoleSettings.from_env()
    if ServeSettings.from_env().demo:
        settings = attrs.evolve(settings, demo=True)
    app = console_app(database_url, settings)
    opened = getattr(app.state, "console", None)
    return [Mount("/console", app=app)], [opened.close] if opened is not None else []


def app_from_env() -> Starlette:
    access.configure()  # in each server process (``--workers`` spawns them)
    logs.configure()  # flowkit's own warnings as JSON lines, throttled during outages
    dispatcher, ping = dispatcher_from_env()
    # No flows: the server records events and never routes them itself.
    engine = Engine(services.database_url(), flows=[], dispatcher=dispatcher, migrate=False)
    routes, closers = console(engine.db.url.render_as_string(hide_password=False))
    return create_app(engine, redis_ping=ping, close_engine=True, mounts=routes,
                      on_shutdown=closers)

"""The front door as an ASGI application: ``create_app(engine, settings)``.

Routes: ``POST /v1/events``, ``POST /v1/webhooks/{adapter}``, ``GET /healthz``,
``GET /readyz``, ``GET /metrics``; and whatever ``mounts`` adds (the console mounts
itself at ``/console`` this way). The application holds no state of its own beyond
caches, so any number of servers can run behind a load balancer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from flowkit.runtime.engine import Engine
from flowkit.serve import adapters as adapters_
from flowkit.serve.access import AccessLog
from flowkit.serve.events_api import EventsApi
from flowkit.serve.health import Readiness, healthz
from flowkit.serve.ingest import Ingest
from flowkit.serve.keys import KeyRing
from flowkit.serve.metrics import ServeMetrics
from flowkit.serve.problems import Problem, problem_response
from flowkit.serve.settings import ServeSettings
from flowkit.serve.webhooks import Webhooks


def create_app(engine: Engine, settings: ServeSettings | None = None, *,
               mounts: Sequence[BaseRoute] = (),
               redis_ping: Callable[[], Any] | None = None,
               close_engine: bool = False,
               on_shutdown: Sequence[Callable[[], None]] = ()) -> Starlette:
    """The front door over ``engine`` (whose dispatcher decides who routes the events).

    ``mounts``: more routes, e.g. ``Mount("/console", app=console_app)``.
    ``redis_ping``: checked by ``/readyz`` (no Redis check without it).
    ``close_engine``: close the engine when the application shuts down.
    ``on_shutdown``: called then too (a mounted console's ``close``).
    """
    settings = settings or ServeSettings.from_env()
    metrics = ServeMetrics()
    ingest = Ingest(engine)
    events = EventsApi(settings, KeyRing(settings.api_keys, engine.db), ingest, metrics)
    webhooks = Webhooks(settings, adapters_.load(settings.adapters), ingest, metrics)
    readiness = Readiness(engine.db, redis_ping)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        metrics.rejected.labels(exc.reason).inc()
        return problem_response(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http")
        return problem_response(Problem(exc.status_code, slug, str(exc.detail),
                                        f"{request.method} {request.url.path}: {exc.detail}",
                                        headers=exc.headers))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for close in on_shutdown:
            close()
        if close_engine:
            engine.close()

    routes: list[BaseRoute] = [
        Route("/v1/events", events.post, methods=["POST"]),
        Route("/v1/webhooks/{adapter}", webhooks.post, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readiness.endpoint, methods=["GET"]),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        *mounts,
    ]
    app = Starlette(routes=routes, exception_handlers={Problem: refused, HTTPException: http_error},
                    middleware=[Middleware(AccessLog, metrics=metrics)], lifespan=lifespan)
    app.state.metrics = metrics
    return app

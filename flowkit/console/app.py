"""The console's Starlette application: its routes, and the guard every route passes.

``create_app(database_url, settings)`` is what ``flowkit serve`` mounts at ``/console``
(links and the session cookie follow the mount's path). Pages are plain functions run
in Starlette's thread pool, since the database calls block; the guard in front of each
signs people in, keeps the read-only role away from the repairs, and checks the CSRF
token of every POST.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowkit.clock import clock_from_env
from flowkit.console import actions, journey, pages
from flowkit.console.auth import Keys, Session, identify, root_path
from flowkit.console.settings import ConsoleSettings
from flowkit.console.tally import Tally
from flowkit.runtime.engine import Engine

HERE = Path(__file__).parent
Handler = Callable[["Console", Request], Response]
MAX_FORM = 16 * 1024


class Console:
    """What the pages share: the engine (its database and flows), settings, templates."""

    def __init__(self, database_url: str, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.keys = Keys(settings)
        # The workers' clock (scaled in `flowkit run --demo`), so "today" and the
        # tally's settled runs agree with the times they write.
        self.engine = Engine(database_url, settings.flows, clock=clock_from_env())
        self.tally = Tally(self.engine.db, self.engine.clock, settings.counts_seconds)
        self.tally.warm()
        self.templates = Jinja2Templates(directory=HERE / "templates")
        self.templates.env.filters.update(pages.FILTERS)

    def render(self, request: Request, template: str, status_code: int = 200,
               **context: Any) -> Response:
        session: Session | None = getattr(request.state, "session", None)
        context.update(root=root_path(request), session=session,
                       csrf=self.keys.csrf(session) if session else "",
                       poll_seconds=self.settings.poll_seconds)
        return self.templates.TemplateResponse(request, template, context,
                                              status_code=status_code)

    def close(self) -> None:
        self.engine.close()


def _wants_json(request: Request) -> bool:
    return request.url.path.endswith(".json")


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return dict(pairs)


def guard(console: Console, handler: Handler, *, operator: bool = False
          ) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` behind sign-in (and the operator role, and a CSRF token on POST)."""
    async def endpoint(request: Request) -> Response:
        session = identify(request, console.keys)
        if session is None:
            if console.settings.closed:  # demo mode, and not from loopback
                return PlainTextResponse(DEMO_ONLY, 403)
            if _wants_json(request):
                return JSONResponse({"error": "sign in first"}, status_code=401)
            back = urllib.parse.quote(request.url.path + ("?" + request.url.query
                                                          if request.url.query else ""))
            return RedirectResponse(f"{root_path(request)}/signin?next={back}", 303)
        request.state.session = session
        if operator and not session.operator:
            return console.render(request, "error.html", 403,
                                  message="Only an operator may do this; you signed in "
                                          "read-only.")
        if request.method == "POST":
            request.state.form = await _form(request)
            if not session.bearer and not console.keys.csrf_ok(
                    session, request.state.form.get("csrf", "")):
                return console.render(request, "error.html", 403,
                                      message="This form has expired (its CSRF token does "
                                              "not match your session). Go back, reload "
                                              "the page and try again.")
        return await run_in_threadpool(handler, console, request)

    return endpoint


OFF = ("The flowkit console is off: set FLOWKIT_CONSOLE_PASSWORD (operators) or "
       "FLOWKIT_CONSOLE_READONLY_PASSWORD (read-only) to turn it on.\n")
DEMO_ONLY = ("The flowkit console runs in demo mode, without passwords: it answers this "
             "machine (loopback) only. Set FLOWKIT_CONSOLE_PASSWORD to open it further.\n")


SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; "
                                 b"frame-ancestors 'none'; form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """Pages of this origin only: no inline or foreign script, no framing (so no page
    of another site can lay a repair button under a click)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def _off() -> Starlette:
    async def off(request: Request) -> Response:
        return PlainTextResponse(OFF, 403)

    return Starlette(routes=[Route("/{path:path}", off, methods=["GET", "POST"])])


def create_app(database_url: str, settings: ConsoleSettings | None = None) -> Starlette:
    """The console as an ASGI application over the database at ``database_url``.

    ``settings`` default to ``ConsoleSettings.from_env()``. Without a password and not in
    demo mode the application answers every request with 403 and a line saying how to
    turn it on, and opens no database connection.
    """
    settings = settings or ConsoleSettings.from_env()
    if settings.closed and not settings.demo:
        return _off()
    console = Console(database_url, settings)

    def page(path: str, handler: Handler, **options: Any) -> Route:
        return Route(path, guard(console, handler), **options)

    def repair(path: str, handler: Handler) -> Route:
        return Route(path, guard(console, handler, operator=True), methods=["GET", "POST"])

    routes: list[BaseRoute] = [
        Route("/signin", actions.signin_endpoint(console), methods=["GET", "POST"]),
        page("/signout", actions.signout, methods=["POST"]),
        page("/", pages.flows),
        page("/flows/{name}", pages.flow),
        page("/flows/{name}/counts.json", pages.flow_counts),
        page("/flows/{name}/report", journey.report),
        page("/runs/{run_id}", pages.run),
        page("/users", pages.users),
        page("/users/{user_id}", pages.user),
        page("/problems", pages.problems),
        repair("/runs/{run_id}/retry", actions.retry),
        repair("/runs/{run_id}/end", actions.end),
        repair("/migrate", actions.migrate),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        console.close()

    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(SecurityHeaders)])
    app.state.console = console  # serve, mounting it, closes it with app.state.console.close()
    return app

"""Signing in and out, and the repairs: each repair is a GET that asks for confirmation
and a POST (CSRF-checked by the guard) that does it and goes back to where it shows."""

from __future__ import annotations

import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from flowkit.console import operations, queries
from flowkit.console.auth import (
    clear_cookie,
    identify,
    new_session,
    root_path,
    set_cookie,
)
from flowkit.errors import FlowkitError
from flowkit.store import database

if TYPE_CHECKING:
    from flowkit.console.app import Console


def _safe_next(request: Request, target: str) -> str:
    """Where to go after signing in: a path of this console, never another site."""
    root = root_path(request)
    if not target.startswith(root + "/") or target.startswith("//") or "\\" in target:
        return root + "/"
    return target


class Throttle:
    """At most ``attempts`` failed sign-ins per client address in ``seconds``; then the
    address waits (a guessed password costs a minute per few tries)."""

    def __init__(self, attempts: int = 5, seconds: float = 60.0) -> None:
        self.attempts, self.seconds = attempts, seconds
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, client: str) -> deque[float]:
        failures = self.failures[client]
        while failures and failures[0] < time.monotonic() - self.seconds:
            failures.popleft()
        return failures

    def blocked(self, client: str) -> bool:
        return len(self._recent(client)) >= self.attempts

    def failed(self, client: str) -> None:
        if len(self.failures) > 10_000:  # forget everyone rather than grow without end
            self.failures.clear()
        self._recent(client).append(time.monotonic())


def signin_endpoint(console: Console) -> Callable[[Request], Awaitable[Response]]:
    throttle = Throttle()

    async def signin(request: Request) -> Response:
        target = _safe_next(request, request.query_params.get("next", ""))
        client = request.client.host if request.client else ""
        if identify(request, console.keys) is not None and request.method == "GET":
            return RedirectResponse(target, 303)
        if request.method == "GET":
            return console.render(request, "signin.html", next=target, error="")
        if throttle.blocked(client):
            return console.render(request, "signin.html", 429, next=target,
                                  error="Too many wrong passwords: wait a minute.")
        form = dict(urllib.parse.parse_qsl((await request.body())[:16384].decode(
            "utf-8", "replace")))
        name = form.get("name", "").strip()[:80]
        role = console.settings.role_of(form.get("password", ""))
        if role is None or not name:
            if name:
                throttle.failed(client)
            error = "Give your name." if not name else "That password is not right."
            return console.render(request, "signin.html", 401, next=target, error=error,
                                  name=name)
        response = RedirectResponse(target, 303)
        set_cookie(response, request, console.keys, new_session(name, role, console.settings))
        return response

    return signin


def signout(console: Console, request: Request) -> Response:
    response = RedirectResponse(f"{root_path(request)}/signin", 303)
    clear_cookie(response, request)
    return response


def _back(request: Request, path: str, done: str) -> Response:
    return RedirectResponse(f"{root_path(request)}{path}?done={urllib.parse.quote(done)}", 303)


def _refused(console: Console, request: Request, error: FlowkitError) -> Response:
    return console.render(request, "error.html", 409, message=str(error))


def _confirm(console: Console, request: Request, run_id: str, action: str,
             question: str) -> Response:
    with database.reading(console.engine.db) as conn:
        found = queries.run(conn, run_id)
    if found is None:
        return console.render(request, "error.html", 404,
                              message=f"No run has the id {run_id!r}.")
    return console.render(request, "confirm.html", run=found, action=action,
                          question=question)


def retry(console: Console, request: Request) -> Response:
    run_id = request.path_params["run_id"]
    if request.method == "GET":
        return _confirm(console, request, run_id, "retry",
                        "Run this run's step again (with the same idempotency key)?")
    try:
        operations.retry(console.engine, run_id, request.state.session)
    except FlowkitError as error:
        return _refused(console, request, error)
    return _back(request, f"/runs/{run_id}", "retried")


def end(console: Console, request: Request) -> Response:
    run_id = request.path_params["run_id"]
    if request.method == "GET":
        return _confirm(console, request, run_id, "end",
                        "End this run now? Nothing more of it will run.")
    reason = request.state.form.get("reason", "").strip()[:300]
    try:
        operations.end_run(console.engine, run_id, request.state.session, reason)
    except FlowkitError as error:
        return _refused(console, request, error)
    return _back(request, f"/runs/{run_id}", "ended")


def migrate(console: Console, request: Request) -> Response:
    params = request.query_params if request.method == "GET" else request.state.form
    flow, from_step = params.get("flow", ""), params.get("from", "")
    known = console.engine.flows.get(flow)
    if known is None:
        return console.render(request, "error.html", 404,
                              message=f"No flow named {flow!r} is loaded in this console.")
    if request.method == "GET":
        return console.render(request, "migrate.html", flow=known, from_step=from_step,
                              steps=[s.id for s in known.ir.steps])
    try:
        moved = operations.migrate(console.engine, flow, from_step, params.get("to", ""),
                                   request.state.session)
    except FlowkitError as error:
        return _refused(console, request, error)
    return _back(request, "/problems", f"moved {len(moved)} run(s) of {flow}")


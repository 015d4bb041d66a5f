"""Access logs and request latency: one JSON line a request, on the ``flowkit.serve``
logger, with the method, the route, the status, the time taken, the request's size and
its id, and never a header's value or a body (no key, no signature, no payload)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowkit.serve.metrics import ServeMetrics

log = logging.getLogger("flowkit.serve.access")


class AccessLog:
    """Pure ASGI middleware (streams untouched, so body limits still hold)."""

    def __init__(self, app: ASGIApp, metrics: ServeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = _request_id(scope)
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - began
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.latency.labels(route, scope["method"], str(status)).observe(seconds)
            log.info("request", extra={"access": _entry(scope, route, status, seconds,
                                                        request_id)})


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id" and 0 < len(value) <= 64 and value.isascii():
            return str(value.decode())
    return uuid.uuid4().hex


def _entry(scope: Scope, route: str, status: int, seconds: float,
           request_id: str) -> dict[str, Any]:
    client = scope.get("client")
    size = next((v.decode() for n, v in scope.get("headers", ()) if n == b"content-length"),
                None)
    return {"method": scope["method"], "path": scope["path"], "route": route,
            "status": status, "ms": round(seconds * 1000, 2), "bytes_in": size,
            "client": client[0] if client else None, "request_id": request_id}


class AccessFormatter(logging.Formatter):
    """The access entry as one JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        entry = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
                 "level": record.levelname.lower(), "logger": record.name,
                 "msg": record.getMessage(), **getattr(record, "access", {})}
        return json.dumps(entry, default=str)


def configure(level: int = logging.INFO) -> None:
    """Write access logs to stderr as JSON lines (``flowkit serve`` calls this)."""
    import sys

    if any(isinstance(h.formatter, AccessFormatter) for h in log.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(AccessFormatter())
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False

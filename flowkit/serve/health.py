"""``GET /healthz`` (the process answers) and ``GET /readyz`` (it can take events: the
database answers and is at the current schema, and Redis answers when one is used)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from flowkit.store import database as db


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


class Readiness:
    """Checks the services an events request needs; each check says what failed."""

    def __init__(self, engine: sa.Engine, redis_ping: Callable[[], Any] | None) -> None:
        self.engine = engine
        self.redis_ping = redis_ping

    def checks(self) -> dict[str, str]:
        out = {"database": _try(self._database)}
        if out["database"] == "ok":
            out["schema"] = _try(self._schema)
        if self.redis_ping is not None:
            out["redis"] = _try(self.redis_ping)
        return out

    def _database(self) -> None:
        with db.reading(self.engine) as conn:
            conn.execute(sa.text("SELECT 1"))

    def _schema(self) -> str | None:
        current, head = db.current_revision(self.engine), db.head_revision(self.engine)
        if current != head:
            return f"at revision {current}, not {head}: run `flowkit db upgrade`"
        return None

    async def endpoint(self, request: Request) -> JSONResponse:
        checks = await run_in_threadpool(self.checks)
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                            status_code=200 if ready else 503)


def _try(check: Callable[[], Any]) -> str:
    try:
        problem = check()
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    return problem if isinstance(problem, str) else "ok"

"""Refusals as RFC 9457 problem details (``application/problem+json``).

Each refusal has a type, ``urn:flowkit:problem:<slug>``, that says what kind it is; a
refusal of events lists each bad one in ``errors`` by its ``index`` in the batch, the
``field`` at fault, and a JSON ``pointer`` into the request body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs
import orjson
from starlette.responses import Response

from flowkit.errors import ServiceError

MEDIA_TYPE = "application/problem+json"


@attrs.frozen
class FieldError:
    """One thing wrong with one event of a request."""

    detail: str
    index: int | None = None
    field: str | None = None

    def to_json(self, base: str) -> dict[str, Any]:
        out: dict[str, Any] = {"detail": self.detail}
        if self.index is not None:
            out["index"] = self.index
        if self.field is not None:
            out["field"] = self.field
        out["pointer"] = _pointer(base, self.index, self.field)
        return out


def _pointer(base: str, index: int | None, field: str | None) -> str:
    parts = [base] if base else []
    if index is not None:
        parts.append(str(index))
    if field:  # "fields.tags[3]" is /fields/tags/3
        steps = re.sub(r"\[(\d+)\]", r".\1", field).split(".")
        parts.extend(p.replace("~", "~0").replace("/", "~1") for p in steps)
    return "#/" + "/".join(parts) if parts else "#"


_RETRY_AFTER = "2"  # seconds, in a 503 while the database is away


class Problem(Exception):
    """A request refused: raised in a handler, answered by ``problem_response``.

    ``reason`` labels the refusal in the metrics (rejected requests by reason).
    """

    def __init__(self, status: int, slug: str, title: str, detail: str, *,
                 errors: tuple[FieldError, ...] = (), pointer_base: str = "",
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.pointer_base = pointer_base
        self.headers = dict(headers or {})

    @property
    def reason(self) -> str:
        return self.slug.replace("-", "_")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": f"urn:flowkit:problem:{self.slug}",
                                "title": self.title, "status": self.status,
                                "detail": self.detail}
        if self.errors:
            body["errors"] = [e.to_json(self.pointer_base) for e in self.errors]
        return body


def problem_response(problem: Problem) -> Response:
    return Response(orjson.dumps(problem.body()), status_code=problem.status,
                    media_type=MEDIA_TYPE, headers=problem.headers)


def unauthorized(detail: str, scheme: str = "Bearer") -> Problem:
    return Problem(401, "unauthorized", "Not authenticated", detail,
                   headers={"WWW-Authenticate": scheme})


def invalid(detail: str, errors: tuple[FieldError, ...] = (),
            pointer_base: str = "") -> Problem:
    return Problem(400, "invalid-events", "Invalid events", detail, errors=errors,
                   pointer_base=pointer_base)


def unavailable(service: ServiceError) -> Problem:
    """503: the database (or Redis) cannot take the events now. The client is told to
    retry, not why: the diagnosis, with its hosts and ports, is for the server's log."""
    what = "the database" if service.service == "database" else "a service flowkit needs"
    when = ("retry the request" if service.transient else
            "an operator must fix it (the server's log says what); retry later")
    return Problem(503, "unavailable", "Service unavailable",
                   f"{what} is unavailable; {when} with the same idempotency keys (events "
                   "already stored are recognised, not stored twice)",
                   headers={"Retry-After": _RETRY_AFTER} if service.transient else None)

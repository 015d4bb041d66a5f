"""Reading a request's JSON body within its limits, before anything parses it.

The content type is checked first (415), then the declared ``Content-Length`` (413
without reading a byte), then the body is read in chunks and refused the moment it
passes the limit (413: a client that sends no length, or lies, costs at most the
limit in memory). Only then is it parsed (400 when it is not JSON).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from flowkit.serve.problems import Problem


def check_json_type(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise Problem(415, "unsupported-media-type", "Unsupported media type",
                      f"send the body as application/json, not {media or 'no type'}",
                      headers={"Accept-Post": "application/json"})


def _too_large(limit: int) -> Problem:
    return Problem(413, "too-large", "Content too large",
                   f"the body is over the limit of {limit} bytes; send fewer events "
                   "per request")


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refused (413) past ``limit`` bytes, declared or streamed."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _too_large(limit)
        except ValueError:
            raise Problem(400, "malformed", "Malformed request",
                          "the Content-Length header is not a number") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise Problem(400, "malformed", "Malformed JSON",
                      f"the body is not valid JSON: {error}") from None

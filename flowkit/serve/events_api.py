"""``POST /v1/events``: one event or a batch, from a backend holding an API key."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from flowkit.runtime import faults, logs
from flowkit.runtime.engine import Emitted
from flowkit.serve import body, shape
from flowkit.serve.ingest import Ingest
from flowkit.serve.keys import KeyRing
from flowkit.serve.metrics import ServeMetrics
from flowkit.serve.problems import invalid, unauthorized, unavailable
from flowkit.serve.settings import ServeSettings


class EventsApi:
    def __init__(self, settings: ServeSettings, keys: KeyRing, ingest: Ingest,
                 metrics: ServeMetrics) -> None:
        self.settings = settings
        self.keys = keys
        self.ingest = ingest
        self.metrics = metrics
        self._refreshing = asyncio.Lock()

    async def authenticate(self, request: Request) -> None:
        if self.keys.stale():
            async with self._refreshing:  # one refresh at a time, not one a request
                if self.keys.stale():
                    await self._refresh()
        if self.keys.empty and self.settings.demo:
            return  # demo mode on loopback, no key anywhere: open
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("send an API key as `Authorization: Bearer <key>` "
                               "(`flowkit keys add NAME` makes one)")
        if not self.keys.accepts(token.strip()):
            raise unauthorized("this API key is unknown or revoked")

    async def _refresh(self) -> None:
        try:
            await run_in_threadpool(self.keys.refresh)
        except Exception as error:
            if (service := faults.diagnose(error)) is None:
                raise
            logs.fault(f"API keys not read, answered 503: {service}", error,
                       kind=f"serve-keys:{service.service}:{service.kind}")
            raise unavailable(service) from None

    async def post(self, request: Request) -> JSONResponse:
        await self.authenticate(request)
        body.check_json_type(request)
        raw = await body.read_limited(request, self.settings.max_body_bytes)
        items, base = shape.batch_of(body.parse_json(raw), self.settings.max_batch)
        header_key = request.headers.get("idempotency-key")
        if header_key is not None and not 0 < len(header_key) <= shape.MAX_HEADER_KEY:
            raise invalid(f"the Idempotency-Key header holds 1 to {shape.MAX_HEADER_KEY} "
                          "characters")
        events = shape.to_events(items, base, header_key)
        emitted = await self.ingest.emit(events, pointer_base=base, batch=base != "")
        return accepted(self.metrics, "api", emitted)


def accepted(metrics: ServeMetrics, source: str, emitted: list[Emitted],
             **extra: Any) -> JSONResponse:
    """202: every event committed, each with its key and whether it was a duplicate."""
    duplicates = sum(e.duplicate for e in emitted)
    metrics.taken(source, duplicates, len(emitted))
    return JSONResponse({**extra, "accepted": len(emitted) - duplicates,
                         "duplicates": duplicates,
                         "events": [{"index": i, "key": e.key, "duplicate": e.duplicate}
                                    for i, e in enumerate(emitted)]}, status_code=202)

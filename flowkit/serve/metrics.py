"""The front door's Prometheus metrics, served at ``GET /metrics``.

flowkit_http_events_total{source,outcome}: events taken in (source: ``api`` or the
webhook adapter's name; outcome: ``accepted`` or ``duplicate``);
flowkit_http_rejected_total{reason}: requests refused, by reason (unauthorized,
invalid_signature, too_large, batch_too_large, unsupported_media_type, malformed,
invalid_events, unknown_adapter, invalid_payload);
flowkit_http_webhooks_unknown_total{adapter}: webhooks of a type no mapping has;
flowkit_http_request_seconds{route,method,status}: request latency.
Each application has its own registry (several apps in one process do not collide);
with ``--workers N`` each process serves its own figures.
"""

from __future__ import annotations

import prometheus_client as prom
from starlette.requests import Request
from starlette.responses import Response

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServeMetrics:
    def __init__(self) -> None:
        self.registry = prom.CollectorRegistry()
        self.events = prom.Counter("flowkit_http_events", "Events taken in over HTTP.",
                                   ["source", "outcome"], registry=self.registry)
        self.rejected = prom.Counter("flowkit_http_rejected", "Requests refused, by reason.",
                                     ["reason"], registry=self.registry)
        self.unknown = prom.Counter("flowkit_http_webhooks_unknown",
                                    "Webhooks of a type their adapter does not map.",
                                    ["adapter"], registry=self.registry)
        self.latency = prom.Histogram("flowkit_http_request_seconds", "Request latency.",
                                      ["route", "method", "status"], buckets=BUCKETS,
                                      registry=self.registry)

    def taken(self, source: str, duplicates: int, total: int) -> None:
        if total - duplicates:
            self.events.labels(source, "accepted").inc(total - duplicates)
        if duplicates:
            self.events.labels(source, "duplicate").inc(duplicates)

    async def endpoint(self, request: Request) -> Response:
        return Response(prom.generate_latest(self.registry),
                        media_type=prom.CONTENT_TYPE_LATEST)

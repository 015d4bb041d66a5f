"""``POST /v1/webhooks/<adapter>``: a platform's signed webhooks, as flowkit events.

The signature (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
``webhook-signature``, HMAC-SHA256 over the id, the timestamp and the raw body, five
minutes' tolerance) is verified by the ``standardwebhooks`` library against each
configured secret before the body is parsed. The ``webhook-id`` is the idempotency key
of the delivery's events, so a redelivery stores nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from flowkit.errors import ServeConfigError, WebhookPayloadError
from flowkit.runtime.engine import Emitted
from flowkit.serve import body
from flowkit.serve.adapters import UNKNOWN, Adapter
from flowkit.serve.events_api import accepted
from flowkit.serve.ingest import Ingest
from flowkit.serve.metrics import ServeMetrics
from flowkit.serve.problems import Problem, invalid, unauthorized
from flowkit.serve.settings import ServeSettings

MAX_ID = 128  # characters of a webhook-id (it becomes the events' idempotency keys)


def verifiers(secrets: tuple[str, ...]) -> tuple[Webhook, ...]:
    out = []
    for n, secret in enumerate(secrets, 1):
        try:
            out.append(Webhook(secret))
        except Exception:
            raise ServeConfigError(
                f"webhook secret #{n} of FLOWKIT_WEBHOOK_SECRETS is not a Standard "
                "Webhooks secret (whsec_ and base64)") from None
    return tuple(out)


class Webhooks:
    def __init__(self, settings: ServeSettings, adapters: Mapping[str, Adapter],
                 ingest: Ingest, metrics: ServeMetrics) -> None:
        self.settings = settings
        self.verifiers = verifiers(settings.webhook_secrets)
        self.adapters = adapters
        self.ingest = ingest
        self.metrics = metrics

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> None:
        if not self.verifiers:
            if self.settings.demo:
                return  # demo mode on loopback, no secret: unsigned deliveries go in
            raise unauthorized("no webhook secret is configured on this server "
                               "(FLOWKIT_WEBHOOK_SECRETS)", scheme="Signature")
        reason = "missing webhook-id, webhook-timestamp or webhook-signature"
        for verifier in self.verifiers:
            try:
                verifier.verify(raw, dict(headers), json_parse=False)
                return
            except WebhookVerificationError as error:
                reason = str(error)
            except Exception:  # a malformed header or a body that is not UTF-8
                reason = "malformed signature headers or body"
        raise Problem(401, "invalid-signature", "Invalid webhook signature",
                      f"the webhook's signature does not verify: {reason}",
                      headers={"WWW-Authenticate": "Signature"})

    async def post(self, request: Request) -> JSONResponse:
        name = request.path_params["adapter"]
        adapter = self.adapters.get(name)
        if adapter is None:
            raise Problem(404, "unknown-adapter", "Unknown webhook adapter",
                          f"no adapter is named {name!r} (adapters: "
                          f"{', '.join(sorted(self.adapters))})")
        body.check_json_type(request)
        raw = await body.read_limited(request, self.settings.max_body_bytes)
        self.verify(raw, request.headers)
        payload = body.parse_json(raw)
        try:
            kind, events = adapter.events(payload)
        except WebhookPayloadError as error:
            raise Problem(400, "invalid-payload", "Webhook payload not understood",
                          f"{error}; nothing was stored") from None
        delivery = request.headers.get("webhook-id") or uuid.uuid4().hex
        if len(delivery) > MAX_ID:
            raise invalid(f"the webhook-id is over {MAX_ID} characters")
        for index, item in enumerate(events):
            suffix = f":{index}" if len(events) > 1 else ""
            item["idempotency_key"] = f"{name}:{delivery}{suffix}"
        if any(e["event"] == UNKNOWN for e in events):
            self.metrics.unknown.labels(name).inc()
        emitted = await self._emit(events)
        return accepted(self.metrics, name, emitted, type=kind, delivery=delivery)

    async def _emit(self, events: list[dict[str, Any]]) -> list[Emitted]:
        """Emit the delivery's events. An unknown type's record that the validator
        refuses (a payload too deep or too large for an event) is kept without its
        payload: an unknown type is acknowledged, never an error."""
        if not events:
            return []
        try:
            return await self.ingest.emit(events)
        except Problem as refused:
            if refused.status != 400 or len(events) != 1 or events[0]["event"] != UNKNOWN:
                raise  # a 503 (the database away) is answered as such, the payload kept
            record = {k: v for k, v in events[0].items() if k != "payload"}
            return await self.ingest.emit([{**record, "payload_refused": refused.detail}])

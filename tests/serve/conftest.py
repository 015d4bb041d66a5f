"""An application over a real database (SQLite, then PostgreSQL), driven through
Starlette's test client, and Standard Webhooks signing as a platform would do it."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what we have
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from flowkit import Engine
from flowkit.serve import ServeSettings, create_app
from flowkit.serve.ingest import DeferredDispatcher
from flowkit.store import schema as t
from tests.conftest import wait_until
from tests.integration.conftest import (  # noqa: F401  (real processes' fixtures)
    pg_url,
    processes,
)
from tests.serve import flows

FIXTURES = Path(__file__).with_name("fixtures")
KEY = "fk_test_key_one"
OTHER_KEY = "fk_test_key_two"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_c2VjcmV0LW9mLWxhc3QteWVhcg=="


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine that records events and leaves their routing to the workers."""
    with Engine(database_url, [], dispatcher=DeferredDispatcher()) as engine:
        yield engine


Client = Callable[..., TestClient]


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    """``client(**settings)``: a test client of an app with these settings (default:
    the API key KEY and the webhook secret SECRET)."""
    made: list[TestClient] = []

    def make(engine_: Engine = engine, **options: Any) -> TestClient:
        options.setdefault("api_keys", (KEY,))
        options.setdefault("webhook_secrets", (SECRET,))
        test_client = TestClient(create_app(engine_, ServeSettings(**options)))
        made.append(test_client)
        return test_client

    yield make
    for test_client in made:
        test_client.close()


@pytest.fixture
def routing_engine(database_url: str) -> Iterator[Engine]:
    """An engine that routes in process, with the welcome flow."""
    with Engine(database_url, [flows.welcome_then_course]) as engine:
        yield engine


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def signed(body: bytes | str, msg_id: str = "msg_1", secret: str = SECRET,
           at: dt.datetime | None = None) -> dict[str, str]:
    """The headers a platform sends with ``body``."""
    text = body.decode() if isinstance(body, bytes) else body
    at = at or dt.datetime.now(dt.UTC)
    return {"content-type": "application/json", "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, at, text)}


def fixture(name: str) -> str:
    return (FIXTURES / "learnworlds" / f"{name}.json").read_text()


def stored(engine: Engine) -> list[dict[str, Any]]:
    """The events the database holds, oldest first."""
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(t.events).order_by(t.events.c.seq))
        return [{"key": r.key, **r.payload} for r in rows]


def dumps(value: Any) -> str:
    return json.dumps(value)


def wait_ready(url: str, timeout: float = 30) -> None:
    """Wait (``timeout`` seconds at most) until the ``flowkit serve`` at ``url`` says it
    is ready."""
    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(ready, timeout, "flowkit serve to be ready")

"""A shop's database seen through the console: alice and carol wait in checkout, bob's
card was declined (his run is parked), dave cancelled (exited), erin finished the
starter track's first message and waits."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest
from starlette.testclient import TestClient

from flowkit.console import ConsoleSettings, create_app
from flowkit.runtime.engine import Engine
from tests.console import flows

OPERATOR_PASSWORD = "operator-secret"
READONLY_PASSWORD = "reader-secret"


@attrs.frozen
class Shop:
    url: str
    engine: Engine

    def run_of(self, user: str, flow: str = "checkout") -> str:
        (run,) = [r for r in self.engine.runs(user=user) if r.flow == flow]
        return run.id

    def status(self, run_id: str) -> tuple[str, str | None]:
        (run,) = [r for r in self.engine.runs() if r.id == run_id]
        return run.status, run.step


def seed(url: str) -> Shop:
    engine = Engine(url, [flows], action_attempts=1)
    engine.add_user("alice", name="Alice Liddell", email="Alice@School.test")
    engine.add_user("bob", email="bob@school.test", fields={"card_declined": True})
    engine.add_user("carol", email="carol@school.test")
    engine.add_user("dave", email="dave@school.test")
    engine.add_user("erin", email="erin@school.test")
    engine.emit("order.placed", user="alice", amount=250, idempotency_key="order-alice")
    engine.emit("order.placed", user="bob", amount=40, idempotency_key="order-bob")
    engine.emit("order.placed", user="carol", amount=60, idempotency_key="order-carol")
    engine.emit("order.placed", user="dave", amount=80, idempotency_key="order-dave")
    engine.emit("order.cancelled", user="dave", idempotency_key="cancel-dave")
    engine.emit("track.joined", user="erin", track="starter", idempotency_key="join-erin")
    return Shop(url, engine)


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    shop = seed(database_url)
    yield shop
    shop.engine.close()


def settings(**overrides: object) -> ConsoleSettings:
    values: dict[str, object] = {"operator_password": OPERATOR_PASSWORD,
                                 "readonly_password": READONLY_PASSWORD, "flows": [flows]}
    values.update(overrides)
    return ConsoleSettings(**values)  # type: ignore[arg-type]


def sign_in(client: TestClient, password: str = OPERATOR_PASSWORD, name: str = "ann") -> None:
    response = client.post("/signin", data={"name": name, "password": password},
                           follow_redirects=False)
    assert response.status_code == 303, response.text


@pytest.fixture
def console(shop: Shop) -> Iterator[TestClient]:
    """A client of the console over the shop, signed in as the operator ann."""
    with TestClient(create_app(shop.url, settings())) as client:
        sign_in(client)
        yield client


@pytest.fixture
def reader(shop: Shop) -> Iterator[TestClient]:
    """A client signed in read-only, as rita."""
    with TestClient(create_app(shop.url, settings())) as client:
        sign_in(client, READONLY_PASSWORD, name="rita")
        yield client

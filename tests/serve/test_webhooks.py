"""POST /v1/webhooks/learnworlds: signed deliveries become the school's events once;
anything unsigned, stale, forged, oversized or unreadable stores nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa

from flowkit import Engine
from flowkit.errors import EventError
from tests.serve.conftest import OLD_SECRET, SECRET, Client, fixture, signed, stored

USER = "5f8a1c2e9b3d4e0012ab34cd"
URL = "/v1/webhooks/learnworlds"

EXPECTED: dict[str, list[dict[str, Any]]] = {
    "user_registered": [{"event": "user.signed_up", "email": "ada@example.com",
                         "username": "ada", "source": "learnworlds",
                         "registered_at": "2025-11-29T10:40:00.500000+00:00"}],
    "user_updated": [{"event": "user.updated", "email": "ada@example.com",
                      "username": "ada"}],
    "free_course_enrollment": [{"event": "user.enrolled", "course": "python-101",
                                "source": "free"}],
    "products_bought": [
        {"event": "product.bought", "product": "data-science", "kind": "course",
         "price": 49.0, "currency": "EUR"},
        {"event": "user.enrolled", "course": "data-science", "source": "purchase"},
        {"event": "product.bought", "product": "pro-monthly", "kind": "subscription",
         "price": 19.0, "currency": "EUR"}],
    "course_completed": [{"event": "course.completed", "course": "python-101", "grade": 92}],
    "certificate_awarded": [{"event": "certificate.awarded",
                             "certificate": "cert-python-101-ada", "course": "python-101",
                             "expires_at": "2027-11-29"}],
    "tags_added": [{"event": "tag.added", "tag": "vip"}, {"event": "tag.added",
                                                          "tag": "cohort-12"}],
    "tags_removed": [{"event": "tag.removed", "tag": "newsletter"}],
    "payment_created": [{"event": "payment.created", "payment": "pay_82", "amount": 49.0,
                         "currency": "EUR", "product": "data-science"}],
    "user_unenrolled": [{"event": "user.unenrolled", "product": "python-101",
                         "kind": "course", "course": "python-101"}],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_learnworlds_webhook_becomes_the_school_s_events(
        name: str, client: Client, engine: Engine) -> None:
    body = fixture(name)
    response = client().post(URL, content=body, headers=signed(body, "msg_" + name))
    assert response.status_code == 202, response.text
    assert response.json()["type"] == json.loads(body)["type"]
    events = stored(engine)
    assert [{k: v for k, v in e.items() if k not in ("key", "user")} for e in events] \
        == EXPECTED[name]
    assert {e["user"] for e in events} == {USER}
    keys = [e["key"] for e in events]
    assert keys == ([f"learnworlds:msg_{name}"] if len(keys) == 1 else
                    [f"learnworlds:msg_{name}:{i}" for i in range(len(keys))])


def test_an_unknown_webhook_type_is_acknowledged_and_recorded(
        client: Client, engine: Engine) -> None:
    body = fixture("lead_captured")
    response = client().post(URL, content=body, headers=signed(body, "msg_lead"))
    assert response.status_code == 202
    assert response.json()["type"] == "leadCaptured"
    [event] = stored(engine)
    assert event["event"] == "webhook.unknown"
    assert (event["adapter"], event["type"], event["user"]) == ("learnworlds", "leadCaptured",
                                                                 USER)
    assert event["payload"] == json.loads(body)


def test_a_replayed_delivery_is_acknowledged_and_stored_once(
        client: Client, engine: Engine) -> None:
    hooks = client()
    body = fixture("tags_added")
    headers = signed(body, "msg_replayed")
    first = hooks.post(URL, content=body, headers=headers)
    again = hooks.post(URL, content=body, headers=headers)
    assert first.json()["duplicates"] == 0
    assert again.status_code == 202
    assert again.json()["duplicates"] == 2 and again.json()["accepted"] == 0
    assert len(stored(engine)) == 2


def test_a_delivery_signed_with_either_of_two_secrets_is_taken(
        client: Client, engine: Engine) -> None:
    hooks = client(webhook_secrets=(SECRET, OLD_SECRET))
    body = fixture("course_completed")
    for n, secret in enumerate((OLD_SECRET, SECRET)):
        response = hooks.post(URL, content=body, headers=signed(body, f"m{n}", secret))
        assert response.status_code == 202
    assert len(stored(engine)) == 2


def _forged(body: str) -> dict[str, str]:
    return signed(body, secret="whsec_" + "Zm9yZ2VkLXNlY3JldA==")


def _stale(body: str) -> dict[str, str]:
    return signed(body, at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6))


def _unsigned(body: str) -> dict[str, str]:
    return {"content-type": "application/json", "webhook-id": "msg_1"}


def _tampered(body: str) -> dict[str, str]:
    return signed(body.replace("python-101", "python-999"))


def _garbled(body: str) -> dict[str, str]:
    return {**signed(body), "webhook-signature": "v1"}


@pytest.mark.parametrize("headers", [_forged, _stale, _unsigned, _tampered, _garbled])
def test_a_delivery_that_does_not_verify_is_refused_401_with_nothing_stored(
        headers: Any, client: Client, engine: Engine) -> None:
    body = fixture("course_completed")
    response = client().post(URL, content=body, headers=headers(body))
    assert response.status_code == 401
    assert response.json()["type"] == "urn:flowkit:problem:invalid-signature"
    assert stored(engine) == []


def test_webhooks_are_closed_without_a_secret_unless_in_demo_mode(
        client: Client, engine: Engine) -> None:
    body = fixture("course_completed")
    closed = client(webhook_secrets=())
    assert closed.post(URL, content=body, headers=signed(body)).status_code == 401
    demo = client(webhook_secrets=(), demo=True)
    response = demo.post(URL, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 202
    assert len(stored(engine)) == 1


def test_a_signed_body_that_is_not_json_is_refused_400(client: Client, engine: Engine) -> None:
    body = '{"type": "courseCompleted", '
    response = client().post(URL, content=body, headers=signed(body))
    assert response.status_code == 400
    assert response.json()["type"] == "urn:flowkit:problem:malformed"
    assert stored(engine) == []


def test_a_payload_the_adapter_cannot_read_is_refused_400(
        client: Client, engine: Engine) -> None:
    body = json.dumps({"type": "courseCompleted", "data": {"user": {"id": "u1"}}})
    response = client().post(URL, content=body, headers=signed(body))
    assert response.status_code == 400
    assert "has no 'course'" in response.json()["detail"]
    assert stored(engine) == []


def test_an_oversized_delivery_is_refused_413_before_it_is_verified(
        client: Client, engine: Engine) -> None:
    body = fixture("products_bought")
    response = client(max_body_bytes=100).post(URL, content=body, headers=signed(body))
    assert response.status_code == 413
    assert stored(engine) == []


def test_an_unknown_adapter_is_404(client: Client) -> None:
    body = fixture("course_completed")
    response = client().post("/v1/webhooks/moodle", content=body, headers=signed(body))
    assert response.status_code == 404
    assert "learnworlds" in response.json()["detail"]


def test_a_signed_webhook_starts_a_run_and_the_next_one_advances_it(
        client: Client, routing_engine: Engine) -> None:
    hooks = client(routing_engine)
    for name in ("user_registered", "free_course_enrollment"):
        body = fixture(name)
        assert hooks.post(URL, content=body, headers=signed(body, name)).status_code == 202
    [run] = routing_engine.runs(user=USER)
    assert run.status == "completed"
    assert [a.name for a in routing_engine.actions(user=USER)] == ["greet", "greet"]


def test_an_unknown_type_whose_payload_the_engine_refuses_is_recorded_without_it(
        client: Client, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # given an engine whose validator refuses the payload of the record
    emit_many = engine.emit_many

    def strict(events: Any) -> Any:
        if any("payload" in e for e in events):
            raise EventError("'payload' is nested too deeply")
        return emit_many(events)

    monkeypatch.setattr(engine, "emit_many", strict)
    body = fixture("lead_captured")
    response = client().post(URL, content=body, headers=signed(body, "msg_deep"))
    assert response.status_code == 202
    [event] = stored(engine)
    assert (event["event"], event["type"]) == ("webhook.unknown", "leadCaptured")
    assert "nested too deeply" in event["payload_refused"]


def test_an_unknown_type_met_by_an_outage_is_503_and_kept_whole_when_sent_again(
        client: Client, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a database that is away for the first delivery
    emit_many = engine.emit_many
    calls = []

    def away_once(events: Any) -> Any:
        calls.append(events)
        if len(calls) == 1:
            raise sa.exc.OperationalError("INSERT", {}, ConnectionRefusedError(
                "connection to server at 127.0.0.1, port 5432 failed: Connection refused"))
        return emit_many(events)

    monkeypatch.setattr(engine, "emit_many", away_once)
    body = fixture("lead_captured")
    api = client()
    first = api.post(URL, content=body, headers=signed(body, "msg_away"))
    assert first.status_code == 503  # not stored without its payload and acknowledged
    assert stored(engine) == []
    again = api.post(URL, content=body, headers=signed(body, "msg_away"))
    assert again.status_code == 202
    [event] = stored(engine)
    assert event["payload"] == json.loads(body) and "payload_refused" not in event

"""/healthz, /readyz and /metrics, and access logs that keep secrets and bodies out."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from flowkit import Engine
from flowkit.serve import ServeSettings, create_app
from flowkit.serve.health import Readiness
from flowkit.store import database
from tests.serve.conftest import KEY, Client, TestClient, auth, fixture, signed

ENROLLED = {"event": "user.enrolled", "user": "u1", "fields": {"course": "python-101"}}


def test_healthz_answers_while_the_process_is_up(client: Client) -> None:
    response = client().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_checks_the_database_its_schema_and_redis(engine: Engine) -> None:
    with TestClient(create_app(engine, ServeSettings(api_keys=(KEY,)),
                               redis_ping=lambda: True)) as ready:
        response = ready.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {
        "database": "ok", "schema": "ok", "redis": "ok"}}


def test_readyz_is_503_saying_what_is_down(engine: Engine) -> None:
    def refused() -> None:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:1")

    with TestClient(create_app(engine, ServeSettings(api_keys=(KEY,)),
                               redis_ping=refused)) as app:
        response = app.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("ConnectionError: Error 111")
    gone = Readiness(sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"), None)
    assert gone.checks()["database"].startswith("OperationalError")


def test_readyz_is_503_when_the_schema_is_behind(engine: Engine) -> None:
    head = database.head_revision(engine.db)
    with engine.db.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0002'"))
    try:
        checks = Readiness(engine.db, None).checks()
    finally:
        with engine.db.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :head"),
                         {"head": head})
    assert checks["schema"] == f"at revision 0002, not {head}: run `flowkit db upgrade`"


def test_metrics_count_accepted_duplicate_and_rejected_events_and_time_requests(
        client: Client) -> None:
    api = client()
    for _ in range(2):
        api.post("/v1/events", json={**ENROLLED, "idempotency_key": "k1"}, headers=auth())
    api.post("/v1/events", json=ENROLLED)
    body = fixture("tags_added")
    api.post("/v1/webhooks/learnworlds", content=body, headers=signed(body))
    text = api.get("/metrics").text
    assert 'flowkit_http_events_total{outcome="accepted",source="api"} 1.0' in text
    assert 'flowkit_http_events_total{outcome="duplicate",source="api"} 1.0' in text
    assert 'flowkit_http_events_total{outcome="accepted",source="learnworlds"} 2.0' in text
    assert 'flowkit_http_rejected_total{reason="unauthorized"} 1.0' in text
    assert ('flowkit_http_request_seconds_count{method="POST",route="/v1/events",'
            'status="202"} 2.0') in text


def test_access_logs_name_the_request_but_hold_no_key_signature_or_body(
        client: Client, caplog: pytest.LogCaptureFixture) -> None:
    api = client()
    body = fixture("user_registered")
    headers = signed(body)
    with caplog.at_level(logging.INFO, logger="flowkit.serve.access"):
        api.post("/v1/events", json=ENROLLED, headers=auth())
        api.post("/v1/webhooks/learnworlds", content=body, headers=headers)
    entries = [r.access for r in caplog.records if hasattr(r, "access")]  # type: ignore[attr-defined]
    assert [(e["route"], e["status"]) for e in entries] == [
        ("/v1/events", 202), ("/v1/webhooks/{adapter}", 202)]
    logged = caplog.text + str(entries)
    for secret in (KEY, headers["webhook-signature"], "python-101", "ada@example.com"):
        assert secret not in logged


def test_another_application_mounts_beside_the_routes(engine: Engine) -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    async def home(request: object) -> PlainTextResponse:
        return PlainTextResponse("console")

    console = Starlette(routes=[Route("/", home)])
    app = create_app(engine, ServeSettings(api_keys=(KEY,)),
                     mounts=[Mount("/console", app=console)])
    with TestClient(app) as client:
        assert client.get("/console/").text == "console"
        assert client.get("/healthz").status_code == 200


def test_unknown_paths_and_methods_are_answered_as_problems(client: Client) -> None:
    app = client()
    missing = app.get("/v2/events")
    assert (missing.status_code, missing.json()["type"]) == (404, "urn:flowkit:problem:not-found")
    wrong = app.get("/v1/events")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.headers["allow"] == "POST"


def test_events_are_answered_503_with_retry_after_while_the_database_is_away(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both reads of a request (its key, its events' commit) meet the outage: each is
    a 503 problem saying to retry, with no host or port of the database in it."""
    from flowkit.serve.keys import KeyRing

    gone = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(engine, ServeSettings(api_keys=(KEY,)))) as api:
        assert api.post("/v1/events", json=ENROLLED, headers=auth()).status_code == 202
        monkeypatch.setattr(engine, "db", gone)
        answers = [api.post("/v1/events", json={**ENROLLED, "idempotency_key": "k1"},
                            headers=auth())]  # the commit meets it
        monkeypatch.setattr(KeyRing, "stale", lambda self: True)
        monkeypatch.setattr(KeyRing, "refresh", lambda self: gone.connect().close())
        answers.append(api.post("/v1/events", json={**ENROLLED, "idempotency_key": "k2"},
                                headers=auth()))  # the keys' refresh meets it
    gone.dispose()
    for response in answers:
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "2"
        assert response.json()["detail"].startswith("the database is unavailable; retry")
        assert not any(secret in response.text for secret in ("127.0.0.1", "nobody", ":1/"))


def test_a_crowd_meeting_stale_keys_in_an_outage_refreshes_them_one_at_a_time(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request finds the keys stale while the database is away; they take turns
    to try it (a hung database would otherwise hold a pooled connection a request)."""
    import asyncio
    import threading
    import time

    import httpx

    from flowkit.serve.keys import KeyRing

    gone = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    trying = []
    most = []
    lock = threading.Lock()

    def refresh(self: KeyRing) -> None:
        with lock:
            trying.append(1)
            most.append(len(trying))
        try:
            time.sleep(0.02)  # long enough for the other requests to arrive
            gone.connect().close()
        finally:
            with lock:
                trying.pop()

    monkeypatch.setattr(KeyRing, "stale", lambda self: True)
    monkeypatch.setattr(KeyRing, "refresh", refresh)
    app = create_app(engine, ServeSettings(api_keys=(KEY,)))

    async def crowd() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(*(http.post("/v1/events", json=ENROLLED,
                                                    headers=auth()) for _ in range(5)))

    answers = asyncio.run(crowd())
    gone.dispose()
    assert [r.status_code for r in answers] == [503] * 5
    assert len(most) == 5 and max(most) == 1

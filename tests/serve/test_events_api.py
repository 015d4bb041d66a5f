"""POST /v1/events: stored before 202, refused whole with problem details, never twice."""

from __future__ import annotations

from collections.abc import Iterator

from flowkit import Engine
from flowkit.serve.keys import add_key, revoke_key
from tests.serve.conftest import KEY, OTHER_KEY, Client, auth, stored

ENROLLED = {"event": "user.enrolled", "user": "u1", "fields": {"course": "python-101"}}


def test_a_single_event_is_stored_before_the_202_names_its_key(
        client: Client, engine: Engine) -> None:
    response = client().post("/v1/events", json=ENROLLED, headers=auth())
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 1 and body["duplicates"] == 0
    [event] = stored(engine)
    assert body["events"] == [{"index": 0, "key": event["key"], "duplicate": False}]
    assert event == {"key": event["key"], "event": "user.enrolled", "user": "u1",
                     "course": "python-101"}


def test_a_batch_answers_each_event_with_its_key_and_duplicate_flag(
        client: Client, engine: Engine) -> None:
    api = client()
    api.post("/v1/events", json={**ENROLLED, "idempotency_key": "enr-1"}, headers=auth())
    batch = {"events": [{**ENROLLED, "idempotency_key": "enr-1"},
                        {"event": "user.signed_up", "user": 7, "idempotency_key": "su-7"}]}
    response = api.post("/v1/events", json=batch, headers=auth())
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "duplicates": 1, "events": [
        {"index": 0, "key": "enr-1", "duplicate": True},
        {"index": 1, "key": "su-7", "duplicate": False}]}
    assert [(e["key"], e["user"]) for e in stored(engine)] == [("enr-1", "u1"), ("su-7", "7")]


def test_a_retried_request_with_the_same_idempotency_key_stores_nothing_twice(
        client: Client, engine: Engine) -> None:
    api = client()
    batch = {"events": [ENROLLED, {**ENROLLED, "user": "u2"}]}
    first = api.post("/v1/events", json=batch, headers={**auth(), "Idempotency-Key": "req-9"})
    again = api.post("/v1/events", json=batch, headers={**auth(), "Idempotency-Key": "req-9"})
    assert [e["key"] for e in first.json()["events"]] == ["req-9:0", "req-9:1"]
    assert again.status_code == 202
    assert [e["duplicate"] for e in again.json()["events"]] == [True, True]
    assert len(stored(engine)) == 2


def test_a_key_given_twice_in_one_batch_is_stored_once(client: Client, engine: Engine) -> None:
    batch = {"events": [{**ENROLLED, "idempotency_key": "k"}] * 2}
    response = client().post("/v1/events", json=batch, headers=auth())
    assert [e["duplicate"] for e in response.json()["events"]] == [False, True]
    assert len(stored(engine)) == 1


def _refused(response: object, status: int, kind: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["type"] == f"urn:flowkit:problem:{kind}"
    assert body["status"] == status
    return body


def test_no_key_a_wrong_key_and_a_revoked_key_are_refused_and_store_nothing(
        client: Client, engine: Engine) -> None:
    stored_key = add_key(engine.db, "backend")
    api = client()
    assert api.post("/v1/events", json=ENROLLED, headers=auth(stored_key)).status_code == 202
    revoke_key(engine.db, "backend")
    api2 = client()  # a new server: no cache of the stored keys yet
    for headers in ({}, auth("fk_guessed"), {"Authorization": KEY},
                    auth(stored_key)):
        body = _refused(api2.post("/v1/events", json=ENROLLED, headers=headers), 401,
                        "unauthorized")
        assert KEY not in str(body) and stored_key not in str(body)
    assert len(stored(engine)) == 1


def test_several_keys_are_live_at_once_for_rotation(client: Client, engine: Engine) -> None:
    api = client(api_keys=(KEY, OTHER_KEY))
    for key in (KEY, OTHER_KEY):
        assert api.post("/v1/events", json=ENROLLED, headers=auth(key)).status_code == 202


def test_the_api_is_closed_without_keys_unless_in_demo_mode(client: Client) -> None:
    closed = client(api_keys=())
    _refused(closed.post("/v1/events", json=ENROLLED), 401, "unauthorized")
    demo = client(api_keys=(), demo=True)
    assert demo.post("/v1/events", json=ENROLLED).status_code == 202


def test_malformed_json_is_refused_with_nothing_stored(client: Client, engine: Engine) -> None:
    response = client().post("/v1/events", content=b'{"event": "user.enrolled",',
                             headers={**auth(), "content-type": "application/json"})
    _refused(response, 400, "malformed")
    assert stored(engine) == []


def test_each_malformed_event_of_a_batch_is_named_by_index_and_field(
        client: Client, engine: Engine) -> None:
    batch = {"events": [ENROLLED, {"event": "", "user": "u2"},
                        {"event": "x", "user": "u3", "course": "python-101"},
                        {"event": "x", "user": "u4", "fields": {"user": "u5"}}, "oops"]}
    body = _refused(client().post("/v1/events", json=batch, headers=auth()), 400,
                    "invalid-events")
    assert body["errors"] == [
        {"detail": "the event's name, a non-empty string", "index": 1, "field": "event",
         "pointer": "#/events/1/event"},
        {"detail": "unknown member; put payload values under `fields`", "index": 2,
         "field": "course", "pointer": "#/events/2/course"},
        {"detail": "is a member of the event itself, not a field", "index": 3,
         "field": "fields.user", "pointer": "#/events/3/fields/user"},
        {"detail": "an event must be a JSON object", "index": 4, "pointer": "#/events/4"}]
    assert stored(engine) == []


def test_an_event_the_engine_refuses_fails_the_whole_batch(
        client: Client, engine: Engine) -> None:
    batch = {"events": [ENROLLED, {"event": "user.enrolled", "user": "u2"}]}
    body = _refused(client().post("/v1/events", json=batch, headers=auth()), 400,
                    "invalid-events")
    assert body["errors"] == [{  # by index and field, with a pointer into the body
        "detail": "'user.enrolled' needs course=...; it came without course",
        "index": 1, "field": "fields.course", "pointer": "#/events/1/fields/course"}]
    assert str(body["detail"]).endswith("it came without course; nothing was stored")
    assert stored(engine) == []


def test_a_single_event_the_engine_refuses_is_named_by_field_alone(
        client: Client, engine: Engine) -> None:
    body = _refused(client().post("/v1/events", json={"event": "user.enrolled", "user": "u2"},
                                  headers=auth()), 400, "invalid-events")
    assert body["errors"] == [{
        "detail": "'user.enrolled' needs course=...; it came without course",
        "field": "fields.course", "pointer": "#/fields/course"}]
    assert str(body["detail"]).count("nothing was stored") == 1
    # the envelope's members are named as themselves, not as fields
    for member, value in (("idempotency_key", "k" * 201), ("user", "u" * 201),
                          ("event", "e" * 201)):
        body = _refused(client().post("/v1/events", json={**ENROLLED, member: value},
                                      headers=auth()), 400, "invalid-events")
        assert [(e["field"], e["pointer"]) for e in body["errors"]] == [
            (member, f"#/{member}")]
    assert stored(engine) == []


def test_a_body_over_the_limit_is_refused_by_its_declared_length_unread(
        client: Client, engine: Engine) -> None:
    api = client(max_body_bytes=200)
    big = {"events": [ENROLLED] * 10}
    _refused(api.post("/v1/events", json=big, headers=auth()), 413, "too-large")
    assert stored(engine) == []


def test_a_streamed_body_is_refused_once_it_passes_the_limit(
        client: Client, engine: Engine) -> None:
    api = client(max_body_bytes=1000)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"events": ['
        for _ in range(1000):
            yield b'{"event": "user.signed_up", "user": "u1"},'
    response = api.post("/v1/events", content=chunks(),
                        headers={**auth(), "content-type": "application/json"})
    _refused(response, 413, "too-large")
    assert stored(engine) == []


def test_a_batch_over_the_count_limit_is_refused(client: Client, engine: Engine) -> None:
    api = client(max_batch=3)
    body = _refused(api.post("/v1/events", json={"events": [ENROLLED] * 4}, headers=auth()),
                    413, "batch-too-large")
    assert "split" in str(body["detail"])
    assert stored(engine) == []


def test_a_body_that_is_not_json_is_refused_415(client: Client, engine: Engine) -> None:
    response = client().post("/v1/events", data={"event": "user.signed_up"},  # form
                             headers=auth())
    _refused(response, 415, "unsupported-media-type")
    assert stored(engine) == []


def test_concurrent_requests_each_get_their_own_answer_and_a_bad_one_fails_alone(
        engine: Engine) -> None:
    import asyncio

    import httpx

    from flowkit.serve import ServeSettings, create_app

    app = create_app(engine, ServeSettings(api_keys=(KEY,)))
    bad = {"event": "user.enrolled", "user": "u-bad"}  # the engine wants a course

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as http:
            bodies = [{**ENROLLED, "user": f"u{n}"} for n in range(20)]
            bodies.insert(7, bad)
            return await asyncio.gather(*(http.post("/v1/events", json=body, headers=auth())
                                          for body in bodies))

    responses = asyncio.run(send_all())
    assert [r.status_code for r in responses] == [202] * 7 + [400] + [202] * 13
    assert "course" in responses[7].json()["detail"]
    assert sorted(e["user"] for e in stored(engine)) == sorted(f"u{n}" for n in range(20))


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read(
        engine: Engine) -> None:
    import asyncio

    from flowkit.serve import ServeSettings, create_app

    app = create_app(engine, ServeSettings(api_keys=(KEY,), max_body_bytes=1000))
    sent: list[dict[str, object]] = []
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/v1/events", "raw_path": b"",
             "query_string": b"", "root_path": "", "server": ("t", 80), "client": ("c", 1),
             "headers": [(b"authorization", f"Bearer {KEY}".encode()),
                         (b"content-type", b"application/json"),
                         (b"content-length", b"1000000000")]}

    async def receive() -> dict[str, object]:
        raise AssertionError("the body was read")

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 413
    assert stored(engine) == []

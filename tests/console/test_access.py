"""The console is closed by default: sign-in, roles, cookies, CSRF, demo mode."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from flowkit.console import ConsoleSettings, create_app
from tests.console.conftest import (
    OPERATOR_PASSWORD,
    READONLY_PASSWORD,
    Shop,
    settings,
    sign_in,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_without_a_password_the_console_is_off(shop: Shop) -> None:
    with TestClient(create_app(shop.url, ConsoleSettings())) as client:
        response = client.get("/")
    assert response.status_code == 403
    assert "FLOWKIT_CONSOLE_PASSWORD" in response.text


def test_demo_mode_opens_to_loopback_only(shop: Shop) -> None:
    app = create_app(shop.url, ConsoleSettings(demo=True, flows=settings().flows))
    with TestClient(app, client=("127.0.0.1", 40000)) as local:
        assert local.get("/").status_code == 200
    with TestClient(app, client=("203.0.113.9", 40000)) as remote:
        response = remote.get("/")
    assert response.status_code == 403
    assert "loopback" in response.text


def test_pages_send_strangers_to_sign_in(shop: Shop) -> None:
    with TestClient(create_app(shop.url, settings())) as client:
        page = client.get("/flows/checkout", follow_redirects=False)
        counts = client.get("/flows/checkout/counts.json")
    assert page.status_code == 303
    assert page.headers["location"] == "/signin?next=/flows/checkout"
    assert counts.status_code == 401


def test_a_wrong_password_is_refused(shop: Shop) -> None:
    with TestClient(create_app(shop.url, settings())) as client:
        response = client.post("/signin", data={"name": "mallory", "password": "guess"})
        assert response.status_code == 401
        assert "not right" in response.text
        assert client.get("/", follow_redirects=False).status_code == 303


def test_the_session_cookie_is_httponly_strict_and_secure_over_tls(shop: Shop) -> None:
    app = create_app(shop.url, settings())
    with TestClient(app, base_url="https://console.example") as tls:
        cookie = tls.post("/signin", data={"name": "ann", "password": OPERATOR_PASSWORD},
                          follow_redirects=False).headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
    with TestClient(app) as plain:
        cookie = plain.post("/signin", data={"name": "ann", "password": OPERATOR_PASSWORD},
                            follow_redirects=False).headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" not in cookie


def test_a_forged_session_cookie_is_refused(shop: Shop) -> None:
    with TestClient(create_app(shop.url, settings())) as client:
        sign_in(client)
        value = client.cookies["flowkit_console"]
        data, _, mac = value.rpartition(".")
        client.cookies.set("flowkit_console", data + "." + "0" * len(mac))
        assert client.get("/", follow_redirects=False).status_code == 303


def test_a_password_change_signs_everyone_out(shop: Shop) -> None:
    with TestClient(create_app(shop.url, settings())) as client:
        sign_in(client)
        cookie = client.cookies["flowkit_console"]
    changed = settings(operator_password="a-new-secret")
    with TestClient(create_app(shop.url, changed)) as client:
        client.cookies.set("flowkit_console", cookie)
        assert client.get("/", follow_redirects=False).status_code == 303


def test_the_read_only_role_sees_no_buttons(reader: TestClient, shop: Shop) -> None:
    parked = shop.run_of("bob")
    for page in (f"/runs/{parked}", "/problems", f"/runs/{shop.run_of('alice')}"):
        html = reader.get(page).text
        assert "Retry…" not in html and "End…" not in html and "Migrate" not in html, page


def test_the_read_only_role_cannot_repair(reader: TestClient, shop: Shop) -> None:
    parked = shop.run_of("bob")
    page = reader.get(f"/runs/{parked}/retry")
    response = reader.post(f"/runs/{parked}/retry", data={"csrf": "whatever"})
    assert page.status_code == 403 and response.status_code == 403
    assert shop.status(parked) == ("parked", "charge")


def test_the_operator_sees_the_buttons(console: TestClient, shop: Shop) -> None:
    html = console.get(f"/runs/{shop.run_of('bob')}").text
    assert "Retry…" in html and "End…" in html


def test_a_repair_without_the_csrf_token_is_refused(console: TestClient, shop: Shop) -> None:
    parked = shop.run_of("bob")
    response = console.post(f"/runs/{parked}/end", data={"reason": "no token"})
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert shop.status(parked)[0] == "parked"


def test_a_bearer_token_reads_without_a_session(shop: Shop) -> None:
    with TestClient(create_app(shop.url, settings())) as client:
        response = client.get("/flows/checkout/counts.json",
                              headers={"Authorization": f"Bearer {READONLY_PASSWORD}"})
        wrong = client.get("/flows/checkout/counts.json",
                           headers={"Authorization": "Bearer nope"})
    assert response.status_code == 200
    assert wrong.status_code == 401


def test_signing_in_goes_back_to_the_page_asked_for_but_never_off_site(shop: Shop) -> None:
    with TestClient(create_app(shop.url, settings())) as client:
        data = {"name": "ann", "password": OPERATOR_PASSWORD}
        here = client.post("/signin?next=/problems", data=data, follow_redirects=False)
        away = client.post("/signin?next=//evil.example/x", data=data, follow_redirects=False)
    assert here.headers["location"] == "/problems"
    assert away.headers["location"] == "/"


def test_mounted_at_console_its_links_and_cookie_follow_the_mount(shop: Shop) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    outer = Starlette(routes=[Mount("/console", create_app(shop.url, settings()))])
    with TestClient(outer) as client:
        stranger = client.get("/console/problems", follow_redirects=False)
        assert stranger.headers["location"] == "/console/signin?next=/console/problems"
        signed = client.post("/console/signin?next=/console/problems",
                             data={"name": "ann", "password": OPERATOR_PASSWORD},
                             follow_redirects=False)
        assert signed.headers["location"] == "/console/problems"
        assert "Path=/console" in signed.headers["set-cookie"]
        page = client.get("/console/flows/checkout")
    assert page.status_code == 200
    assert 'href="/console/static/console.css"' in page.text
    assert 'data-counts="/console/flows/checkout/counts.json"' in page.text


def test_pages_cannot_be_framed_or_run_foreign_scripts(console: TestClient) -> None:
    headers = console.get("/problems").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_guessing_passwords_is_slowed_down(shop: Shop) -> None:
    with TestClient(create_app(shop.url, settings())) as client:
        for _ in range(5):
            wrong = client.post("/signin", data={"name": "mallory", "password": "guess"})
            assert wrong.status_code == 401
        right = client.post("/signin", data={"name": "mallory", "password": OPERATOR_PASSWORD})
    assert right.status_code == 429
    assert "wait a minute" in right.text


def test_the_console_alone_refuses_to_start_without_a_password() -> None:
    from click.testing import CliRunner

    from flowkit.console.__main__ import main

    result = CliRunner().invoke(main, ["--database-url", "sqlite://"], env={
        "FLOWKIT_CONSOLE_PASSWORD": "", "FLOWKIT_CONSOLE_READONLY_PASSWORD": ""})
    assert result.exit_code == 2
    assert "FLOWKIT_CONSOLE_PASSWORD" in result.output
    assert len(result.output.strip().splitlines()) == 1

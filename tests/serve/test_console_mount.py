"""``flowkit serve`` mounts the console at ``/console``: closed without a password, the
sign-in page with one (the console's own tests cover its pages)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from flowkit.serve.main import app_from_env


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/flowkit.db")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("FLOWKIT_API_KEYS", "k" * 32)
    for name in ("FLOWKIT_CONSOLE_PASSWORD", "FLOWKIT_CONSOLE_READONLY_PASSWORD",
                 "FLOWKIT_CONSOLE_DEMO", "FLOWKIT_SERVE_DEMO"):
        monkeypatch.delenv(name, raising=False)
    from flowkit.store import database

    engine = database.create_engine(f"sqlite:///{tmp_path}/flowkit.db")
    database.upgrade(engine)
    engine.dispose()


def test_the_console_is_off_without_a_password(env: None) -> None:
    with TestClient(app_from_env()) as client:
        page = client.get("/console/")
    assert page.status_code == 403
    assert "set FLOWKIT_CONSOLE_PASSWORD" in page.text


def test_with_a_password_the_console_asks_to_sign_in(env: None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWKIT_CONSOLE_PASSWORD", "correct horse battery staple")
    with TestClient(app_from_env()) as client:
        page = client.get("/console/", follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/console/signin")
        assert client.get("/healthz").status_code == 200  # the front door is still there

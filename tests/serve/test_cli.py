"""``flowkit serve`` refuses to start open; ``flowkit keys`` adds, lists and revokes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from flowkit.cli import main
from flowkit.serve.keys import KeyRing
from flowkit.store import database


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/serve.db"
    for name in ("FLOWKIT_API_KEYS", "FLOWKIT_WEBHOOK_SECRETS", "FLOWKIT_SERVE_DEMO",
                 "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    return url


def test_serve_refuses_to_start_with_no_key_and_no_secret(env: str) -> None:
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0
    assert "no API key or webhook secret is configured" in result.output
    assert "--demo" in result.output


def test_demo_mode_refuses_an_address_other_than_loopback(env: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--demo", "--host", "0.0.0.0"])
    assert result.exit_code != 0
    assert "loopback only, not on 0.0.0.0" in result.output


def test_serve_refuses_a_secret_that_is_not_a_standard_webhooks_secret(
        env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWKIT_WEBHOOK_SECRETS", "whsec_@@@")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0
    assert "webhook secret #1 of FLOWKIT_WEBHOOK_SECRETS" in result.output
    assert "@@@" not in result.output


def test_keys_add_prints_the_key_once_and_stores_only_its_hash(env: str) -> None:
    runner = CliRunner()
    added = runner.invoke(main, ["keys", "add", "backend"])
    assert added.exit_code == 0, added.output
    key = added.stdout.strip()
    assert key.startswith("fk_") and len(key) > 40
    engine = database.create_engine(env)
    ring = KeyRing((), engine)
    ring.refresh()
    assert ring.accepts(key)
    with engine.connect() as conn:
        assert key not in str(conn.exec_driver_sql("SELECT * FROM flowkit_api_keys").all())
    listed = runner.invoke(main, ["keys", "list"])
    assert "backend" in listed.output and key[:10] in listed.output and "live" in listed.output
    assert key not in listed.output
    assert runner.invoke(main, ["keys", "add", "backend"]).exit_code != 0
    assert runner.invoke(main, ["keys", "revoke", "backend"]).exit_code == 0
    ring.refresh()
    assert not ring.accepts(key)
    revoked = runner.invoke(main, ["keys", "revoke", "backend"])
    assert "no live API key is named 'backend'" in revoked.output
    engine.dispose()

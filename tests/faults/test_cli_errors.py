"""When the database or Redis cannot be used, every command says so in one line (what is
wrong, what to do), exits 2, and shows a traceback only when asked; no password is
printed, and the state file holds none."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from flowkit.cli import main
from flowkit.runtime import services
from flowkit.store import database

REFUSED = "postgresql://flowkit:s3cret-pw@127.0.0.1:1/flowkit"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "REDIS_URL", "FLOWKIT_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def _one_line(result: object) -> str:
    output = getattr(result, "output", "")
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize("command", [["status"], ["emit", "x.y", "-u", "u1"],
                                     ["inspect", "user", "u1"], ["runs", "retry", "r1"],
                                     ["db", "upgrade"]])
def test_a_refused_database_connection_is_one_line_and_exit_2(cli: CliRunner,
                                                              command: list[str]) -> None:
    result = cli.invoke(main, command, env={"DATABASE_URL": REFUSED})
    line = _one_line(result)
    assert result.exit_code == 2
    assert "cannot reach the database" in line and "DATABASE_URL" in line
    assert "s3cret-pw" not in line
    if command[0] == "emit":
        assert "x.y for u1 was not stored" in line


def test_an_unknown_database_says_to_create_it(cli: CliRunner, postgres_url: str) -> None:
    missing = sa.engine.make_url(postgres_url).set(database="flowkit_no_such_db")
    result = cli.invoke(main, ["status"], env={
        "DATABASE_URL": missing.render_as_string(hide_password=False)})
    line = _one_line(result)
    assert result.exit_code == 2
    assert "does not exist" in line and "create it" in line


def test_missing_tables_say_to_run_db_upgrade(cli: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = database.create_engine(url)
    database.upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE flowkit_runs")
    engine.dispose()
    result = cli.invoke(main, ["status"], env={"DATABASE_URL": url})
    line = _one_line(result)
    assert result.exit_code == 2
    assert "flowkit db upgrade" in line


def test_an_unmigrated_database_says_to_run_db_upgrade(cli: CliRunner, tmp_path: Path
                                                       ) -> None:
    sa.create_engine(f"sqlite:///{tmp_path}/empty.db").connect().close()
    result = cli.invoke(main, ["status"], env={"DATABASE_URL": f"sqlite:///{tmp_path}/empty.db"})
    assert result.exit_code == 2
    assert "flowkit db upgrade" in _one_line(result)


def test_a_missing_postgresql_driver_names_the_extra_to_install(
        cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now fails
    result = cli.invoke(main, ["status"], env={"DATABASE_URL": REFUSED})
    assert result.exit_code == 2
    assert "pip install 'flowkit[postgres]'" in _one_line(result)


def test_debug_shows_the_traceback(cli: CliRunner) -> None:
    for args, env in (["--debug", "status"], {}), (["status"], {"FLOWKIT_DEBUG": "1"}):
        result = cli.invoke(main, args, env={"DATABASE_URL": REFUSED, **env})
        assert result.exit_code == 2
        assert "Traceback" in result.output
        assert result.output.strip().splitlines()[-1].startswith("error: cannot reach")


def test_emit_with_redis_down_says_the_event_is_stored(tmp_path: Path) -> None:
    # In a process of its own: the workers' broker is made once per process, on import.
    url = f"sqlite:///{tmp_path}/flowkit.db"
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL="redis://:pw-of-redis@127.0.0.1:1/0",
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    result = subprocess.run([sys.executable, "-m", "flowkit.cli", "emit", "user.signed_up", "-u",
                             "u1", "--key", "k1"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line
    assert "stored (key k1)" in line and "cannot reach Redis" in line
    assert "pw-of-redis" not in line
    engine = database.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM flowkit_events").scalar() == 1
    engine.dispose()


def test_the_state_file_is_private_and_holds_no_password(cli: CliRunner) -> None:
    services.write_run_file({"pid": os.getpid(), "database_url": REFUSED,
                             "redis_url": "redis://:pw-of-redis@127.0.0.1:6379/0"})
    mode = stat.S_IMODE(services.RUN_FILE.stat().st_mode)
    text = services.RUN_FILE.read_text()
    assert mode == 0o600
    assert "s3cret-pw" not in text and "pw-of-redis" not in text
    assert json.loads(text)["database_url"] == "postgresql://flowkit:***@127.0.0.1:1/flowkit"
    # a command beside it cannot use a redacted URL: it says to set the variable
    result = cli.invoke(main, ["status"])
    assert result.exit_code == 2
    assert "set DATABASE_URL" in _one_line(result)


def test_a_malformed_smtp_url_is_reported_without_its_password(cli: CliRunner,
                                                              tmp_path: Path) -> None:
    result = cli.invoke(main, ["mail", "deliver", "--smtp-url",
                               "smtp://mailer:smtp-s3cret@mail.example.com?bogus=1"],
                        env={"DATABASE_URL": f"sqlite:///{tmp_path}/flowkit.db"})
    line = _one_line(result)
    assert "unknown parameter bogus" in line
    assert "smtp-s3cret" not in line and "mailer:***@mail.example.com" in line


@pytest.mark.parametrize("field", ["user", "event", "idempotency_key"])
def test_a_reserved_payload_field_is_one_line_saying_what_to_write(
        cli: CliRunner, tmp_path: Path, field: str) -> None:
    result = cli.invoke(main, ["emit", "it.started", "-u", "u1", f"{field}=x"],
                        env={"DATABASE_URL": f"sqlite:///{tmp_path}/flowkit.db"})
    assert result.exit_code == 2
    assert f"payload field {field!r} is reserved" in _one_line(result)


@pytest.mark.parametrize("setting", ["0", "many"])
def test_flowkit_run_refuses_a_bad_cap_on_concurrent_batches_in_one_line(
        cli: CliRunner, setting: str) -> None:
    result = cli.invoke(main, ["run", "--duration", "1"],
                        env={"FLOWKIT_CONCURRENT_BATCHES": setting})
    line = _one_line(result)
    assert result.exit_code == 2
    assert f"FLOWKIT_CONCURRENT_BATCHES={setting!r}" in line and "at least 1" in line

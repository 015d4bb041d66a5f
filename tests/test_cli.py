"""The `flowkit` command: compile, emit, db upgrade, demo; one-line errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowkit.cli import main
from flowkit.store import database

BROKEN = '''
from flowkit import on, wait

@on("user.enrolled")
async def broken(run):
    try:
        await wait(days=1)
    except Exception:
        pass
'''


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_compile_prints_each_flow_with_its_step_ids(runner: CliRunner) -> None:
    result = runner.invoke(main, ["compile", "automations/onboarding_drip.py"])
    assert result.exit_code == 0, result.output
    assert "automation onboarding_drip" in result.output
    for step_id in ("send_email:welcome", "wait:2d", "completed a unit?", "send_email:tips"):
        assert step_id in result.output


def test_compile_reports_a_compile_error_in_one_line(runner: CliRunner,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "broken_flow.py"
    path.write_text(BROKEN)
    result = runner.invoke(main, ["compile", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert f"{path}:7:8" in lines[0]
    assert "try" in lines[0]


def test_compile_of_something_unknown_fails_cleanly(runner: CliRunner) -> None:
    result = runner.invoke(main, ["compile", "no.such.module"])
    assert result.exit_code == 2
    assert result.output.startswith("error: ")


def test_db_upgrade_then_emit_routes_into_the_database(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # no Redis and no running system here: the event is routed in the emitting process
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "automations").symlink_to(Path(__file__).parents[1] / "automations")
    (tmp_path / "emails").symlink_to(Path(__file__).parents[1] / "emails")  # its templates
    url = f"sqlite:///{tmp_path}/cli.db"
    upgraded = runner.invoke(main, ["db", "upgrade", "--database-url", url])
    assert upgraded.exit_code == 0, upgraded.output
    engine = database.create_engine(url)
    assert database.current_revision(engine) == database.head_revision(engine)
    engine.dispose()
    emitted = runner.invoke(main, ["emit", "user.enrolled", "--user", "u1",
                                   "course=python-101", "--database-url", url, "--key", "k1"])
    assert emitted.exit_code == 0, emitted.output
    assert "recorded and routed" in emitted.output
    again = runner.invoke(main, ["emit", "user.enrolled", "--user", "u1",
                                 "course=python-101", "--database-url", url, "--key", "k1"])
    assert "duplicate" in again.output

    from flowkit import Engine

    with Engine(url) as engine:  # discovers automations/ like the CLI did
        (run,) = engine.runs(user="u1", flow="onboarding_drip")
        assert run.status == "waiting", run.reason  # welcomed, then two days' wait
        assert run.event["course"] == "python-101"


def test_emit_rejects_a_malformed_field(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["emit", "user.enrolled", "--user", "u1", "course",
                                  "--database-url", f"sqlite:///{tmp_path}/x.db"])
    assert result.exit_code == 2
    assert "key=value" in result.output


def test_the_demo_simulates_the_examples(runner: CliRunner) -> None:
    result = runner.invoke(main, ["simulate", "--users", "3", "--days", "8"])
    assert result.exit_code == 0, result.output
    assert re.search(r"compiled \d+ flows from automations/, tracks/", result.output)
    assert re.search(r"user-1 +onboarding_drip +send_email +welcome", result.output)
    assert "user-2 left onboarding_drip" in result.output

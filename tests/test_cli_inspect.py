"""`flowkit inspect user|run` and `flowkit runs migrate`, on a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
import pytest
from click.testing import CliRunner

from flowkit import Engine
from flowkit.cli import main
from flowkit.clock import VirtualClock


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("REDIS_URL", raising=False)
    url = f"sqlite:///{tmp_path}/inspect.db"
    clock = VirtualClock(pendulum.datetime(2026, 3, 2, 9, tz="UTC"))
    with Engine(url, ["automations/onboarding_drip.py"], clock=clock) as engine:
        engine.add_user("u1", name="Ada", email="ada@example.com")
        engine.emit("user.enrolled", user="u1", course="python-101")
        clock.set(clock.now().add(days=2))
        engine.tick()
        engine.emit("course.completed", user="u1", course="python-101")
        engine.emit("user.enrolled", user="u2", course="python-101")
    return url


def test_inspect_user_shows_each_run_where_and_why(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps to the terminal's width
    result = CliRunner().invoke(main, ["inspect", "user", "u1", "--database-url", url])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "onboarding_drip" in out and "exited" in out
    assert "exit event course.completed with the same course arrived" in out
    assert "send_email('welcome')" in out and "[key " in out
    assert "until 2026-03-04" in out  # the first wait, in the history


def test_inspect_user_as_json(url: str) -> None:
    result = CliRunner().invoke(main, ["inspect", "user", "u2", "--json",
                                       "--database-url", url])
    (run,) = json.loads(result.output)
    assert (run["flow"], run["status"], run["step"]) == ("onboarding_drip", "waiting",
                                                        "wait:2d")
    assert run["wakes_at"].startswith("2026-03-06T09:00:00")
    assert [h["kind"] for h in run["history"]] == ["started", "action", "waiting"]


def test_inspect_run_by_id_prefix_and_unknown_ids(url: str) -> None:
    runs = json.loads(CliRunner().invoke(main, ["inspect", "user", "u2", "--json",
                                                "--database-url", url]).output)
    prefix = runs[0]["id"][:8]
    shown = CliRunner().invoke(main, ["inspect", "run", prefix, "--database-url", url])
    assert shown.exit_code == 0 and "wait:2d" in shown.output
    missing = CliRunner().invoke(main, ["inspect", "run", "zzzz", "--database-url", url])
    assert missing.exit_code == 2
    assert missing.output.strip() == "error: no run has the id 'zzzz'"


def test_runs_migrate_moves_waiting_runs_and_rejects_unknown_steps(url: str) -> None:
    bad = CliRunner().invoke(main, ["runs", "migrate", "--flow", "onboarding_drip", "--from",
                                    "wait:2d", "--to", "wait:9d", "--database-url", url])
    assert bad.exit_code == 2 and "has no step 'wait:9d'" in bad.output
    ok = CliRunner().invoke(main, ["runs", "migrate", "--flow", "onboarding_drip", "--from",
                                   "wait:2d", "--to", "wait:4d", "--database-url", url])
    assert ok.output.strip() == "moved 1 run(s) of onboarding_drip from wait:2d to wait:4d"

"""The command warns early: an event nobody listens to, a flow that does not compile
before anything starts, and `simulate` on the project's own flows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HELLO = '''
from flowkit import Run, on
from flowkit.lms import send_notification


@on("user.signed_up")
async def hello_newcomer(run: Run) -> None:
    await send_notification("Hello {{ user }}!")
'''

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
def project(tmp_path: Path) -> Path:
    """A project folder of its own, with one flow."""
    (tmp_path / "automations").mkdir()
    (tmp_path / "automations" / "__init__.py").write_text("")
    (tmp_path / "automations" / "hello.py").write_text(HELLO)
    return tmp_path


def flowkit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command, run in ``cwd`` as a user would (its own process: the project's
    ``automations`` package is not this repository's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env["DATABASE_URL"] = f"sqlite:///{cwd}/flowkit.db"
    return subprocess.run([sys.executable, "-m", "flowkit.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def emit(project: Path, *args: str) -> tuple[int, str, str]:
    result = flowkit(project, "emit", *args)
    return result.returncode, result.stdout, result.stderr


def test_emit_of_an_event_nobody_knows_warns_with_the_closest_name(project: Path) -> None:
    code, out, err = emit(project, "user.signed_upp", "--user", "u1")
    assert code == 0
    assert "recorded" in out
    assert err.strip() == ("warning: no flow listens to 'user.signed_upp' and the platform "
                           "does not know it: it is recorded, and nothing will happen; did "
                           "you mean 'user.signed_up'?")


def test_emit_of_an_event_a_flow_or_the_platform_knows_does_not_warn(project: Path) -> None:
    assert emit(project, "user.signed_up", "--user", "u1")[2] == ""
    assert emit(project, "course.completed", "--user", "u1", "course=x")[2] == ""  # the platform's


def test_an_event_listed_in_pyproject_is_known(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.flowkit]\nevents = ["app.opened"]\n')
    assert emit(project, "app.opened", "--user", "u1")[2] == ""


def test_run_refuses_a_flow_that_does_not_compile_before_starting_anything(
        project: Path) -> None:
    (project / "automations" / "broken.py").write_text(BROKEN)
    result = flowkit(project, "run", "--duration", "1")
    assert result.returncode != 0
    assert "broken.py:7:8: " in result.stderr and "in flow 'broken'" in result.stderr
    assert "started" not in result.stdout  # no Redis, no workers
    assert not (project / "flowkit.db").exists()


def test_simulate_runs_the_projects_own_flows(project: Path) -> None:
    result = flowkit(project, "simulate", "--users", "2", "--days", "1")
    assert result.returncode == 0, result.stderr
    assert "compiled 1 flows from automations/:" in result.stdout
    assert "hello_newcomer" in result.stdout
    assert "onboarding_drip" not in result.stdout and "example" not in result.stdout


def test_simulate_says_why_nothing_ran(project: Path) -> None:
    (project / "automations" / "hello.py").write_text(HELLO.replace("user.signed_up",
                                                                    "app.opened"))
    result = flowkit(project, "simulate", "--days", "1")
    assert "no run started: your flows start on app.opened" in result.stdout


def test_simulate_without_flows_says_where_they_go(tmp_path: Path) -> None:
    assert "flowkit init" in flowkit(tmp_path, "simulate").stdout

"""`flowkit runs end` and `flowkit runs migrate`'s checks, on a real database (SQLite,
then PostgreSQL), including runs of a flow the code no longer has."""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from flowkit import Engine
from flowkit.cli import main
from flowkit.clock import VirtualClock
from flowkit.store import database
from flowkit.store import schema as t

FLOWS = '''
from flowkit import action, on, wait


@action
def note(text):
    return text


@on("user.enrolled")
async def drip(run):
    await note("welcome")
    await wait(days=2)
    await note("reminder")


@on("user.signed_up")
async def hello(run):
    await wait(days=1)
    await note("hello")
'''


@pytest.fixture
def project(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs waiting in `drip` (u1, u2, u3) and `hello` (u1), then a project whose code
    has only `hello`: `drip` is gone."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    (tmp_path / "automations").mkdir()
    flows = tmp_path / "automations" / "flows.py"
    flows.write_text(FLOWS)
    clock = VirtualClock(pendulum.datetime(2026, 3, 2, 9, tz="UTC"))
    with Engine(database_url, [flows], clock=clock) as engine:
        for user in ("u1", "u2", "u3"):
            engine.emit("user.enrolled", user=user, course="c")
        engine.emit("user.signed_up", user="u1")
    flows.write_text(FLOWS.split("@on(\"user.enrolled\")")[0] + FLOWS.split(
        "    await note(\"reminder\")\n")[1])
    monkeypatch.chdir(tmp_path)
    return database_url


def flowkit(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--database-url", url])


def live(url: str) -> dict[str, int]:
    engine = database.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.runs.c.flow, sa.func.count())
                            .where(t.runs.c.status.in_(("waiting", "parked")))
                            .group_by(t.runs.c.flow))
        counts = {r[0]: int(r[1]) for r in rows}
        timers = int(conn.execute(sa.select(sa.func.count()).select_from(t.timers))
                     .scalar_one())
    engine.dispose()
    return {**counts, "timers": timers}


def test_runs_end_ends_the_runs_of_a_flow_the_code_no_longer_has(project: str) -> None:
    dry = flowkit(project, "runs", "end", "--flow", "drip", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("would end 3 run(s):")
    assert live(project) == {"drip": 3, "hello": 1, "timers": 4}

    done = flowkit(project, "runs", "end", "--flow", "drip", "--step", "wait:2d",
                   "--reason", "drip was retired", "--by", "ada")

    assert done.exit_code == 0, done.output
    assert done.output.startswith("ended 3 run(s):")
    assert live(project) == {"hello": 1, "timers": 1}
    (run,) = json.loads(flowkit(project, "inspect", "user", "u2", "--json").output)
    assert run["status"] == "exited"
    assert run["reason"] == "ended by ada with `flowkit runs end`: drip was retired"
    assert run["history"][-1]["kind"] == "ended"
    assert run["history"][-1]["detail"] == {"by": "ada", "how": "with `flowkit runs end`",
                                             "reason": "drip was retired"}
    again = flowkit(project, "runs", "end", "--flow", "drip", "--reason", "twice")
    assert again.exit_code == 2
    assert again.output.startswith("error: no waiting, running, parked or failed run "
                                   "matches --flow drip")


def test_runs_end_by_user_or_run_id_and_its_mistakes(project: str) -> None:
    runs = json.loads(flowkit(project, "inspect", "user", "u1", "--json").output)
    hello = next(r for r in runs if r["flow"] == "hello")

    by_id = flowkit(project, "runs", "end", hello["id"][:8], "--reason", "test user")
    assert by_id.output.startswith("ended 1 run(s):") and "hello  u1" in by_id.output
    by_user = flowkit(project, "runs", "end", "--user", "u1", "--reason", "left")
    assert by_user.output.startswith("ended 1 run(s):") and "drip  u1" in by_user.output
    assert live(project) == {"drip": 2, "timers": 2}
    nothing = flowkit(project, "runs", "end", "--reason", "all?")
    assert nothing.exit_code == 2
    assert "say which runs" in nothing.output
    no_reason = flowkit(project, "runs", "end", "--flow", "drip")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output


def test_inspect_and_status_mark_runs_whose_flow_is_gone(
        project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    shown = flowkit(project, "inspect", "user", "u1")
    assert "drip (gone)" in shown.output
    assert "the code no longer has this flow: end the run with `flowkit runs end" \
        in shown.output
    assert "hello (gone)" not in shown.output
    runs = json.loads(flowkit(project, "inspect", "user", "u1", "--json").output)
    assert {r["flow"]: r["flow_gone"] for r in runs} == {"drip": True, "hello": False}
    status = flowkit(project, "status")
    assert "(flow gone from the code: `flowkit runs end --flow drip --reason ...`)" \
        in status.output
    assert "hello" in status.output and status.output.count("gone") == 1


def test_runs_migrate_checks_both_steps_and_refuses_a_flow_that_is_gone(
        project: str) -> None:
    gone = flowkit(project, "runs", "migrate", "--flow", "drip", "--from", "wait:2d",
                   "--to", "wait:2d")
    assert gone.exit_code == 2
    assert "the code has no flow named 'drip'" in gone.output
    assert "`flowkit runs end --flow drip --reason ...`" in gone.output

    to = flowkit(project, "runs", "migrate", "--flow", "hello", "--from", "wait:1d",
                 "--to", "wait:9d")
    assert to.exit_code == 2
    assert "--to takes one of its steps: wait:1d, note:hello" in to.output
    source = flowkit(project, "runs", "migrate", "--flow", "hello", "--from",
                     "no-such-step", "--to", "wait:1d")
    assert source.exit_code == 2
    assert ("no run of 'hello' waits or is parked at 'no-such-step'; --from takes a step "
            "where its runs rest: wait:1d (1)") in source.output
    moved = flowkit(project, "runs", "migrate", "--flow", "hello", "--from", "wait:1d",
                    "--to", "wait:1d")
    assert moved.output.strip() == "moved 1 run(s) of hello from wait:1d to wait:1d"

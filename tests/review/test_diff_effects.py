"""What `flowkit diff` says a change does to the runs already waiting, one test per kind
of effect, with the runs counted in a real database (SQLite, then PostgreSQL) and, where
it matters, the runs then resumed under the new code to show the report was right."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import textwrap
from pathlib import Path

import pendulum
import pytest

from flowkit import Engine
from flowkit.clock import VirtualClock
from flowkit.dsl.flow import Flow
from flowkit.review import diff_report
from flowkit.review.diff import FlowDiff, compare, resting_runs

T0 = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
_names = itertools.count()

PRELUDE = '''
from flowkit import action, automation, branch, exit_when, on, wait, wait_for


@action
def send_message(text):
    return text

'''

WEEK_1 = '''
@on("user.enrolled")
async def week_1(run):
    await send_message("Week 1, here is your plan")
    await wait(days=7)
    await send_message("Week 2 starts")
'''


def flow(tmp_path: Path, body: str) -> Flow:
    name = f"fk_effects_{next(_names)}"
    path = tmp_path / f"{name}.py"
    path.write_text(PRELUDE + textwrap.dedent(body))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    (found,) = [v for v in vars(module).values() if isinstance(v, Flow)]
    return found


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


def start(url: str, old: Flow, clock: VirtualClock, *users: str) -> None:
    with Engine(url, [old], clock=clock) as engine:
        for user in users:
            engine.emit("user.enrolled", user=user, course="c")


def diff(url: str | None, old: Flow, new: Flow) -> FlowDiff:
    resting = resting_runs(url) if url else None
    (found,) = compare({old.name: old.ir}, {new.name: new.ir}, resting)
    return found


def kinds(found: FlowDiff) -> list[tuple[str, str, int | None]]:
    return [(e.kind, e.step, e.runs) for e in found.effects]


def test_an_action_moved_after_the_wait_is_sent_again_to_each_run_waiting_there(
        tmp_path: Path, database_url: str, clock: VirtualClock) -> None:
    old = flow(tmp_path, WEEK_1)
    start(database_url, old, clock, "u1", "u2", "u3")
    new = flow(tmp_path, WEEK_1.replace(
        '    await send_message("Week 1, here is your plan")\n    await wait(days=7)\n',
        '    await wait(days=7)\n    await send_message("Week 1, here is your plan")\n'))

    found = diff(database_url, old, new)

    assert kinds(found) == [("repeat", "wait:7d", 3)]
    assert found.effects[0].text.startswith(
        "3 runs waiting at `wait:7d` will send 'Week 1, here is your plan' again")
    assert not found.compatible
    assert "**3 waiting runs would repeat an action (3)**" in diff_report.text(
        [found], "HEAD", True)
    assert found.blocking(["repeat"]) == []
    # ...and it is so: resumed under the new code, each of them gets it a second time
    with Engine(database_url, [new], clock=clock) as engine:
        clock.set(T0.add(days=7))
        engine.tick()
        sent = [a.result for a in engine.actions(user="u1")]
    assert sent == ["Week 1, here is your plan", "Week 1, here is your plan",
                    "Week 2 starts"]


def test_an_action_moved_before_the_wait_or_removed_is_skipped_by_the_runs_there(
        tmp_path: Path, database_url: str, clock: VirtualClock) -> None:
    old = flow(tmp_path, WEEK_1 + '    await wait(days=7)\n    await send_message("Week 3")\n')
    start(database_url, old, clock, "u1", "u2")
    new = flow(tmp_path, WEEK_1.replace(
        '    await wait(days=7)\n    await send_message("Week 2 starts")\n',
        '    await send_message("Week 2 starts")\n    await wait(days=7)\n'))

    found = diff(database_url, old, new)

    assert kinds(found) == [("skip", "wait:7d", 2), ("skip", "wait:7d", 2)]
    assert "will not send 'Week 2 starts'" in found.effects[0].text
    assert "moved before this step" in found.effects[0].text
    assert "is removed" in found.effects[1].text
    assert "strand" not in {e.kind for e in found.effects}  # wait:7d#2 held no run


def test_a_removed_wait_strands_the_runs_there_until_they_are_migrated(
        tmp_path: Path, database_url: str, clock: VirtualClock) -> None:
    old = flow(tmp_path, WEEK_1)
    start(database_url, old, clock, "u1", "u2")
    new = flow(tmp_path, WEEK_1.replace("days=7", "days=5"))

    found = diff(database_url, old, new)

    assert kinds(found) == [("strand", "wait:7d", 2)]
    assert found.stranded == 2
    assert "`wait:5d` took its place" in found.effects[0].text
    assert ("flowkit runs migrate --flow week_1 --from wait:7d --to wait:5d"
            in found.effects[0].text)
    with Engine(database_url, [new], clock=clock) as engine:
        assert len(engine.migrate("week_1", "wait:7d", "wait:5d")) == 2
    after = diff(database_url, old, new)
    assert after.effects == () and after.compatible
    assert "compatible with the runs waiting now" in diff_report.text([after], "HEAD", True)


def test_a_change_to_the_step_where_runs_rest_strands_nothing_and_keeps_their_deadline(
        tmp_path: Path, database_url: str, clock: VirtualClock) -> None:
    old = flow(tmp_path, WEEK_1.replace("wait(days=7)", 'wait(days=7, id="week")'))
    start(database_url, old, clock, "u1", "u2", "u3")
    new = flow(tmp_path, WEEK_1.replace("wait(days=7)", 'wait(days=5, id="week")'))

    found = diff(database_url, old, new)

    assert kinds(found) == [("deadline", "week", 3)]
    assert found.compatible and found.stranded == 0
    assert "keep the deadline `wait(days=7)` set when they began waiting" in found.effects[0].text
    with Engine(database_url, [new], clock=clock) as engine:
        clock.set(T0.add(days=5))
        engine.tick()
        assert {r.status for r in engine.runs()} == {"waiting"}
        clock.set(T0.add(days=7))
        engine.tick()
        assert {r.status for r in engine.runs()} == {"completed"}


def test_a_changed_branch_condition_and_wait_still_to_come_are_reported(
        tmp_path: Path, database_url: str, clock: VirtualClock) -> None:
    body = WEEK_1 + '''
    await wait(days=2)
    if await branch("active?", run.event.get("course") == "c"):
        await send_message("Keep going")
'''
    old = flow(tmp_path, body)
    start(database_url, old, clock, "u1")
    new = flow(tmp_path, body.replace('== "c"', '!= "c"').replace("days=2", "days=3"))

    found = diff(database_url, old, new)

    assert kinds(found) == [("condition", "wait:7d", 1), ("deadline", "wait:7d", 1)]
    assert "will decide `active?` as `branch('active?', run.event.get('course') != 'c')`" \
        in found.effects[0].text
    assert "will wait `wait(days=3)` at `wait:3d` (was `wait(days=2)` at `wait:2d`)" \
        in found.effects[1].text
    assert found.compatible


def test_changed_triggers_exits_and_options_count_the_runs_going(
        tmp_path: Path, database_url: str, clock: VirtualClock) -> None:
    old = flow(tmp_path, WEEK_1)
    start(database_url, old, clock, "u1", "u2")
    new = flow(tmp_path, WEEK_1.replace(
        '@on("user.enrolled")',
        '@automation(reentry="always")\n@on("user.signed_up")\n'
        '@exit_when("course.completed", same=["course"])'))

    found = diff(database_url, old, new)

    assert old.version != new.version
    assert {(e.kind, e.subject, e.runs) for e in found.effects} == {
        ("exit", "exit when course.completed same course", 2),
        ("trigger", "on user.enrolled", 2), ("trigger", "on user.signed_up", 2),
        ("option", "reentry after_exit", 2), ("option", "reentry always", 2)}
    exit_effect = next(e for e in found.effects if e.kind == "exit")
    assert exit_effect.text == ("2 runs already going will also end when: exit when "
                                "course.completed same course")
    assert found.compatible


def test_runs_are_counted_per_step_where_they_rest(
        tmp_path: Path, database_url: str, clock: VirtualClock) -> None:
    body = WEEK_1 + '    await wait(days=7)\n    await send_message("Week 3")\n'
    old = flow(tmp_path, body)
    start(database_url, old, clock, "u1")
    with Engine(database_url, [old], clock=clock) as engine:
        clock.set(T0.add(days=7))
        engine.tick()  # u1 now rests at the second wait
        engine.emit("user.enrolled", user="u2", course="c")
        engine.emit("user.enrolled", user="u3", course="c")
    new = flow(tmp_path, body.replace('    await send_message("Week 2 starts")\n', "")
               .replace('await send_message("Week 3")',
                        'await send_message("Week 3")\n    await send_message("Week 2 starts")'))

    found = diff(database_url, old, new)

    assert kinds(found) == [("repeat", "wait:7d#2", 1)]  # not the 2 runs at wait:7d
    assert resting_runs(database_url) == {("week_1", "wait:7d"): 2, ("week_1", "wait:7d#2"): 1}
    assert found.effects[0].text.startswith("1 run waiting at `wait:7d#2` will send "
                                            "'Week 2 starts' again")


def test_a_removed_wait_for_is_judged_without_a_database(tmp_path: Path) -> None:
    old = flow(tmp_path, WEEK_1.replace(
        "    await wait(days=7)\n",
        '    await wait_for("user.signed_in", timeout={"days": 7})\n'))
    new = flow(tmp_path, WEEK_1.replace("    await wait(days=7)\n", ""))

    found = diff(None, old, new)

    assert kinds(found) == [("strand", "wait_for:user.signed_in", None)]
    assert not found.compatible
    assert found.effects[0].text.startswith(
        "runs waiting at `wait_for:user.signed_in` (if any) would be stranded")
    report = diff_report.text([found], "HEAD", False)
    assert "**runs waiting at `wait_for:user.signed_in` would be stranded**" in report


def test_a_renamed_variable_read_after_the_wait_would_park_the_runs_there(
        tmp_path: Path, database_url: str, clock: VirtualClock) -> None:
    body = '''
@on("user.enrolled")
async def week_1(run):
    for tip in ["a", "b"]:
        await wait(days=1)
        await send_message(tip)
'''
    old = flow(tmp_path, body)
    start(database_url, old, clock, "u1", "u2")
    renamed = flow(tmp_path, body.replace("tip", "hint"))
    reworded = flow(tmp_path, body.replace('["a", "b"]', '["a", "b", "c"]'))

    found = diff(database_url, old, renamed)

    assert kinds(found) == [("changed", "wait:1d", 2), ("strand", "wait:1d", 2)]
    assert found.effects[1].text.startswith(
        "2 runs waiting at `wait:1d` will be parked: the new code reads `hint` (line 14)")
    assert diff(database_url, old, reworded).compatible  # the hidden loop state is kept

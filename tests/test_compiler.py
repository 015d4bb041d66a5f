"""The compiler, end to end: every construct a flow may use, every compile error, and the
stability of step ids and version hashes.

Constructs run through ``flowkit.testing.Simulation`` (the real engine and machine on a
virtual clock). Compile errors and version comparisons need exact source text, so those
flows are written to files under ``tmp_path`` and imported from there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import inspect
import itertools
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pendulum
import pytest

from flowkit import (
    CompileError,
    DefinitionError,
    action,
    automation,
    branch,
    compile_flow,
    exit_when,
    on,
    wait,
    wait_for,
)
from flowkit.clock import VirtualClock
from flowkit.dsl.flow import Flow
from flowkit.ir import FlowIR, JumpIf
from flowkit.runtime.engine import Engine
from flowkit.testing import Simulation

T0 = pendulum.datetime(2026, 3, 2, 9, 0, tz="UTC")  # Simulation's default start


# -- actions the flows below use ----------------------------------------------------------


@action
def send_email(template):
    return f"sent {template}"


@action
async def add_tag(tag):
    await asyncio.sleep(0)
    return tag.upper()


@action
def note(value):
    """Records any value (the ledger keeps its arguments)."""
    return value


# -- helpers ------------------------------------------------------------------------------


@pytest.fixture
def simulate() -> Iterator[Callable[..., Simulation]]:
    """Make a Simulation of some flows, with users u1 and u2; closed after the test."""
    made: list[Simulation] = []

    def make(*flows: Flow, users: tuple[str, ...] = ("u1", "u2")) -> Simulation:
        sim = Simulation(*flows)
        made.append(sim)
        for user in users:
            sim.add_user(user)
        return sim

    yield make
    for sim in made:
        sim.close()


def done(sim: Simulation, user: str = "u1") -> list[Any]:
    """The first argument (else the name) of every action the user's runs performed, in
    the order they were performed (read from run history, which keeps execution order)."""
    return [(h.detail["args"] or [h.detail["action"]])[0] for run in sim.runs(user=user)
            for h in run.history if h.kind == "action"]


def line_in(flow: Flow, fragment: str) -> int:
    """The file line number of the one line of a flow's source containing ``fragment``."""
    lines, first = inspect.getsourcelines(flow.program.fn)
    hits = [i for i, text in enumerate(lines) if fragment in text]
    assert len(hits) == 1, f"{fragment!r} must occur once in the flow"
    return first + hits[0]


_counter = itertools.count()

PRELUDE = '''\
import asyncio
import time

from flowkit import action, automation, branch, exit_when, on, wait, wait_for


@action
def send_email(template):
    return template


async def fetch_profile():
    return {}


'''


def flow_with(statements: str) -> str:
    """The source of a flow ``flow`` on event "go" whose body is ``statements``."""
    return '@on("go")\nasync def flow(run):\n' + textwrap.indent(
        textwrap.dedent(statements).strip("\n"), "    ") + "\n"


def write_source(tmp_path: Path, body: str) -> tuple[str, Path, str]:
    """Write ``PRELUDE + body`` to a new file: (module name, path, text)."""
    text = PRELUDE + textwrap.dedent(body)
    name = f"fk_compiler_case_{next(_counter)}"
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return name, path, text


def import_file(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # while it runs: inspect looks the module up to read source
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def import_source(tmp_path: Path, body: str) -> ModuleType:
    name, path, _ = write_source(tmp_path, body)
    return import_file(name, path)


def flow_ir(tmp_path: Path, body: str) -> FlowIR:
    return import_source(tmp_path, body).flow.ir


def locate(text: str, needle: str) -> tuple[int, int]:
    """(line, column) of the one occurrence of ``needle``: 1-based line, 0-based column."""
    assert text.count(needle) == 1, f"{needle!r} must occur exactly once in the source"
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1)


def assert_located(error: CompileError, path: Path, text: str, at: str) -> None:
    line, column = locate(text, at)
    assert (error.line, error.column) == (line, column), str(error)
    assert Path(error.file) == path
    assert error.flow == "flow"
    assert str(error).startswith(f"{error.file}:{line}:{column}: in flow 'flow': ")


def compile_error(tmp_path: Path, body: str, at: str) -> CompileError:
    """Import a flow that must not compile; check that the error points at ``at``."""
    name, path, text = write_source(tmp_path, body)
    with pytest.raises(CompileError) as info:
        import_file(name, path)
    assert_located(info.value, path, text, at)
    return info.value


def load_error(tmp_path: Path, body: str, at: str) -> CompileError:
    """A flow that compiles but cannot be loaded (a name resolved only at load time)."""
    name, path, text = write_source(tmp_path, body)
    module = import_file(name, path)
    with pytest.raises(CompileError) as info:
        Simulation(module.flow)
    assert_located(info.value, path, text, at)
    return info.value


# =========================================================================================
# Constructs, end to end
# =========================================================================================


# -- sequential awaits --------------------------------------------------------------------


def test_sequential_awaits_run_in_order_with_the_wait_between(simulate):
    # given a drip: welcome, two days, reminder
    @on("user.enrolled")
    async def drip(run):
        await send_email("welcome")
        await wait(days=2)
        await send_email("reminder")

    sim = simulate(drip)

    # when the user enrols and a day passes
    sim.emit("user.enrolled", user="u1", course="c")
    sim.advance(days=1)

    # then only the welcome went out, and the run rests at the wait
    assert [(a.name, a.args, a.at) for a in sim.actions(user="u1")] == [
        ("send_email", {"template": "welcome"}, T0)]
    run = sim.run(user="u1")
    assert (run.status, run.step, run.wakes_at) == ("waiting", "wait:2d", T0.add(days=2))

    # when the rest of the wait passes
    sim.advance(days=1)

    # then the reminder went out exactly two days after the welcome, and the run is done
    assert [(a.args["template"], a.at) for a in sim.actions(user="u1")] == [
        ("welcome", T0), ("reminder", T0.add(days=2))]
    assert sim.run(user="u1").status == "completed"
    assert sim.actions(user="u2") == []


def test_a_flow_without_a_run_parameter_runs(simulate):
    @on("go")
    async def parameterless():
        await send_email("hello")

    sim = simulate(parameterless)
    sim.emit("go", user="u1")

    assert done(sim) == ["hello"]
    assert sim.run(user="u1").status == "completed"


# -- if / elif / else ---------------------------------------------------------------------


@pytest.mark.parametrize(("plan", "expected"), [("pro", "pro-tips"), ("free", "upgrade")])
def test_a_branch_decides_which_path_the_run_takes(simulate, plan, expected):
    @on("user.enrolled")
    async def upsell(run):
        await send_email("welcome")
        if await branch("on the pro plan?", run.event["plan"] == "pro"):
            await send_email("pro-tips")
        else:
            await send_email("upgrade")
        await send_email("bye")

    sim = simulate(upsell)
    sim.emit("user.enrolled", user="u1", course="c", plan=plan)

    assert done(sim) == ["welcome", expected, "bye"]
    decisions = [h.detail for h in sim.run(user="u1").history if h.kind == "branch"]
    assert decisions == [{"label": "on the pro plan?", "value": plan == "pro"}]


@pytest.mark.parametrize(("units", "expected"), [(0, ["nudge"]), (2, [])])
def test_if_not_await_branch_takes_the_body_when_the_answer_is_no(simulate, units, expected):
    @on("user.enrolled")
    async def nudge(run):
        if not await branch("started?", run.event["units"] > 0):
            await send_email("nudge")

    sim = simulate(nudge)
    sim.emit("user.enrolled", user="u1", course="c", units=units)

    assert done(sim) == expected
    assert sim.run(user="u1").status == "completed"


@pytest.mark.parametrize(("score", "expected"),
                         [(95, "gold"), (75, "silver"), (55, "bronze"), (10, "retake")])
def test_elif_chains_of_branches_pick_the_first_that_holds(simulate, score, expected):
    @on("exam.graded")
    async def medal(run):
        score = run.event["score"]
        if await branch("gold?", score >= 90):
            await send_email("gold")
        elif await branch("silver?", score >= 70):
            await send_email("silver")
        elif score >= 50:
            await send_email("bronze")
        else:
            await wait(hours=1)
            await send_email("retake")

    sim = simulate(medal)
    sim.emit("exam.graded", user="u1", score=score)
    sim.advance(hours=2)

    assert done(sim) == [expected]


@pytest.mark.parametrize(("country", "expected"), [("fr", ["bonjour", "suite"]),
                                                   ("de", ["hallo", "suite"]),
                                                   ("us", ["hello"])])
def test_plain_if_around_awaits_and_plain_code_inside_them(simulate, country, expected):
    @on("user.signed_up")
    async def greet(run):
        if run.event["country"] == "fr":
            await send_email("bonjour")
            follow_up = True
        elif run.event["country"] == "de":
            await wait(minutes=5)
            await send_email("hallo")
            follow_up = True
        else:
            greeting = "HELLO"
            if greeting:  # a plain if with no await, between awaits
                greeting = greeting.lower()
            await send_email(greeting)
            follow_up = False
        await wait(days=1)
        if follow_up:
            await send_email("suite")

    sim = simulate(greet)
    sim.emit("user.signed_up", user="u1", country=country)
    sim.advance(days=2)

    assert done(sim) == expected
    assert sim.run(user="u1").status == "completed"


# -- while --------------------------------------------------------------------------------


def test_a_while_loop_with_a_wait_repeats_until_its_condition_fails(simulate):
    @on("user.enrolled")
    async def nudges(run):
        sent = 0
        while sent < 3:
            await send_email("nudge")
            await wait(days=1)
            sent += 1
        await send_email("last call")

    sim = simulate(nudges)
    sim.emit("user.enrolled", user="u1", course="c")
    sim.advance(days=1, hours=1)

    # after one day: two nudges, still looping
    assert done(sim) == ["nudge", "nudge"]
    assert sim.run(user="u1").locals["sent"] == 1

    sim.advance(days=5)

    assert [(a.args["template"], a.at) for a in sim.actions(user="u1")] == [
        ("nudge", T0), ("nudge", T0.add(days=1)), ("nudge", T0.add(days=2)),
        ("last call", T0.add(days=3))]
    assert sim.run(user="u1").status == "completed"


def test_break_leaves_a_waiting_loop_when_the_awaited_event_comes(simulate):
    @on("user.enrolled")
    async def until_signed_in(run):
        while True:
            seen = await wait_for("user.signed_in", timeout={"days": 1})
            if seen is not None:
                break
            await send_email("come back")
        await send_email("welcome back")

    sim = simulate(until_signed_in)
    sim.emit("user.enrolled", user="u1", course="c")
    sim.advance(days=2, hours=12)
    sim.emit("user.signed_in", user="u1")
    sim.advance(days=5)

    assert done(sim) == ["come back", "come back", "welcome back"]
    assert sim.run(user="u1").status == "completed"


def test_continue_skips_the_rest_of_a_waiting_loops_body(simulate):
    @on("go")
    async def odd_days(run):
        day = 0
        while day < 4:
            day += 1
            await wait(days=1)
            if day % 2 == 0:
                continue
            await note(day)
        await note("end")

    sim = simulate(odd_days)
    sim.emit("go", user="u1")
    sim.advance(days=10)

    assert done(sim) == [1, 3, "end"]


@pytest.mark.parametrize(("stop_at", "expected"), [(99, ["tick", "tick", "else"]),
                                                   (2, ["tick", "broke"]),
                                                   (1, ["broke"])])
def test_while_else_runs_only_when_the_loop_ends_without_break(simulate, stop_at, expected):
    @on("go")
    async def ticker(run):
        n = 0
        while n < 2:
            await wait(hours=1)
            n += 1
            if n == run.event["stop_at"]:
                await note("broke")
                break
            await note("tick")
        else:
            await note("else")

    sim = simulate(ticker)
    sim.emit("go", user="u1", stop_at=stop_at)
    sim.advance(hours=5)

    assert done(sim) == expected
    assert sim.run(user="u1").status == "completed"


def test_an_awaited_branch_can_be_a_while_condition(simulate):
    @on("go")
    async def reminders(run):
        count = 0
        while await branch("more reminders?", count < 2):
            await note(count)
            count += 1

    sim = simulate(reminders)
    sim.emit("go", user="u1")

    assert done(sim) == [0, 1]
    decisions = [h.detail["value"] for h in sim.run(user="u1").history if h.kind == "branch"]
    assert decisions == [True, True, False]


# -- for ----------------------------------------------------------------------------------


def test_for_over_a_list_runs_the_awaits_once_per_item(simulate):
    @on("user.signed_up")
    async def enrol_all(run):
        for course in run.event["courses"]:
            await note(course)
            await wait(days=1)
        await note("all done")

    sim = simulate(enrol_all)
    sim.emit("user.signed_up", user="u1", courses=["py", "sql", "git"])
    sim.advance(days=1, hours=1)

    # the loop's list and position survive the wait
    assert done(sim) == ["py", "sql"]
    assert sim.run(user="u1").locals["course"] == "sql"

    sim.advance(days=3)

    assert [(a.args["value"], a.at) for a in sim.actions(user="u1")] == [
        ("py", T0), ("sql", T0.add(days=1)), ("git", T0.add(days=2)),
        ("all done", T0.add(days=3))]


def test_for_over_range_with_an_await(simulate):
    @on("go")
    async def countdown(run):
        for i in range(3):
            await wait(hours=1)
            await note(3 - i)

    sim = simulate(countdown)
    sim.emit("go", user="u1")
    sim.advance(hours=5)

    assert done(sim) == [3, 2, 1]


def test_nested_for_loops_with_awaits(simulate):
    @on("go")
    async def schedule(run):
        for week in range(2):
            for day in ["mon", "thu"]:
                await note(f"w{week}-{day}")
                await wait(days=1)
            for day in ["sat"]:  # a second loop on the same variable name
                await note(f"w{week}-{day}")

    sim = simulate(schedule)
    sim.emit("go", user="u1")
    sim.advance(days=10)

    assert done(sim) == ["w0-mon", "w0-thu", "w0-sat", "w1-mon", "w1-thu", "w1-sat"]
    assert sim.run(user="u1").status == "completed"


def test_break_and_continue_in_a_for_loop_with_awaits(simulate):
    @on("go")
    async def picky(run):
        for item in ["a", "skip", "b", "stop", "c"]:
            await wait(hours=1)
            if item == "skip":
                continue
            if item == "stop":
                break
            await note(item)
        else:
            await note("never: the loop broke")
        await note(f"last={item}")

    sim = simulate(picky)
    sim.emit("go", user="u1")
    sim.advance(days=1)

    assert done(sim) == ["a", "b", "last=stop"]


def test_for_else_runs_when_the_loop_finishes(simulate):
    @on("go")
    async def all_items(run):
        for item in ["a", "b"]:
            await note(item)
        else:
            await note("else")

    sim = simulate(all_items)
    sim.emit("go", user="u1")

    assert done(sim) == ["a", "b", "else"]


def test_a_loop_without_awaits_that_breaks_stays_plain_python(simulate):
    @on("go")
    async def first_big(run):
        found = None
        for n in [1, 5, 20, 30]:
            if n > 10:
                found = n
                break
        await note(found)

    sim = simulate(first_big)
    sim.emit("go", user="u1")

    assert done(sim) == [20]


# -- return -------------------------------------------------------------------------------


def test_a_bare_return_ends_the_run_before_the_rest_of_the_flow(simulate):
    @on("user.enrolled")
    async def only_pro(run):
        await send_email("welcome")
        if run.event["plan"] != "pro":
            return
        await wait(days=1)
        await send_email("pro-tips")

    sim = simulate(only_pro)
    sim.emit("user.enrolled", user="u1", course="c", plan="free")
    sim.emit("user.enrolled", user="u2", course="c", plan="pro")
    sim.advance(days=2)

    assert done(sim, "u1") == ["welcome"]
    assert sim.run(user="u1").status == "completed"
    assert done(sim, "u2") == ["welcome", "pro-tips"]


def test_return_with_a_value_from_inside_a_loop_completes_the_run(simulate):
    @on("go")
    async def find_first(run):
        for day in range(10):
            await wait(days=1)
            if day == 2:
                return {"stopped_on": day}
            await note(day)
        await note("never")

    sim = simulate(find_first)
    sim.emit("go", user="u1")
    sim.advance(days=20)

    run = sim.run(user="u1")
    assert done(sim) == [0, 1]
    assert run.status == "completed"
    assert run.history[-1].kind == "completed"
    assert run.history[-1].detail == {"value": {"stopped_on": 2}}


def test_return_await_returns_the_actions_result(simulate):
    @on("go")
    async def tagged(run):
        return await add_tag("vip")

    sim = simulate(tagged)
    sim.emit("go", user="u1")

    assert sim.run(user="u1").history[-1].detail == {"value": "VIP"}


# -- locals across waits ------------------------------------------------------------------


def test_locals_assigned_before_a_wait_are_there_after_it(simulate):
    @on("user.enrolled")
    async def keeps(run):
        due = run.now.add(days=10)
        grace = pendulum.duration(days=2)
        start_day = run.now.date()
        courses = ["py", "sql"]
        profile = {"plan": "pro", "seats": 3, "tags": ["a"]}
        count, ratio, flag, nothing = 7, 0.5, True, None
        await wait(days=1)
        await note([due - grace, start_day, [*courses, "git"], profile["plan"],
                    count + 1, ratio * 2, flag, nothing])

    sim = simulate(keeps)
    sim.emit("user.enrolled", user="u1", course="c")

    # while it waits, the saved locals keep their types
    saved = sim.run(user="u1").locals
    assert saved["due"] == T0.add(days=10)
    assert isinstance(saved["due"], dt.datetime)
    assert saved["grace"] == dt.timedelta(days=2)
    assert isinstance(saved["grace"], dt.timedelta)
    assert saved["start_day"] == dt.date(2026, 3, 2)
    assert isinstance(saved["start_day"], dt.date)
    assert saved["courses"] == ["py", "sql"]
    assert saved["profile"] == {"plan": "pro", "seats": 3, "tags": ["a"]}
    assert (saved["count"], saved["ratio"], saved["flag"], saved["nothing"]) == (
        7, 0.5, True, None)

    sim.advance(days=1)

    # after it, date arithmetic and list/dict access still work
    assert sim.actions(user="u1")[0].args["value"] == [
        {"$datetime": T0.add(days=8).isoformat(), "tz": "UTC"}, {"$date": "2026-03-02"},
        ["py", "sql", "git"], "pro", 8, 1.0, True, None]
    assert sim.run(user="u1").status == "completed"


def test_a_naive_datetime_local_keeps_its_meaning_across_a_wait(simulate):
    @on("go")
    async def office_hours(run):
        meeting = dt.datetime(2026, 3, 5, 9, 0)  # 9am wherever the user is
        await wait(days=1)
        await wait(until=meeting)
        await note("meeting")

    sim = simulate(office_hours, users=())
    sim.add_user("u1", timezone="America/New_York")
    sim.emit("go", user="u1")
    sim.advance(days=5)

    # 9:00 in New York (EST) is 14:00 UTC
    assert [a.at for a in sim.actions(user="u1")] == [pendulum.datetime(2026, 3, 5, 14, 0)]


def test_an_aware_datetime_local_keeps_its_timezone_across_a_wait(simulate):
    @on("go")
    async def paris(run):
        local = run.now.in_timezone("Europe/Paris")
        await wait(days=1)
        await note(local.timezone_name)

    sim = simulate(paris)
    sim.emit("go", user="u1")
    sim.advance(days=2)

    assert done(sim) == ["Europe/Paris"]


def test_a_set_local_is_either_kept_or_parks_the_run(simulate):
    @on("go")
    async def collects(run):
        seen = {"a"}
        await wait(days=1)
        seen.add("b")
        await note(sorted(seen))

    sim = simulate(collects)
    sim.emit("go", user="u1")
    sim.advance(days=2)

    run = sim.run(user="u1")
    assert run.status in ("completed", "parked"), run.reason
    if run.status == "completed":
        assert done(sim) == [["a", "b"]]
    else:
        assert "'seen'" in run.reason


def test_a_local_that_is_not_json_at_a_wait_parks_the_run_naming_it(simulate):
    @on("go")
    async def holds_a_lock(run):
        await note("before")
        guard = threading.Lock()
        await wait(days=1)
        await note(str(guard))

    sim = simulate(holds_a_lock)
    sim.emit("go", user="u1")
    sim.advance(days=3)

    run = sim.run(user="u1")
    assert run.status == "parked"
    assert "'guard'" in run.reason and "'wait:1d'" in run.reason
    assert "lock" in run.reason.lower()
    assert done(sim) == ["before"]


def test_deleting_a_non_json_local_before_the_wait_lets_the_run_wait(simulate):
    @on("go")
    async def cleans_up(run):
        guard = threading.Lock()
        name = type(guard).__name__
        del guard
        await wait(days=1)
        await note(name)

    sim = simulate(cleans_up)
    sim.emit("go", user="u1")
    sim.advance(days=2)

    assert sim.run(user="u1").status == "completed"
    assert done(sim) == ["lock"]


# -- wait_for -----------------------------------------------------------------------------


def test_wait_for_gives_the_event_payload_when_it_comes(simulate):
    @on("user.enrolled")
    async def greet_login(run):
        login = await wait_for("user.signed_in", timeout={"days": 3})
        await note(login)

    sim = simulate(greet_login)
    sim.emit("user.enrolled", user="u1", course="c")
    run = sim.run(user="u1")
    assert (run.status, run.waits_for, run.wakes_at) == (
        "waiting", "user.signed_in", T0.add(days=3))

    sim.advance(days=1)
    sim.emit("user.signed_in", user="u2", device="web")  # someone else's sign-in
    assert sim.run(user="u1").status == "waiting"
    sim.emit("user.signed_in", user="u1", device="ios")

    [record] = sim.actions(user="u1")
    assert record.args["value"] == {"event": "user.signed_in", "user": "u1", "device": "ios"}
    assert record.at == T0.add(days=1)
    assert sim.run(user="u1").status == "completed"


def test_wait_for_gives_none_when_it_times_out(simulate):
    @on("user.enrolled")
    async def greet_login(run):
        login = await wait_for("user.signed_in", timeout={"days": 3})
        if login is None:
            await note("timed out")

    sim = simulate(greet_login)
    sim.emit("user.enrolled", user="u1", course="c")
    sim.advance(days=2, hours=23)
    assert done(sim) == []

    sim.advance(hours=1)

    assert [(a.args["value"], a.at) for a in sim.actions(user="u1")] == [
        ("timed out", T0.add(days=3))]
    assert sim.run(user="u1").locals == {"login": None}


def test_wait_for_where_ignores_events_that_do_not_match(simulate):
    @on("user.enrolled")
    async def course_done(run):
        course = run.event["course"]
        finished = await wait_for("course.completed", where=lambda e: e["course"] == course)
        await note(finished["course"])

    sim = simulate(course_done)
    sim.emit("user.enrolled", user="u1", course="py")
    sim.emit("course.completed", user="u1", course="sql")

    assert sim.run(user="u1").status == "waiting"
    assert done(sim) == []

    sim.advance(days=30)
    sim.emit("course.completed", user="u1", course="py")

    assert done(sim) == ["py"]
    assert sim.run(user="u1").status == "completed"


def test_an_awaited_wait_for_can_be_an_if_test(simulate):
    @on("go")
    async def quick(run):
        if await wait_for("user.signed_in", timeout={"hours": 1}):
            await note("signed in")
        else:
            await note("no show")

    sim = simulate(quick)
    sim.emit("go", user="u1")
    sim.emit("go", user="u2")
    sim.emit("user.signed_in", user="u1")
    sim.advance(hours=2)

    assert done(sim, "u1") == ["signed in"]
    assert done(sim, "u2") == ["no show"]


# -- wait(until=...) and pinned ids --------------------------------------------------------


def test_wait_until_a_future_moment_resumes_at_that_moment(simulate):
    @on("go")
    async def deadline(run):
        await wait(until=run.now.add(days=3, hours=4))
        await note("due")

    sim = simulate(deadline)
    sim.emit("go", user="u1")
    sim.advance(days=3)
    assert done(sim) == []

    sim.advance(days=10)

    assert [a.at for a in sim.actions(user="u1")] == [T0.add(days=3, hours=4)]


def test_wait_until_a_moment_already_past_continues_at_once(simulate):
    @on("go")
    async def late(run):
        await wait(until=run.now.subtract(days=1))
        await note("right away")

    sim = simulate(late)
    sim.emit("go", user="u1")

    run = sim.run(user="u1")
    assert run.status == "completed"
    assert [a.at for a in sim.actions(user="u1")] == [T0]
    assert [h.step for h in run.history if h.kind == "wait_skipped"] == ["wait:until"]
    assert "waiting" not in run.kinds()


@pytest.mark.parametrize("moment", [
    dt.datetime(2026, 3, 5, 9, 0),
    dt.date(2026, 3, 5),
    pytest.param("2026-03-05T09:00:00", id="naive string"),
    pytest.param(pendulum.naive(2026, 3, 5, 9), id="pendulum naive"),
], ids=["naive datetime", "date", "naive string", "pendulum naive"])
def test_a_naive_until_is_read_in_the_users_timezone(simulate, moment):
    @on("go")
    async def local_morning(run):
        await wait(until=moment)
        await note("morning")

    sim = simulate(local_morning, users=())
    sim.add_user("u1", timezone="America/New_York")
    sim.add_user("u2", timezone="Asia/Tokyo")
    sim.emit("go", user="u1")
    sim.emit("go", user="u2")
    sim.advance(days=5)

    # New York is UTC-5 in early March (EST), Tokyo UTC+9
    hour = 0 if type(moment) is dt.date else 9
    assert [a.at for a in sim.actions(user="u1")] == [
        pendulum.datetime(2026, 3, 5, hour, tz="America/New_York")]
    assert [a.at for a in sim.actions(user="u2")] == [
        pendulum.datetime(2026, 3, 5, hour, tz="Asia/Tokyo")]


def test_an_aware_until_is_kept_as_given(simulate):
    @on("go")
    async def noon_in_paris(run):
        await wait(until=pendulum.datetime(2026, 3, 5, 12, tz="Europe/Paris"))
        await note("noon")

    sim = simulate(noon_in_paris, users=())
    sim.add_user("u1", timezone="America/New_York")
    sim.emit("go", user="u1")
    sim.advance(days=5)

    assert [a.at for a in sim.actions(user="u1")] == [pendulum.datetime(2026, 3, 5, 11)]


def test_a_pinned_id_names_the_wait_step(simulate):
    @on("go")
    async def cool_off(run):
        await wait(days=2, id="cool-off")
        await note("after")

    sim = simulate(cool_off)
    sim.emit("go", user="u1")

    assert [s.id for s in cool_off.ir.steps] == ["cool-off", "note:after"]
    assert cool_off.ir.step("cool-off").call == "wait(days=2)"
    run = sim.run(user="u1")
    assert (run.step, run.wakes_at) == ("cool-off", T0.add(days=2))

    sim.advance(days=2)
    assert done(sim) == ["after"]


# -- actions ------------------------------------------------------------------------------


def test_sync_and_async_actions_both_run_and_give_their_results(simulate):
    @on("go")
    async def both(run):
        sent = await send_email("welcome")
        tag = await add_tag("new")
        await note([sent, tag])

    sim = simulate(both)
    sim.emit("go", user="u1")

    assert {a.name: (a.args, a.result) for a in sim.actions(user="u1")} == {
        "send_email": ({"template": "welcome"}, "sent welcome"),
        "add_tag": ({"tag": "new"}, "NEW"),
        "note": ({"value": ["sent welcome", "NEW"]}, ["sent welcome", "NEW"]),
    }
    assert done(sim) == ["welcome", "new", ["sent welcome", "NEW"]]


def test_an_action_with_a_run_parameter_receives_the_run_context(simulate):
    seen = []

    @action
    async def remember(label, *, run):
        seen.append((label, run.user.id, run.flow, run.event["course"], run.step, run.now))
        return label

    @on("user.enrolled")
    async def context_flow(run):
        await remember("first")
        await wait(days=1)
        await remember("second")

    sim = simulate(context_flow)
    sim.emit("user.enrolled", user="u1", course="py")
    sim.advance(days=1)

    assert seen == [
        ("first", "u1", "context_flow", "py", "remember:first", T0),
        ("second", "u1", "context_flow", "py", "remember:second", T0.add(days=1)),
    ]
    # the ledger records the arguments by name, without the run
    assert [a.args for a in sim.actions(user="u1")] == [{"label": "first"},
                                                        {"label": "second"}]


def test_idempotency_keys_are_distinct_per_visit_of_a_step_in_a_loop(simulate):
    keys = []

    @action
    def remind(n, *, run):
        keys.append(run.idempotency_key())
        return n

    @on("go")
    async def looping(run):
        for n in range(3):
            await remind(n)
            await wait(days=1)

    sim = simulate(looping)
    sim.emit("go", user="u1")
    sim.emit("go", user="u2")
    sim.advance(days=5)

    run_id = sim.run(user="u1").id
    assert [k for k in keys if k.startswith(f"{run_id}:")] == [
        f"{run_id}:remind:{visit}" for visit in (1, 2, 3)]
    assert len(keys) == len(set(keys)) == 6  # distinct per visit, and per run
    assert {a.key for a in sim.actions()} == set(keys)


def test_a_failed_action_is_retried_with_the_same_idempotency_key(simulate):
    attempts = []

    @action
    def charge(amount, *, run):
        attempts.append(run.idempotency_key())
        if len(attempts) == 1:
            raise ConnectionError("gateway down")
        return "charged"

    @on("go")
    async def pays(run):
        await charge(10)
        await note("receipt")

    sim = simulate(pays)
    sim.emit("go", user="u1")

    # the first attempt failed: the run waits at the action's step for another attempt
    run = sim.run(user="u1")
    assert (run.status, run.step) == ("waiting", "charge:10")
    assert done(sim) == []

    sim.advance(minutes=1)

    assert len(attempts) == 2
    assert attempts[0] == attempts[1] == f"{run.id}:charge:10:1"
    assert sim.run(user="u1").status == "completed"
    assert done(sim) == [10, "receipt"]
    assert [a.key for a in sim.actions(user="u1", name="charge")] == [attempts[0]]


def test_an_action_that_keeps_raising_parks_the_run_with_the_reason(simulate):
    @action
    def flaky(x):
        raise ValueError(f"no template {x!r}")

    @on("go")
    async def breaks(run):
        await send_email("welcome")
        await flaky("promo")
        await send_email("never sent")

    sim = simulate(breaks)
    sim.emit("go", user="u1")
    sim.advance(days=1)

    run = sim.run(user="u1")
    assert run.status == "parked"
    assert run.step == "flaky:promo"
    assert "'flaky'" in run.reason and "'flaky:promo'" in run.reason
    assert "ValueError: no template 'promo'" in run.reason
    assert run.kinds().count("action_failed") >= 2
    assert [a.args for a in sim.actions(user="u1")] == [{"template": "welcome"}]


def test_retrying_a_parked_run_runs_the_action_again_with_the_same_key(simulate):
    keys = []
    broken = [True]

    @action
    def sync_crm(*, run):
        keys.append(run.idempotency_key())
        if broken[0]:
            raise ConnectionError("crm down")

    @on("go")
    async def syncs(run):
        await sync_crm()
        await note("synced")

    sim = simulate(syncs)
    sim.emit("go", user="u1")
    sim.advance(days=1)
    parked = sim.run(user="u1")
    assert parked.status == "parked"

    broken[0] = False
    sim.engine.retry(parked.id)

    assert set(keys) == {f"{parked.id}:sync_crm:1"}
    assert sim.run(user="u1").status == "completed"
    assert done(sim) == ["sync_crm", "synced"]


def test_author_code_that_raises_fails_the_run_naming_file_and_line(simulate):
    @on("go")
    async def divides(run):
        await send_email("welcome")
        await wait(hours=1)
        share = 1 / run.event["count"]
        await note(share)

    sim = simulate(divides)
    sim.emit("go", user="u1", count=0)
    sim.emit("go", user="u2", count=4)
    sim.advance(hours=2)

    run = sim.run(user="u1")
    assert run.status == "failed"
    assert run.reason.startswith("ZeroDivisionError: division by zero")
    assert f"{__file__}:{line_in(divides, 'share = 1 /')}" in run.reason
    assert done(sim, "u1") == ["welcome"]
    assert done(sim, "u2") == ["welcome", 0.25]  # the other run is not affected


# -- exits --------------------------------------------------------------------------------


def test_a_state_exit_is_checked_before_every_step(simulate):
    @on("user.enrolled")
    @exit_when(lambda run: run.user.fields.get("unsubscribed", False))
    async def drip(run):
        await send_email("welcome")
        await wait(days=2)
        await send_email("reminder")

    sim = simulate(drip)
    sim.emit("user.enrolled", user="u1", course="c")
    sim.emit("user.enrolled", user="u2", course="c")
    sim.advance(days=1)

    # when u1 unsubscribes while the run waits
    sim.add_user("u1", fields={"unsubscribed": True})
    sim.advance(days=2)

    run = sim.run(user="u1")
    assert run.status == "exited"
    assert "'send_email:reminder'" in run.reason
    assert done(sim, "u1") == ["welcome"]
    assert done(sim, "u2") == ["welcome", "reminder"]


def test_a_state_exit_that_holds_at_the_start_runs_no_step(simulate):
    @on("go")
    @exit_when(lambda run: run.event.get("test_user", False))
    async def real_users_only(run):
        await send_email("welcome")

    sim = simulate(real_users_only)
    sim.emit("go", user="u1", test_user=True)
    sim.emit("go", user="u2")

    assert sim.run(user="u1").status == "exited"
    assert done(sim, "u1") == []
    assert done(sim, "u2") == ["welcome"]


def test_an_exit_event_cancels_a_waiting_run_and_no_later_action_runs(simulate):
    @on("user.enrolled")
    @exit_when("course.completed", same=["course"])
    async def drip(run):
        await send_email("welcome")
        await wait(days=2)
        await send_email("reminder")
        await wait_for("user.signed_in")
        await send_email("thanks")

    sim = simulate(drip)
    sim.emit("user.enrolled", user="u1", course="py")
    sim.advance(days=1)

    sim.emit("course.completed", user="u1", course="py")
    sim.advance(days=10)
    sim.emit("user.signed_in", user="u1")

    run = sim.run(user="u1")
    assert run.status == "exited"
    assert "course.completed" in run.reason
    assert done(sim) == ["welcome"]
    assert (run.wakes_at, run.waits_for) == (None, None)


def test_an_exit_event_about_another_course_does_not_cancel(simulate):
    @on("user.enrolled")
    @exit_when("course.completed", same=["course"])
    async def drip(run):
        await send_email("welcome")
        await wait(days=2)
        await send_email("reminder")

    sim = simulate(drip)
    sim.emit("user.enrolled", user="u1", course="py")
    sim.emit("course.completed", user="u1", course="sql")
    sim.emit("course.completed", user="u2", course="py")
    sim.advance(days=3)

    assert sim.run(user="u1").status == "completed"
    assert done(sim) == ["welcome", "reminder"]


def test_an_exit_event_cancels_a_run_waiting_for_an_event(simulate):
    @on("go")
    @exit_when("user.deleted")
    async def waits(run):
        await wait_for("user.signed_in")
        await send_email("hi")

    sim = simulate(waits)
    sim.emit("go", user="u1")
    sim.emit("user.deleted", user="u1")
    sim.emit("user.signed_in", user="u1")

    assert sim.run(user="u1").status == "exited"
    assert sim.actions() == []


# -- re-entry and duplicate events ---------------------------------------------------------


def test_by_default_a_user_reenters_only_after_the_run_ended(simulate):
    @on("user.enrolled")
    async def drip(run):
        await send_email("welcome")
        await wait(days=1)

    assert drip.reentry == "after_exit"
    sim = simulate(drip)
    sim.emit("user.enrolled", user="u1", course="c")
    sim.emit("user.enrolled", user="u1", course="c")
    assert len(sim.runs(user="u1")) == 1

    sim.advance(days=2)
    sim.emit("user.enrolled", user="u1", course="c")

    assert [r.status for r in sim.runs(user="u1")] == ["completed", "waiting"]


def test_reentry_never_starts_a_user_only_once(simulate):
    @automation(reentry="never")
    @on("user.enrolled")
    async def once(run):
        await send_email("welcome")

    sim = simulate(once)
    sim.emit("user.enrolled", user="u1", course="c")
    sim.advance(days=1)
    sim.emit("user.enrolled", user="u1", course="c")

    assert len(sim.runs(user="u1")) == 1
    assert done(sim) == ["welcome"]


def test_reentry_always_runs_side_by_side(simulate):
    @automation(reentry="always")
    @on("user.enrolled")
    async def every_time(run):
        await send_email(run.event["course"])
        await wait(days=1)

    sim = simulate(every_time)
    sim.emit("user.enrolled", user="u1", course="py")
    sim.emit("user.enrolled", user="u1", course="sql")

    assert [r.status for r in sim.runs(user="u1")] == ["waiting", "waiting"]
    assert sorted(done(sim)) == ["py", "sql"]


def test_an_event_with_a_seen_idempotency_key_starts_nothing(simulate):
    @automation(reentry="always")
    @on("user.enrolled")
    async def every_time(run):
        await send_email("welcome")

    sim = simulate(every_time)
    first = sim.emit("user.enrolled", user="u1", course="c", idempotency_key="enrol-42")
    again = sim.emit("user.enrolled", user="u1", course="c", idempotency_key="enrol-42")

    assert (first.duplicate, again.duplicate) == (False, True)
    assert len(sim.runs(user="u1")) == 1
    assert done(sim) == ["welcome"]


def test_simulation_lists_actions_in_the_order_they_ran(simulate):
    @on("go")
    async def burst(run):
        await send_email("welcome")
        for n in range(11):
            await note(n)

    sim = simulate(burst)
    sim.emit("go", user="u1")

    assert [next(iter(a.args.values())) for a in sim.actions(user="u1")] == [
        "welcome", *range(11)]


# =========================================================================================
# Compile errors
# =========================================================================================


AWAIT_IN_UNRESUMABLE_PLACES = {
    "try body": ("""
        try:
            await wait(days=1)
        except ValueError:
            pass
        """, "await wait(days=1)", "try", "move the await out of the try"),
    "except handler": ("""
        try:
            n = int(run.event["n"])
        except ValueError:
            await send_email("bad number")
        """, "await send_email", "try", "move the await out of the try"),
    "finally": ("""
        try:
            n = 1
        finally:
            await wait(hours=n)
        """, "await wait(hours=n)", "try", "@action"),
    "with block": ("""
        with open(run.event["path"]) as handle:
            await send_email(handle.read())
        """, "await send_email", "with", "move the await out of the with block"),
    "list comprehension": ("""
        sent = [await send_email(t) for t in ["a", "b"]]
        """, "await send_email", "comprehension", "for loop"),
    "dict comprehension": ("""
        sent = {t: await send_email(t) for t in ["a", "b"]}
        """, "await send_email", "comprehension", "for loop"),
    "generator expression": ("""
        sent = any(await send_email(t) for t in ["a", "b"])
        """, "await send_email", "comprehension", "for loop"),
    "nested function": ("""
        async def helper():
            await wait(days=1)
        n = 1
        """, "await wait(days=1)", "nested function", "@action"),
    "await in a with nested in a for": ("""
        for name in ["a"]:
            with open(name) as handle:
                await send_email(handle.read())
        """, "await send_email", "with", "with block"),
}


@pytest.mark.parametrize("case", list(AWAIT_IN_UNRESUMABLE_PLACES))
def test_an_await_where_it_cannot_be_resumed_is_a_located_compile_error(tmp_path, case):
    body, at, place, hint = AWAIT_IN_UNRESUMABLE_PLACES[case]

    error = compile_error(tmp_path, flow_with(body), at=at)

    assert "cannot be resumed" in error.message
    assert place in error.message
    assert hint in error.hint


@pytest.mark.parametrize(("body", "at", "kind", "advice"), [
    ("""
     async for item in run.event["stream"]:
         n = item
     """, "async for item", "async for", "for over a list"),
    ("""
     async with run.event["lock"]:
         n = 1
     """, "async with run", "async with", "move the `async with`"),
], ids=["async for", "async with"])
def test_async_for_and_async_with_are_compile_errors_each_with_its_own_hint(
        tmp_path, body, at, kind, advice):
    error = compile_error(tmp_path, flow_with(body), at=at)

    assert f"`{kind}` cannot be resumed" in error.message
    assert "@action" in error.hint
    assert advice in error.hint


def test_an_await_inside_match_is_a_compile_error(tmp_path):
    error = compile_error(tmp_path, flow_with("""
        match run.event["plan"]:
            case "pro":
                await send_email("pro")
        """), at="match run.event")

    assert "match" in error.message
    assert "if/elif" in error.hint


@pytest.mark.parametrize(("body", "at"), [
    (flow_with("""
        await send_email("a")
        time.sleep(60)
        """), "time.sleep(60)"),
    (flow_with("await asyncio.sleep(60)"), "asyncio.sleep(60)"),
    (flow_with("asyncio.sleep(60)"), "asyncio.sleep(60)"),
    ("from time import sleep as nap\n\n\n" + flow_with("""
        delay = 60
        nap(delay)
        """), "nap(delay)"),
    ("import asyncio as aio\n\n\n" + flow_with("""
        if run.event:
            await aio.sleep(1)
        """), "aio.sleep(1)"),
], ids=["time.sleep", "await asyncio.sleep", "asyncio.sleep not awaited",
        "sleep imported under another name", "asyncio under another name"])
def test_sleeping_is_a_compile_error_pointing_at_durable_waits(tmp_path, body, at):
    error = compile_error(tmp_path, body, at=at)

    assert "blocks a worker" in error.message
    assert "await wait(" in error.hint


def test_awaiting_a_plain_async_function_is_a_compile_error(tmp_path):
    error = compile_error(tmp_path, flow_with("profile = await fetch_profile()"),
                          at="await fetch_profile()")

    assert "fetch_profile is not a flowkit primitive or action" in error.message
    assert "@action" in error.hint


def test_awaiting_something_that_is_not_a_call_is_a_compile_error(tmp_path):
    error = compile_error(tmp_path, flow_with('await run.event["task"]'), at="await run.event")

    assert "is not a call of a flowkit primitive or action" in error.message
    assert "@action" in error.hint


def test_awaiting_a_call_of_an_unnamed_callable_is_a_compile_error(tmp_path):
    error = compile_error(tmp_path, 'HANDLERS = {"welcome": send_email}\n\n\n' + flow_with(
        'await HANDLERS["welcome"]("hi")'), at="await HANDLERS")

    assert "cannot tell what" in error.message
    assert "by its name" in error.hint


def test_awaiting_an_undefined_name_fails_when_the_flow_is_loaded(tmp_path):
    error = load_error(tmp_path, flow_with('await notify_slack("hi")'), at="await notify_slack")

    assert "notify_slack is not defined" in error.message
    assert "import the action" in error.hint


def test_awaiting_a_plain_function_defined_after_the_flow_fails_when_loaded(tmp_path):
    error = load_error(tmp_path, flow_with('await helper("hi")') + """

def helper(text):
    return text
""", at="await helper")

    assert "helper is not a flowkit primitive or action" in error.message
    assert "@action" in error.hint


def test_an_action_defined_after_the_flow_is_fine(tmp_path, simulate):
    module = import_source(tmp_path, flow_with('await later("hi")') + """

@action
def later(text):
    return text
""")

    sim = simulate(module.flow)
    sim.emit("go", user="u1")

    assert [a.args for a in sim.actions(user="u1")] == [{"text": "hi"}]


@pytest.mark.parametrize(("statement", "at"), [
    ("total = 1 + await send_email('a')", "await send_email"),
    ("print(await send_email('a'))", "await send_email"),
    ("count = 0\ncount += await send_email('a')", "await send_email"),
    ("for item in await send_email('a'):\n    pass", "await send_email"),
    ("await send_email(await wait_for('template.chosen'))", "await wait_for"),
    ("seen = {}\nseen[await wait_for('key')] = 1", "await wait_for"),
    ("if await branch('ok?', True) and run.event:\n    pass", "await branch"),
    ("while not (await branch('ok?', True)) or run.event:\n    pass", "await branch"),
    ("return 1 + await send_email('a')", "await send_email"),
    ("assert await send_email('a')", "await send_email"),
    ("x = [await send_email('a')]", "await send_email"),
], ids=["arithmetic", "argument", "augmented assignment", "for iterable",
        "awaited call's argument", "assignment target", "and in if test",
        "or in while test", "return expression", "assert", "list display"])
def test_an_await_that_does_not_stand_alone_is_a_compile_error(tmp_path, statement, at):
    error = compile_error(tmp_path, flow_with(statement), at=at)

    assert "must stand alone" in error.message
    assert "x = await" in error.hint


@pytest.mark.parametrize(("statement", "name"), [
    ("send_email('welcome')", "send_email"),
    ("wait(days=2)", "wait"),
    ("wait_for('user.signed_in')", "wait_for"),
    ("branch('ok?', True)", "branch"),
])
def test_a_primitive_or_action_called_without_await_is_a_compile_error(
        tmp_path, statement, name):
    error = compile_error(tmp_path, flow_with(f"n = 1\n{statement}"), at=statement)

    assert f"`{name}(...)` is not awaited, so it does nothing" in error.message
    assert f"await {name}(...)" in error.hint


@pytest.mark.parametrize(("statement", "at"), [
    ("if branch('pro?', run.event['plan'] == 'pro'):\n    n = 1", "branch('pro?'"),
    ("receipt = send_email('welcome')", "send_email('welcome')"),
    ("while not wait_for('user.signed_in'):\n    n = 1", "wait_for('user.signed_in')"),
    ("print(send_email('welcome'))", "send_email('welcome')"),
    ("def later():\n    return wait(days=1)", "wait(days=1)"),
    ("pick = lambda: branch('pro?', True)", "branch('pro?', True)"),
], ids=["if test", "assignment", "while test", "argument", "nested function", "lambda"])
def test_a_primitive_or_action_used_as_a_value_without_await_is_a_compile_error(
        tmp_path, statement, at):
    error = compile_error(tmp_path, flow_with(statement), at=at)

    assert "is not awaited" in error.message


def test_an_action_defined_after_the_flow_and_called_without_await_fails_when_loaded(
        tmp_path):
    error = load_error(tmp_path, flow_with("""
        receipt = later("hi")
        await wait(days=1)
        """) + """

@action
def later(text):
    return text
""", at='later("hi")')

    assert "`later(...)` is not awaited, so it does nothing" in error.message


@pytest.mark.parametrize(("statements", "at"), [
    ("label = 'pro?'\nawait branch(label, True)", "branch(label, True)"),
    ("await branch(f\"plan {run.event['plan']}?\", True)", "branch(f"),
    ("await branch('', True)", "branch('', True)"),
    ("await branch(run.event['label'], True)", "branch(run"),
], ids=["variable", "f-string", "empty", "expression"])
def test_a_branch_label_must_be_a_string_literal(tmp_path, statements, at):
    error = compile_error(tmp_path, flow_with(statements), at=at)

    assert "a branch label must be a string literal" in error.message
    assert 'await branch("' in error.hint


def test_two_branches_with_one_label_are_a_compile_error(tmp_path):
    error = compile_error(tmp_path, flow_with("""
        if await branch("active?", run.event["a"]):
            await wait(days=1)
        if await branch("active?", run.event["b"]):
            await wait(days=2)
        """), at='branch("active?", run.event["b"])')

    assert "two branches are labelled 'active?'" in error.message
    assert "unique" in error.hint


def test_a_branch_label_equal_to_another_steps_id_is_a_compile_error(tmp_path):
    error = compile_error(tmp_path, flow_with("""
        await send_email("welcome")
        if await branch("send_email:welcome", True):
            await wait(days=1)
        """), at='branch("send_email:welcome", True)')

    assert "labelled 'send_email:welcome'" in error.message
    assert "two branches" not in error.message
    assert "the id 'send_email:welcome' is already used by step `send_email('welcome')`" \
        in error.message


def test_a_step_whose_id_is_an_earlier_branch_label_is_a_compile_error(tmp_path):
    error = compile_error(tmp_path, flow_with("""
        if await branch("wait:2d", True):
            await send_email("welcome")
        await wait(days=2)
        """), at="wait(days=2)")

    assert "the id 'wait:2d' is already used by the branch labelled 'wait:2d'" in error.message
    assert "two branches" not in error.message


def test_two_steps_pinned_to_one_id_are_a_compile_error(tmp_path):
    error = compile_error(tmp_path, flow_with("""
        await wait(days=1, id="cool-off")
        await send_email("welcome")
        await wait(days=2, id="cool-off")
        """), at='wait(days=2, id="cool-off")')

    assert "two steps have the id 'cool-off'" in error.message
    assert "unique" in error.hint


def test_a_pinned_id_equal_to_an_automatic_id_is_a_compile_error(tmp_path):
    error = compile_error(tmp_path, flow_with("""
        await send_email("welcome")
        await wait(days=1, id="send_email:welcome")
        """), at='wait(days=1, id="send_email:welcome")')

    assert "two steps have the id 'send_email:welcome'" in error.message


def test_an_automatic_id_equal_to_an_earlier_pinned_id_is_a_compile_error(tmp_path):
    error = compile_error(tmp_path, flow_with("""
        await wait(days=1, id="send_email:welcome")
        await send_email("welcome")
        """), at='send_email("welcome")\n')

    assert "two steps have the id 'send_email:welcome'" in error.message
    assert 'id="..."' in error.hint


@pytest.mark.parametrize("pinned", ["STEP", "''", "f'x{1}'"])
def test_a_pinned_id_must_be_a_non_empty_string_literal(tmp_path, pinned):
    error = compile_error(tmp_path, 'STEP = "cool-off"\n\n\n' + flow_with(
        f"await wait(days=1, id={pinned})"), at=f"{pinned})")

    assert "non-empty string literal" in error.message


@pytest.mark.parametrize("call", [
    "wait(days=-1)", "wait()", "wait(days=0)", "wait(0, 0)", "wait(hours=1, minutes=-60)",
    "wait(seconds=-0.5, id='x')",
])
def test_a_wait_of_a_literal_duration_that_is_not_positive_is_a_compile_error(tmp_path, call):
    error = compile_error(tmp_path, flow_with(f"await {call}"), at=call)

    assert "a wait needs a positive duration" in error.message


@pytest.mark.parametrize("call", [
    "wait(days=1, hours=-2)", "wait(days=run.event['days'])", "wait(until=run.now)",
])
def test_a_wait_whose_duration_is_positive_or_computed_compiles(tmp_path, call):
    ir = flow_ir(tmp_path, flow_with(f"await {call}"))

    assert [s.kind for s in ir.steps] == ["wait"]


def test_global_in_a_flow_is_a_compile_error(tmp_path):
    error = compile_error(tmp_path, "COUNTER = 0\n\n\n" + flow_with("""
        global COUNTER
        COUNTER += 1
        await wait(days=1)
        """), at="global COUNTER")

    assert "`global` in a flow cannot be resumed" in error.message
    assert "local variables" in error.hint


def test_nonlocal_in_a_nested_flow_is_a_compile_error_at_its_indented_column(tmp_path):
    error = compile_error(tmp_path, """
        def make():
            sent = 0

            @on("go")
            async def flow(run):
                nonlocal sent
                sent += 1
                await wait(days=1)

            return flow


        flow = make()
        """, at="nonlocal sent")

    assert error.column == 8
    assert "`nonlocal` in a flow cannot be resumed" in error.message
    assert "local variables" in error.hint


def test_an_await_in_a_try_inside_an_indented_flow_is_located_at_its_real_column(tmp_path):
    error = compile_error(tmp_path, """
        class Flows:
            @on("go")
            async def flow(run):
                try:
                    await wait(days=1)
                finally:
                    pass
        """, at="await wait(days=1)")

    assert error.column == 12


def test_yield_in_a_flow_is_a_compile_error(tmp_path):
    error = compile_error(tmp_path, flow_with("""
        await send_email("a")
        yield 1
        """), at="yield 1")

    assert "cannot yield" in error.message


def test_a_helper_function_in_a_flow_may_yield_and_sleep(simulate):
    @on("go")
    async def uses_helpers(run):
        await wait(hours=1)

        def countdown(n):  # defined after the wait: a function is not saved across one
            while n:
                time.sleep(0)
                yield n
                n -= 1

        await note(list(countdown(3)))

    sim = simulate(uses_helpers)
    sim.emit("go", user="u1")
    sim.advance(hours=2)

    assert done(sim) == [[3, 2, 1]]


def test_a_helper_parameter_named_like_a_primitive_is_not_taken_for_it(simulate):
    @on("go")
    async def picks(run):
        await wait(hours=1)

        def call_twice(wait):
            return [wait(), wait()]

        await note(call_twice(lambda: 1))

    sim = simulate(picks)
    sim.emit("go", user="u1")
    sim.advance(hours=2)

    assert done(sim) == [[1, 1]]


def test_global_in_a_helper_function_of_a_flow_is_a_compile_error(tmp_path):
    # The helper runs against one resume's copy of the module's names, so the module's
    # variable would silently stay unchanged.
    error = compile_error(tmp_path, "COUNTER = 0\n\n\n" + flow_with("""
        def bump():
            global COUNTER
            COUNTER += 1
        bump()
        await wait(days=1)
        """), at="global COUNTER")

    assert "cannot change the module's variable" in error.message


@pytest.mark.parametrize("signature", [
    "flow(run, user)", "flow(*runs)", "flow(run, **options)", "flow(run, *, user)",
    "flow(run, user=None)", "flow(run, /, user)",
])
def test_a_flow_takes_at_most_one_parameter(tmp_path, signature):
    error = compile_error(tmp_path, f"""
        @on("go")
        async def {signature}:
            await wait(days=1)
        """, at=f"async def {signature}")

    assert error.column == 0
    assert "a flow takes one parameter, the run" in error.message
    assert "async def flow(run):" in error.hint


def test_a_plain_def_is_a_definition_error():
    with pytest.raises(DefinitionError, match="not an `async def`"):
        @on("go")
        def not_async(run):
            return None

    def also_not_async(run):
        return None

    with pytest.raises(DefinitionError, match="not an `async def`"):
        compile_flow(also_not_async)


def test_a_compile_error_is_a_syntax_error_editors_can_point_at(tmp_path):
    error = compile_error(tmp_path, flow_with("""
        with open("x") as handle:
            await wait(days=1)
        """), at="await wait(days=1)")

    assert isinstance(error, SyntaxError)
    assert (error.filename, error.lineno, error.offset) == (
        error.file, error.line, error.column + 1)
    assert error.hint in str(error)


@pytest.mark.parametrize(("statements", "at", "expected"), [
    ("""
     try:
         course = run.event["course"]
     except KeyError:
         return
     await send_email(course)
     """, "return\n", {"u1": [], "u2": ["py"]}),
    ("""
     for name in ["a", "b"]:
         await send_email(name)
         with open(__file__) as handle:
             if name == "a":
                 break
     """, "break", {"u1": ["a"], "u2": ["a"]}),
], ids=["return in try", "break in with"])
def test_an_escape_from_a_try_or_with_works_or_is_a_located_compile_error(
        tmp_path, simulate, statements, at, expected):
    name, path, text = write_source(tmp_path, flow_with(statements))
    try:
        module = import_file(name, path)
    except CompileError as error:
        assert_located(error, path, text, at)
        return
    sim = simulate(module.flow)
    sim.emit("go", user="u1")
    sim.emit("go", user="u2", course="py")
    assert {user: done(sim, user) for user in ("u1", "u2")} == expected


@pytest.mark.parametrize(("statements", "at", "keyword", "place"), [
    ("""
     await wait(days=1)
     try:
         n = int(run.event["n"])
     except KeyError:
         return
     """, "return\n", "return", "a try block"),
    ("""
     for name in ["a", "b"]:
         await send_email(name)
         with open(__file__) as handle:
             if handle.read(1):
                 continue
     """, "continue", "continue", "a with block"),
    ("""
     while True:
         await wait(days=1)
         match run.event.get("plan"):
             case "pro":
                 break
     """, "break", "break", "a match block"),
], ids=["return in try", "continue in with", "break in match"])
def test_an_escape_from_a_try_with_or_match_without_await_is_a_located_compile_error(
        tmp_path, statements, at, keyword, place):
    error = compile_error(tmp_path, flow_with(statements), at=at)

    assert f"`{keyword}` inside {place} cannot leave it" in error.message
    assert "set a variable" in error.hint


def test_a_loop_inside_a_try_may_break_out_of_that_loop(simulate):
    @on("go")
    async def first_even(run):
        try:
            for n in run.event["numbers"]:
                if n % 2 == 0:
                    break
        except TypeError:
            n = None
        await note(n)

    sim = simulate(first_even)
    sim.emit("go", user="u1", numbers=[1, 3, 4, 5])

    assert done(sim) == [4]


@pytest.mark.parametrize("continuation", ["        there", "there"],
                         ids=["indented continuation", "continuation at column 0"])
def test_a_multi_line_string_in_an_indented_flow_keeps_its_value(
        tmp_path, simulate, continuation):
    body = (
        "def make():\n"
        '    @on("go")\n'
        "    async def flow(run):\n"
        '        text = """Hi\n'
        f'{continuation}"""\n'
        "        await send_email(text)\n"
        "    return flow\n"
        "\n"
        "\n"
        "flow = make()\n"
    )
    module = import_source(tmp_path, body)

    sim = simulate(module.flow)
    sim.emit("go", user="u1")

    assert done(sim) == [f"Hi\n{continuation}"]


def test_a_flow_two_levels_deep_keeps_its_strings_and_real_locations(tmp_path, simulate):
    body = (
        "def make():\n"
        "    class Flows:\n"
        '        @on("go")\n'
        "        async def flow(run):\n"
        '            text = """Hi\n'
        'there"""\n'
        "            await send_email(text)\n"
        "    return Flows.flow\n"
        "\n"
        "\n"
        "flow = make()\n"
    )
    name, path, text = write_source(tmp_path, body)
    module = import_file(name, path)

    sim = simulate(module.flow)
    sim.emit("go", user="u1")

    assert done(sim) == ["Hi\nthere"]
    assert [s.line for s in module.flow.ir.steps] == [locate(text, "await send_email")[0]]

    error = compile_error(tmp_path, body.replace("await send_email(text)",
                                                 "await send_email(text)\n"
                                                 "            yield text"), at="yield text")
    assert error.column == 12


# =========================================================================================
# Step ids and version hashes
# =========================================================================================


DRIP = """
@on("user.enrolled")
async def flow(run):
    await send_email("welcome")
    await wait(days=2)
    if await branch("completed a unit?", run.event.get("units", 0) >= 1):
        await send_email("encouragement")
    else:
        await send_email("tips")
    for n in range(2):
        await wait(hours=12)
        await send_email("nudge")
    seen = await wait_for("user.signed_in", timeout={"days": 3})
    return seen
"""

DRIP_REFORMATTED = '''


# a comment above the flow, and the flow further down its file
@on("user.enrolled")
async def flow(run):
    """The drip, with a docstring now."""
    # welcome first
    await send_email(  "welcome"  )
    await wait(days = 2)   # two days

    if await branch(
        "completed a unit?",
        run.event.get('units', 0) >= 1,
    ):
        await send_email('encouragement')
    else:

        await send_email("tips")  # a tip instead
    for n in range(2):
        await wait(hours=12)
        await send_email("nudge")
    seen = await wait_for(
        "user.signed_in", timeout={"days": 3}
    )
    return seen
'''

DRIP_WITH_NEW_PLAIN_CODE = """
@on("user.enrolled")
async def flow(run):
    units = run.event.get("units", 0)
    await send_email("welcome")
    limit = 1
    await wait(days=2)
    if await branch("completed a unit?", units >= limit):
        await send_email("encouragement")
    else:
        await send_email("tips")
    for n in range(3):
        if n > 5:
            continue
        await wait(hours=12)
        await send_email("nudge")
    seen = await wait_for("user.signed_in", timeout={"days": 5})
    return {"seen": seen, "units": units}
"""

DRIP_WITH_NEW_STEPS = """
@on("user.enrolled")
async def flow(run):
    await send_email("welcome")
    await add_tag("onboarding")
    await wait(days=2)
    if await branch("completed a unit?", run.event.get("units", 0) >= 1):
        await send_email("encouragement")
        await wait(days=1)
    else:
        await send_email("tips")
    for n in range(2):
        await wait(hours=12)
        await send_email("nudge")
    await send_email("survey")
    seen = await wait_for("user.signed_in", timeout={"days": 3})
    return seen


@action
def add_tag(tag):
    return tag
"""

DRIP_IDS = ["send_email:welcome", "wait:2d", "completed a unit?", "send_email:encouragement",
            "send_email:tips", "wait:12h", "send_email:nudge", "wait_for:user.signed_in"]


def test_step_ids_name_each_step_by_what_it_does(tmp_path):
    ir = flow_ir(tmp_path, DRIP)

    assert [s.id for s in ir.steps] == DRIP_IDS
    assert [s.kind for s in ir.steps] == ["action", "wait", "branch", "action", "action",
                                          "wait", "action", "wait_for"]


@pytest.mark.parametrize(("call", "expected"), [
    ("wait(days=2)", "wait:2d"),
    ("wait(2)", "wait:2d"),
    ("wait(hours=36)", "wait:36h"),
    ("wait(days=1, hours=12)", "wait:1d12h"),
    ("wait(days=1.5)", "wait:1.5d"),
    ("wait(minutes=30, seconds=15)", "wait:30m15s"),
    ("wait(days=run.event['days'])", "wait:dynamic"),
    ("wait(until=run.now.add(days=1))", "wait:until"),
    ("wait_for('user.signed_in', timeout={'days': 1})", "wait_for:user.signed_in"),
    ("wait_for(timeout={'days': 1}, event='user.signed_in')", "wait_for:user.signed_in"),
    ("send_email('welcome')", "send_email:welcome"),
    ("send_email(template='welcome')", "send_email:welcome"),
    ("send_email(run.event['template'])", "send_email"),
    ("note(3)", "note:3"),
    ("wait(days=2, id='cool-off')", "cool-off"),
    ("branch('is it?', True)", "is it?"),
    ("branch(condition=True, label='is it?')", "is it?"),
])
def test_the_id_of_a_step(tmp_path, call, expected):
    ir = flow_ir(tmp_path, flow_with(f"await {call}") + """

@action
def note(value):
    return value
""")

    assert [s.id for s in ir.steps] == [expected]


def test_identical_steps_are_numbered_in_source_order(tmp_path):
    ir = flow_ir(tmp_path, flow_with("""
        await send_email("welcome")
        await wait(days=1)
        if run.event["again"]:
            await send_email("welcome")
            await wait(days=1)
        await send_email("welcome")
        await wait(days=1)
        """))

    assert [s.id for s in ir.steps] == [
        "send_email:welcome", "wait:1d", "send_email:welcome#2", "wait:1d#2",
        "send_email:welcome#3", "wait:1d#3"]
    assert [s.line for s in ir.steps] == sorted(s.line for s in ir.steps)


def test_comments_whitespace_and_moving_the_flow_change_no_id_and_not_the_version(tmp_path):
    before = flow_ir(tmp_path, DRIP)
    after = flow_ir(tmp_path, DRIP_REFORMATTED)

    assert [s.id for s in after.steps] == [s.id for s in before.steps]
    assert [s.line for s in after.steps] != [s.line for s in before.steps]
    assert after.version == before.version


def test_editing_code_between_awaits_keeps_every_step_id(tmp_path):
    before = flow_ir(tmp_path, DRIP)
    after = flow_ir(tmp_path, DRIP_WITH_NEW_PLAIN_CODE)

    assert [s.id for s in after.steps] == [s.id for s in before.steps]
    # ...but it is a real change, so the version changes
    assert after.version != before.version


def test_inserting_new_steps_keeps_the_ids_of_the_others(tmp_path):
    before = flow_ir(tmp_path, DRIP)
    after = flow_ir(tmp_path, DRIP_WITH_NEW_STEPS)

    old = {s.id: s.call for s in before.steps}
    new = {s.id: s.call for s in after.steps}
    assert {i: new.get(i) for i in old} == old
    assert set(new) - set(old) == {"add_tag:onboarding", "wait:1d", "send_email:survey"}
    assert after.version != before.version


@pytest.mark.parametrize(("old", "new"), [
    ('await send_email("welcome")', 'await send_email("bienvenue")'),
    ("await wait(days=2)", "await wait(days=3)"),
    ('run.event.get("units", 0) >= 1', 'run.event.get("units", 0) >= 2'),
    ("range(2)", "range(4)"),
    ('timeout={"days": 3}', 'timeout={"days": 4}'),
    ("return seen", "return None"),
    ('await send_email("tips")', 'await send_email("tips")\n        await wait(hours=1)'),
], ids=["template", "wait duration", "branch condition", "loop range", "timeout",
        "returned value", "a new step"])
def test_a_real_change_changes_the_version(tmp_path, old, new):
    assert DRIP.count(old) == 1

    before = flow_ir(tmp_path, DRIP)
    after = flow_ir(tmp_path, DRIP.replace(old, new))

    assert after.version != before.version


@pytest.mark.parametrize("decorators", [
    '@on("user.signed_up")',
    '@on("user.enrolled", where=lambda event: event["course"] == "python-101")',
    '@on("user.enrolled")\n@exit_when("course.completed")',
    '@automation(reentry="always")\n@on("user.enrolled")',
], ids=["trigger", "trigger condition", "exit", "re-entry option"])
def test_a_changed_trigger_exit_or_option_changes_the_version(tmp_path, decorators):
    before = flow_ir(tmp_path, DRIP)
    after = flow_ir(tmp_path, DRIP.replace('@on("user.enrolled")', decorators))

    assert [(s.id, s.call) for s in after.steps] == [(s.id, s.call) for s in before.steps]
    assert after.version != before.version
    assert after.declaration != before.declaration


def test_the_version_ignores_the_flows_name(tmp_path):
    first = flow_ir(tmp_path, DRIP)
    renamed = flow_ir(tmp_path, DRIP.replace("async def flow", "async def flow_renamed")
                      + "\n\nflow = flow_renamed\n")

    assert renamed.name == "flow_renamed"
    assert renamed.version == first.version


def test_compiling_the_same_source_twice_gives_equal_ir(tmp_path):
    first = flow_ir(tmp_path, DRIP)
    second = flow_ir(tmp_path, DRIP)

    assert first == second
    assert first.to_json() == second.to_json()


def test_every_step_id_is_unique(tmp_path):
    ir = flow_ir(tmp_path, flow_with("""
        await send_email("welcome")
        await send_email("welcome")
        await send_email("welcome#2")
        """))

    ids = [s.id for s in ir.steps]
    assert len(set(ids)) == len(ids), ids


def test_inserting_a_step_called_with_keywords_keeps_the_other_ids(tmp_path):
    before = flow_ir(tmp_path, flow_with("""
        await wait(days=1)
        await send_email(template="welcome")
        """))
    after = flow_ir(tmp_path, flow_with("""
        await send_email(template="tips")
        await wait(days=1)
        await send_email(template="welcome")
        """))

    old = {s.call: s.id for s in before.steps}
    new = {s.call: s.id for s in after.steps}
    assert {call: new[call] for call in old} == old


def test_a_pinned_numbered_id_is_skipped_by_automatic_numbers(tmp_path):
    ir = flow_ir(tmp_path, flow_with("""
        await send_email("welcome", id="send_email:welcome#2")
        await send_email("welcome")
        await send_email("welcome")
        """))

    assert [s.id for s in ir.steps] == [
        "send_email:welcome#2", "send_email:welcome", "send_email:welcome#3"]


def test_a_later_step_whose_own_id_looks_numbered_keeps_it(tmp_path):
    ir = flow_ir(tmp_path, flow_with("""
        await send_email("a")
        await send_email("a")
        await send_email("a#2")
        """))

    assert [s.id for s in ir.steps] == ["send_email:a", "send_email:a#3", "send_email:a#2"]


def test_the_first_argument_of_an_action_counts_by_position_or_by_keyword(tmp_path):
    ir = flow_ir(tmp_path, """
@action
def greet(template="default", lang="en"):
    return template


@action
def keyed(*, template):
    return template


@action
def with_run(run, template):
    return template


""" + flow_with("""
        await greet(lang="fr", template="tips")
        await greet("tips", id="other")
        await greet("hello", lang="fr")
        await keyed(template="k")
        await with_run(template="r")
        await greet(lang="fr")
        """))

    assert [s.id for s in ir.steps] == [
        "greet:tips", "other", "greet:hello", "keyed:k", "with_run:r", "greet"]


@pytest.mark.parametrize("where", ["above", "below"])
def test_an_actions_step_id_comes_from_the_name_it_is_called_by(tmp_path, where):
    action_source = """

@action(name="crm.sync")
def sync_crm(user_id):
    return user_id


"""
    flow = flow_with("""
        await sync_crm("u1")
        await sync_crm(user_id="u2")
        """)
    module = import_source(
        tmp_path, action_source + flow if where == "above" else flow + action_source)
    module.flow.program.check_late_names()

    assert [s.id for s in module.flow.ir.steps] == ["sync_crm:u1", "sync_crm:u2"]


def test_a_late_action_whose_first_argument_was_guessed_wrong_fails_when_loaded(tmp_path):
    error = load_error(tmp_path, flow_with('await later(lang="fr", template="x")') + """

@action
def later(template, lang="en"):
    return template
""", at="await later")

    assert "defined after the flow" in error.message
    assert "above the flow" in error.hint


def test_a_primitive_imported_after_the_flow_fails_when_loaded(tmp_path):
    error = load_error(tmp_path, flow_with('await pause(days=1)') + """

from flowkit import wait as pause
""", at="await pause")

    assert "imported after the flow" in error.message


# -- changes while runs wait inside the compiled code ----------------------------------------


LOOP = '''
@on("go")
async def flow(run):
    for tip in ["a", "b"]:
        await wait(days=1)
        await send_email(tip)
'''


def test_renaming_a_loop_variable_keeps_the_hidden_loop_state(tmp_path):
    before = flow_ir(tmp_path, LOOP)
    after = flow_ir(tmp_path, LOOP.replace("tip", "hint"))

    hidden = [n for n in before.locals if n.startswith("__fk_")]
    assert hidden == [n for n in after.locals if n.startswith("__fk_")]
    assert hidden == ["__fk_index_wait_1d", "__fk_items_wait_1d"]


def test_a_run_waiting_in_a_loop_whose_variable_was_renamed_is_parked_at_its_line(tmp_path):
    clock = VirtualClock(T0)
    url = f"sqlite:///{tmp_path}/loop.db"
    with Engine(url, [import_source(tmp_path, LOOP).flow], clock=clock) as engine:
        engine.emit("go", user="u1")
    name, path, text = write_source(tmp_path, LOOP.replace("tip", "hint"))
    with Engine(url, [import_file(name, path).flow], clock=clock) as engine:
        clock.set(clock.now().add(days=1))
        engine.tick()
        (run,) = engine.runs(user="u1")
    line, _ = locate(text, "send_email(hint)")
    assert run.status == "parked", run.reason
    assert f"at {path}:{line}" in (run.reason or "")
    assert "no local variable 'hint'" in (run.reason or "")
    assert "flowkit runs end" in (run.reason or "")


def test_hidden_loop_code_carries_the_line_of_its_for(tmp_path):
    name, path, text = write_source(tmp_path, LOOP)
    flow = import_file(name, path).flow
    line, _ = locate(text, "for tip")
    tests = [i for i, n in enumerate(flow.ir.nodes) if isinstance(n, JumpIf)]
    assert tests
    for i in tests:
        code = flow.program.code[i]
        assert code is not None
        assert {pos[0] for pos in code.co_positions()} - {None, 0} == {line}


KEEPS_A_FUNCTION = '''
attempts = {"n": 0}


@action
def flaky(text):
    attempts["n"] += 1
    if attempts["n"] == 1:
        raise RuntimeError("down")
    return text


@on("go")
async def flow(run):
    shout = lambda text: text.upper()
    await flaky("hello")
    await send_email(shout("done"))
'''


def test_a_local_that_cannot_be_saved_parks_the_action_about_to_be_retried(tmp_path):
    module = import_source(tmp_path, KEEPS_A_FUNCTION)
    clock = VirtualClock(T0)
    with Engine(f"sqlite:///{tmp_path}/keep.db", [module.flow], clock=clock,
                action_backoff=1) as engine:
        engine.emit("go", user="u1")
        clock.set(clock.now().add(minutes=1))
        engine.tick()
        (run,) = engine.runs(user="u1")
    assert (run.status, run.step) == ("parked", "flaky:hello")
    reason = run.reason or ""
    assert "local variable 'shout' held a function" in reason
    assert "the action about to be retried" in reason
    assert f"flowkit runs end {run.id} --reason" in reason

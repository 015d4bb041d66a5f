"""Goals, split tests and the report, on the Simulation's virtual clock."""

from __future__ import annotations

from collections import Counter

from flowkit.rules import Rules
from flowkit.runtime.records import RunRecord
from flowkit.testing import Simulation
from tests.rules import flows

NO_RULES = Rules()


def arm_of(run: RunRecord) -> str:
    return str(next(h.detail["arm"] for h in run.history if h.kind == "split"))


def test_reaching_the_goal_ends_the_run_and_records_when() -> None:
    sim = Simulation(flows.course_push, rules=NO_RULES)
    sim.emit("course.started", user="u1", course="python-101")
    sim.advance(days=2)
    sim.emit("course.completed", user="u1", course="python-101")
    run = sim.run(user="u1")
    assert run.status == "exited"
    assert run.reason == ("reached its goal: course.completed with the same course "
                          "within 30 days")
    assert sim.report("course_push").converted == 1


def test_a_goal_of_another_course_or_past_its_window_does_not_convert() -> None:
    sim = Simulation(flows.course_push, rules=NO_RULES)
    sim.emit("course.started", user="u1", course="python-101")
    sim.emit("course.completed", user="u1", course="sql-101")
    sim.advance(days=31)
    sim.emit("course.completed", user="u1", course="python-101")
    assert sim.run(user="u1").status == "completed"
    assert sim.report("course_push").converted == 0


def test_a_run_that_ended_still_converts_when_the_goal_comes_later() -> None:
    # given a goal that does not end the run, and a run that completed in a day
    sim = Simulation(flows.course_watch, rules=NO_RULES)
    sim.emit("course.started", user="u1", course="python-101")
    sim.advance(days=5)
    assert sim.run(user="u1").status == "completed"
    # when the user completes the course later
    sim.emit("course.completed", user="u1", course="python-101")
    # then the run is counted as converted, once, with a history entry
    sim.emit("course.completed", user="u1", course="python-101")
    assert sim.report("course_watch").converted == 1
    assert [h.kind for h in sim.run(user="u1").history][-1] == "converted"


def test_a_split_is_sticky_per_user_and_roughly_follows_its_weights() -> None:
    sim = Simulation(flows.course_push, rules=NO_RULES)
    for i in range(200):
        sim.emit("course.started", user=f"u{i}", course="python-101")
    arms = {r.user: arm_of(r)
            for r in sim.runs()}
    assert 70 <= Counter(arms.values())["a"] <= 130
    # the same users in a second flow run land in the same arms
    sim2 = Simulation(flows.course_push, rules=NO_RULES)
    for i in range(20):
        sim2.emit("course.started", user=f"u{i}", course="sql-101")
    again = {r.user: arm_of(r)
             for r in sim2.runs()}
    assert all(arms[u] == arm for u, arm in again.items())
    # and each arm sent its own subject
    first = {r.user: sim.actions(user=r.user)[0].args["template"] for r in sim.runs()}
    assert all(first[u] == ("reminder" if arm == "a" else "course-reminder")
               for u, arm in arms.items())


def test_the_report_counts_conversion_per_split_arm_and_steps() -> None:
    sim = Simulation(flows.course_push, rules=NO_RULES)
    for i in range(10):
        sim.emit("course.started", user=f"u{i}", course="python-101")
    arms = {r.user: arm_of(r)
            for r in sim.runs()}
    converters = [u for u, arm in arms.items() if arm == "a"][:2]
    for user in converters:
        sim.emit("course.completed", user=user, course="python-101")
    report = sim.report("course_push")
    by_arm = {a.arm: (a.runs, a.converted) for a in report.arms}
    assert by_arm["a"] == (Counter(arms.values())["a"], 2)
    assert by_arm["b"] == (Counter(arms.values())["b"], 0)
    steps = {s.step: s for s in report.steps}
    assert steps["subject line"].reached == 10
    assert steps["wait:7d"].resting == 8
    assert steps["wait:7d"].ended == 2

"""Post-completion upsell, simulated: the branch on the advanced course, the offer and
its follow-up, and the exit when the learner enrolls, even mid-wait."""

from __future__ import annotations

import pytest

from automations.post_completion_upsell import post_completion_upsell
from flowkit.testing import Simulation

pytestmark = pytest.mark.flows(post_completion_upsell)


def emails(sim: Simulation, user: str) -> list[tuple[str, str]]:
    return [(f"{e['at']:%m-%d}", e["subject"]) for e in sim.platform.emails(user)]


def test_a_learner_without_the_advanced_course_gets_the_offer_and_a_follow_up(
        sim: Simulation) -> None:
    sim.add_user("u1", name="Ada", email="ada@example.com")
    sim.emit("course.completed", user="u1", course="python-101")
    sim.advance(days=2)
    assert emails(sim, "u1") == [
        ("03-02", "You finished python-101, Ada: python-201 is next")]
    sim.advance(days=1)
    assert emails(sim, "u1")[1:] == [("03-05", "Still thinking about python-201, Ada?")]
    run = sim.run(user="u1")
    assert run.status == "completed"
    branch = next(h for h in run.history if h.kind == "branch")
    assert branch.detail == {"label": "already enrolled in the advanced course?",
                             "value": False}


def test_a_learner_already_in_the_advanced_course_gets_no_offer(sim: Simulation) -> None:
    sim.emit("user.enrolled", user="u1", course="python-201")
    sim.emit("course.completed", user="u1", course="python-101")
    sim.advance(days=10)
    assert sim.platform.emails("u1") == []
    run = sim.run(user="u1")
    assert run.status == "completed"
    branch = next(h for h in run.history if h.kind == "branch")
    assert branch.detail["value"] is True


def test_enrolling_in_the_advanced_course_mid_wait_stops_the_follow_up(
        sim: Simulation) -> None:
    sim.emit("course.completed", user="u1", course="python-101")
    sim.advance(days=1)
    sim.emit("user.enrolled", user="u1", course="sql-101")  # another course: ignored
    assert sim.run(user="u1").status == "waiting"
    sim.emit("user.enrolled", user="u1", course="python-201")
    sim.advance(days=10)
    assert [t for t in (a.args["template"] for a in sim.actions(user="u1"))] == [
        "advanced-course-offer"]
    run = sim.run(user="u1")
    assert (run.status, run.step) == ("exited", "wait:3d")


def test_only_the_course_with_an_advanced_sequel_starts_it(sim: Simulation) -> None:
    sim.emit("course.completed", user="u1", course="sql-101")
    sim.emit("unit.completed", user="u1", course="python-101", unit=1)
    assert sim.runs(user="u1") == []


def test_the_offer_is_made_once_per_learner(sim: Simulation) -> None:
    sim.emit("course.completed", user="u1", course="python-101")
    sim.advance(days=5)
    sim.emit("course.completed", user="u1", course="python-101")  # a retake
    sim.advance(days=5)
    assert len(sim.runs(user="u1")) == 1
    assert len(sim.platform.emails("u1")) == 2

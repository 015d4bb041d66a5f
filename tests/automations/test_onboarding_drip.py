"""The seed's onboarding drip, simulated: welcome, wait 2 days, reminder, wait 4 days,
branch on a completed unit, and the exit on course completion, even mid-wait."""

from __future__ import annotations

import pytest

from automations.onboarding_drip import onboarding_drip
from flowkit.testing import Simulation

pytestmark = pytest.mark.flows(onboarding_drip)


def emails(sim: Simulation, user: str) -> list[tuple[str, str]]:
    return [(f"{a.at:%m-%d}", a.args["template"]) for a in sim.actions(user=user)]


def test_a_learner_who_completed_a_unit_is_encouraged(sim: Simulation) -> None:
    sim.add_user("u1", name="Ada", email="ada@example.com")
    sim.emit("user.enrolled", user="u1", course="python-101")
    sim.advance(days=1)
    sim.emit("unit.completed", user="u1", course="python-101", unit=1)
    sim.advance(days=59)
    assert emails(sim, "u1") == [
        ("03-02", "welcome"), ("03-04", "reminder"), ("03-08", "encouragement")]
    run = sim.run(user="u1")
    assert run.status == "completed"
    branch = next(h for h in run.history if h.kind == "branch")
    assert branch.detail == {"label": "completed a unit?", "value": True}
    # the emails went to the outbox, rendered for Ada, once each
    outbox = sim.platform.emails("u1")
    assert [(e["to_address"], e["subject"]) for e in outbox] == [
        ("ada@example.com", "Welcome to python-101, Ada!"),
        ("ada@example.com", "Your first unit of python-101 is waiting"),
        ("ada@example.com", "Great start, Ada")]


def test_a_learner_with_no_unit_gets_tips(sim: Simulation) -> None:
    sim.add_user("u1")
    sim.emit("user.enrolled", user="u1", course="python-101")
    sim.emit("unit.completed", user="u1", course="rust-101", unit=1)  # another course
    sim.advance(days=6)
    assert emails(sim, "u1")[-1] == ("03-08", "tips")


def test_the_branch_reads_the_user_as_they_are_when_it_is_reached(sim: Simulation) -> None:
    sim.add_user("u1")
    sim.emit("user.enrolled", user="u1", course="python-101")
    sim.advance(days=5)
    sim.emit("unit.completed", user="u1", course="python-101", unit=1)  # on day 5
    sim.advance(days=1)
    assert emails(sim, "u1")[-1] == ("03-08", "encouragement")


def test_completing_the_course_mid_wait_stops_the_drip(sim: Simulation) -> None:
    sim.emit("user.enrolled", user="u1", course="python-101")
    sim.advance(days=3)  # past the reminder, inside the 4-day wait
    sim.emit("course.completed", user="u1", course="python-101")
    sim.advance(days=30)
    assert [t for _, t in emails(sim, "u1")] == ["welcome", "reminder"]
    run = sim.run(user="u1")
    assert (run.status, run.step) == ("exited", "wait:4d")


def test_other_courses_neither_start_nor_stop_it(sim: Simulation) -> None:
    sim.emit("user.enrolled", user="u1", course="rust-101")
    assert sim.runs(user="u1") == []
    sim.emit("user.enrolled", user="u2", course="python-101")
    sim.emit("course.completed", user="u2", course="rust-101")
    assert sim.run(user="u2").status == "waiting"


def test_a_second_enrollment_while_running_does_not_start_a_second_drip(sim: Simulation
                                                                       ) -> None:
    sim.emit("user.enrolled", user="u1", course="python-101")
    sim.emit("user.enrolled", user="u1", course="python-101")
    assert len(sim.runs(user="u1")) == 1


def test_a_duplicate_delivery_of_the_trigger_starts_nothing(sim: Simulation) -> None:
    sim.emit("user.enrolled", user="u1", course="python-101", idempotency_key="evt-1")
    sim.advance(days=7)
    sim.emit("user.enrolled", user="u1", course="python-101", idempotency_key="evt-1")
    assert len(sim.runs(user="u1")) == 1

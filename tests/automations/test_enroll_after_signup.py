"""Enroll users after signup, simulated: the trigger, the enrollment in the starter
courses without payment or invoice, and the user.enrolled events that follow."""

from __future__ import annotations

import pytest

from automations.enroll_after_signup import enroll_after_signup
from automations.private_space import private_space
from flowkit.testing import Simulation

pytestmark = pytest.mark.flows(enroll_after_signup)


def test_a_new_user_is_enrolled_in_the_starter_courses(sim: Simulation) -> None:
    sim.emit("user.signed_up", user="u1", source="web", registered_at="2026-03-02")
    assert sim.platform.enrollments("u1") == ["getting-started", "python-taster"]
    run = sim.run(user="u1")
    assert run.status == "completed"
    (enrolled,) = sim.actions(user="u1", name="enroll")
    assert enrolled.result == ["getting-started", "python-taster"]


def test_the_free_starter_courses_record_no_payment_and_no_invoice(sim: Simulation) -> None:
    # given a catalog that prices the courses (once there is a catalog, enroll checks it)
    sim.platform.add_course("getting-started", "Getting started", price=0)
    sim.platform.add_course("python-taster", "Python taster", price=19)
    sim.emit("user.signed_up", user="u1")
    assert sim.platform.enrollments("u1") == ["getting-started", "python-taster"]
    assert sim.platform.payments("u1") == []
    assert sim.platform.invoices("u1") == []


def test_each_enrollment_is_an_event_the_enrollment_automations_see() -> None:
    with Simulation(enroll_after_signup, private_space) as sim:
        sim.emit("user.signed_up", user="u1")
        assert sorted(sim.platform.spaces("u1")) == [
            "getting-started-learners", "python-taster-learners"]


def test_a_user_already_enrolled_is_not_enrolled_twice(sim: Simulation) -> None:
    sim.emit("user.enrolled", user="u1", course="getting-started")  # by the school
    sim.emit("user.signed_up", user="u1")
    assert sim.platform.enrollments("u1") == ["getting-started", "python-taster"]
    (enrolled,) = sim.actions(user="u1", name="enroll")
    assert enrolled.result == ["python-taster"]  # only the new one is announced


def test_other_events_enroll_nobody(sim: Simulation) -> None:
    sim.emit("user.signed_in", user="u1")
    sim.emit("user.enrolled", user="u1", course="python-101")
    assert sim.runs(user="u1") == []

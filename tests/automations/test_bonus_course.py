"""Offer a bonus course, simulated: enrollment, a week's wait, the bonus; and the
bonus's own enrollment event, which must not start another run."""

from __future__ import annotations

import pytest

from automations.bonus_course import BONUS_COURSE, bonus_course
from flowkit.testing import Simulation

pytestmark = pytest.mark.flows(bonus_course)


def test_the_bonus_comes_a_week_after_enrollment(sim: Simulation) -> None:
    sim.emit("user.enrolled", user="u1", course="python-101")
    sim.advance(days=6)
    assert sim.platform.enrollments("u1") == ["python-101"]
    assert sim.run(user="u1").step == "wait:7d"
    sim.advance(days=1)
    assert sim.platform.enrollments("u1") == ["python-101", BONUS_COURSE]
    (enrolled,) = sim.actions(user="u1", name="enroll")
    assert f"{enrolled.at:%m-%d %H:%M}" == "03-09 09:00"
    assert sim.run(user="u1").status == "completed"
    assert sim.platform.payments("u1") == [] and sim.platform.invoices("u1") == []


def test_the_bonus_enrollment_event_does_not_start_another_run(sim: Simulation) -> None:
    sim.emit("user.enrolled", user="u1", course="python-101")
    sim.advance(days=60)
    # the bonus enrollment was followed by user.enrolled(study-skills): no run for it,
    # so no second bonus and no loop
    assert len(sim.runs(flow="bonus_course")) == 1
    assert len(sim.actions(name="enroll")) == 1


def test_enrolling_in_the_bonus_course_itself_starts_nothing(sim: Simulation) -> None:
    sim.emit("user.enrolled", user="u1", course=BONUS_COURSE)
    assert sim.runs(user="u1") == []


def test_one_bonus_per_learner_whatever_they_enroll_in(sim: Simulation) -> None:
    sim.emit("user.enrolled", user="u1", course="python-101")
    sim.advance(days=2)
    sim.emit("user.enrolled", user="u1", course="sql-101")  # during the wait
    sim.advance(days=10)
    sim.emit("user.enrolled", user="u1", course="python-201")  # after the bonus
    sim.advance(days=10)
    assert len(sim.runs(user="u1")) == 1
    assert len(sim.actions(user="u1", name="enroll")) == 1


def test_a_learner_who_took_the_bonus_meanwhile_is_not_enrolled_again(
        sim: Simulation) -> None:
    sim.emit("user.enrolled", user="u1", course="python-101")
    sim.advance(days=3)
    sim.emit("user.enrolled", user="u1", course=BONUS_COURSE)  # enrolled by the school
    sim.advance(days=4)
    (enrolled,) = sim.actions(user="u1", name="enroll")
    assert enrolled.result == []  # nothing new: no second user.enrolled event
    assert sim.platform.enrollments("u1") == ["python-101", BONUS_COURSE]

"""pick_a_course: nudges for users who sign up and choose no course of their own."""

from __future__ import annotations

import pytest

from automations.pick_a_course import pick_a_course
from flowkit.testing import Simulation

pytestmark = pytest.mark.flows(pick_a_course)


def subjects(sim: Simulation, user: str) -> list[str]:
    return [e["subject"] for e in sim.platform.emails(user)]


def test_two_nudges_three_days_apart_for_a_user_who_does_not_choose(sim: Simulation) -> None:
    sim.add_user("u1", name="Ada")
    sim.emit("user.signed_up", user="u1")
    sim.emit("user.enrolled", user="u1", course="getting-started")  # a starter: not a choice
    sim.advance(days=6)
    assert subjects(sim, "u1") == ["Which course will you start with, Ada?",
                                   "Still looking for a course, Ada?"]
    assert sim.run(user="u1").history[-1].detail["value"] == "never enrolled"


def test_choosing_a_course_stops_the_nudges(sim: Simulation) -> None:
    sim.emit("user.signed_up", user="u1")
    sim.advance(days=4)
    sim.emit("user.enrolled", user="u1", course="sql-101")
    sim.advance(days=10)
    assert len(subjects(sim, "u1")) == 1
    assert sim.run(user="u1").history[-1].detail["value"] == "enrolled in sql-101"

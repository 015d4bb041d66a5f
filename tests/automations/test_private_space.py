"""Add users to a private space, simulated: each enrollment adds the learner to the
course's space, once."""

from __future__ import annotations

import pytest

from automations.private_space import private_space
from flowkit.testing import Simulation

pytestmark = pytest.mark.flows(private_space)


def test_an_enrolled_learner_joins_the_courses_space(sim: Simulation) -> None:
    sim.emit("user.enrolled", user="u1", course="python-101")
    assert sim.platform.spaces("u1") == ["python-101-learners"]
    assert sim.run(user="u1").status == "completed"


def test_two_enrollments_at_once_join_two_spaces(sim: Simulation) -> None:
    sim.emit_many([{"event": "user.enrolled", "user": "u1", "course": "python-101"},
                   {"event": "user.enrolled", "user": "u1", "course": "sql-101"}])
    assert sorted(sim.platform.spaces("u1")) == ["python-101-learners", "sql-101-learners"]


def test_a_repeated_enrollment_adds_nothing_twice(sim: Simulation) -> None:
    sim.emit("user.enrolled", user="u1", course="python-101")
    sim.emit("user.enrolled", user="u1", course="python-101")
    assert sim.platform.spaces("u1") == ["python-101-learners"]
    assert [a.result for a in sim.actions(user="u1")] == [True, False]


def test_other_events_add_to_no_space(sim: Simulation) -> None:
    sim.emit("course.completed", user="u1", course="python-101")
    sim.emit("user.visited", user="u1", course="python-101")
    assert sim.platform.spaces("u1") == []

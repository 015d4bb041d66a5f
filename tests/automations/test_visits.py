"""Visits: a course visit is a visit to the school, and each visit moves the last visit
forward (what ``returned_since`` and the inactivity timers read)."""

from __future__ import annotations

from automations.inactive_reengagement import inactive_reengagement
from automations.inactivity_sequence import inactivity_sequence
from flowkit.testing import Simulation


def subjects(sim: Simulation, user: str) -> list[str]:
    return [e["subject"] for e in sim.platform.emails(user)]


def test_a_learner_active_in_a_course_every_day_never_gets_we_miss_you() -> None:
    with Simulation(inactive_reengagement) as sim:
        sim.add_user("u1", name="Ada")
        for _ in range(60):
            sim.emit("user.visited", user="u1", course="python-101")
            sim.advance(days=1)
        assert subjects(sim, "u1") == []
        sim.advance(days=14)  # then they stop: the school-wide timer runs out
        assert subjects(sim, "u1") == ["We miss you, Ada"]


def test_a_learner_who_comes_back_after_the_reminder_is_welcomed_back() -> None:
    with Simulation(inactivity_sequence) as sim:
        sim.add_user("u1", name="Ada")
        sim.emit("user.visited", user="u1", course="python-101")
        sim.advance(days=10)  # ten days away from the course: the first reminder
        assert len(subjects(sim, "u1")) == 1
        sim.advance(days=2)
        sim.emit("user.visited", user="u1", course="python-101")  # a repeat visit
        sim.advance(days=5)
        assert sim.platform.notifications("u1") == [
            "Welcome back, Ada! Pick up where you left off."]
        assert len(subjects(sim, "u1")) == 1  # not the stronger reminder


def test_a_repeat_visit_moves_the_last_visit_forward() -> None:
    with Simulation(inactivity_sequence) as sim:
        sim.emit("user.visited", user="u1", course="python-101")
        first = sim.now
        sim.advance(days=3)
        sim.emit("user.visited", user="u1", course="python-101")
        with sim.engine.db.connect() as conn:
            last = sim.engine.platform.bind(conn, sim.now).last_visit("u1", "python-101")
        assert last == sim.now and last > first

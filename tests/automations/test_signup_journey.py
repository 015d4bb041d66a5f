"""The basic use cases together: what a new user's first weeks look like when
enroll_after_signup, tag_on_signup, private_space, bonus_course and
post_completion_upsell all run, with the enrollments of one feeding the triggers of the
others, and no loop."""

from __future__ import annotations

import pytest

from flowkit.testing import Simulation

pytestmark = pytest.mark.flows(
    "automations.enroll_after_signup", "automations.tag_on_signup",
    "automations.private_space", "automations.bonus_course",
    "automations.post_completion_upsell")


def test_a_new_users_first_weeks(sim: Simulation) -> None:
    sim.add_user("u1", name="Ada", email="ada@example.com")
    sim.emit("user.signed_up", user="u1", source="ads", registered_at="2026-03-02")
    p = sim.platform
    assert sorted(p.tags("u1")) == ["early-bird", "source:ads"]
    assert p.enrollments("u1") == ["getting-started", "python-taster"]
    assert sorted(p.spaces("u1")) == ["getting-started-learners", "python-taster-learners"]

    sim.advance(days=2)
    sim.emit("user.enrolled", user="u1", course="python-101")  # bought it
    sim.advance(days=5)  # a week after signup: the bonus, and its space
    assert p.enrollments("u1") == [
        "getting-started", "python-taster", "python-101", "study-skills"]
    assert "study-skills-learners" in p.spaces("u1")

    sim.emit("course.completed", user="u1", course="python-101")
    sim.advance(days=30)
    assert [e["template"] for e in p.emails("u1")] == [
        "advanced-course-offer", "advanced-course-follow-up"]
    assert len(sim.runs(user="u1", flow="bonus_course")) == 1
    assert {r.status for r in sim.runs(user="u1")} == {"completed"}

"""Tag users on signup, simulated: the source tag and the early-bird tag, each branch
taken both ways."""

from __future__ import annotations

import pytest

from automations.tag_on_signup import tag_on_signup
from flowkit.testing import Simulation

pytestmark = pytest.mark.flows(tag_on_signup)


def branches(sim: Simulation, user: str) -> dict[str, bool]:
    return {h.detail["label"]: h.detail["value"]
            for h in sim.run(user=user).history if h.kind == "branch"}


def test_an_early_signup_from_ads_gets_both_tags(sim: Simulation) -> None:
    sim.emit("user.signed_up", user="u1", source="ads", registered_at="2026-03-02")
    assert sorted(sim.platform.tags("u1")) == ["early-bird", "source:ads"]
    assert branches(sim, "u1") == {"came through a source?": True,
                                   "registered before the early-bird date?": True}
    assert sim.run(user="u1").status == "completed"


def test_a_late_signup_without_a_source_gets_no_tag(sim: Simulation) -> None:
    sim.emit("user.signed_up", user="u1", registered_at="2026-04-01")  # the date itself
    assert sim.platform.tags("u1") == []
    assert branches(sim, "u1") == {"came through a source?": False,
                                   "registered before the early-bird date?": False}


def test_a_late_signup_from_a_partner_gets_the_source_tag_only(sim: Simulation) -> None:
    sim.emit("user.signed_up", user="u1", source="partner",
             registered_at="2026-05-10T08:30:00+00:00")
    assert sim.platform.tags("u1") == ["source:partner"]


def test_the_date_part_of_a_date_time_decides(sim: Simulation) -> None:
    sim.emit("user.signed_up", user="u1", registered_at="2026-03-31T23:59:00+00:00")
    assert sim.platform.tags("u1") == ["early-bird"]


def test_without_registered_at_the_signup_is_dated_when_the_run_starts(
        sim: Simulation) -> None:
    sim.emit("user.signed_up", user="early")  # the simulation starts on 2026-03-02
    sim.advance(to="2026-04-02")
    sim.emit("user.signed_up", user="late")
    assert sim.platform.tags("early") == ["early-bird"]
    assert sim.platform.tags("late") == []


def test_registration_dates_compare_as_dates_not_text(sim: Simulation) -> None:
    # ISO 8601's basic format: as text "20260309" sorts after "2026-04-01"
    sim.emit("user.signed_up", user="u1", registered_at="20260309")
    assert sim.platform.tags("u1") == ["early-bird"]


def test_a_registration_date_that_is_not_a_date_is_refused_at_the_door(
        sim: Simulation) -> None:
    from flowkit.errors import EventError

    with pytest.raises(EventError, match="registered_at='last week' is not a date"):
        sim.emit("user.signed_up", user="u1", registered_at="last week")

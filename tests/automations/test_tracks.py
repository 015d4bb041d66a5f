"""The track seed's use cases, simulated: sequential onboarding, a learning pathway,
role-based training, an optional (manual) enrichment invitation, the manager workflow,
and the "Add User to Track" options."""

from __future__ import annotations

import pytest

from flowkit import Run, on, track, wait
from flowkit.errors import CompileError
from flowkit.lms import DEFAULT_CONFIRMATION, add_to_track
from flowkit.testing import Simulation

pytestmark = pytest.mark.flows("tracks")


def started(sim: Simulation, user: str) -> list[str]:
    return [r.flow for r in sim.runs(user=user) if r.flow not in (
        "invite-top-performers", "enroll-manager")]


def texts(sim: Simulation, user: str, kind: str | None = None) -> list[str]:
    return [m["text"] for m in sim.platform.messages(user, kind)]


def test_day_1_leads_to_week_1_then_month_1_automatically(sim: Simulation) -> None:
    sim.add_user("u1", name="Ada")
    sim.emit("track.joined", user="u1", track="day-1")
    assert started(sim, "u1") == ["day-1"]
    sim.advance(days=1)
    assert started(sim, "u1") == ["day-1", "week-1"]
    # both run side by side: Day 1 completes on its own, Week 1 goes on
    assert {r.flow: r.status for r in sim.runs(user="u1")}["week-1"] == "waiting"
    sim.advance(days=7)
    assert started(sim, "u1") == ["day-1", "week-1", "month-1"]
    assert texts(sim, "u1", "confirmation") == [DEFAULT_CONFIRMATION,
                                                "Month 1 starts now, Ada."]
    assert texts(sim, "u1", "message")[0] == (
        "Welcome Ada! Your manager will meet you at 10.")


def test_a_user_who_started_a_track_is_not_enrolled_again_by_default(sim: Simulation) -> None:
    sim.emit("track.joined", user="u1", track="week-1")
    sim.emit("track.joined", user="u1", track="day-1")
    sim.advance(days=1)  # Day 1 adds to Week 1, which u1 already started: skipped
    assert sorted(started(sim, "u1")) == ["day-1", "week-1"]
    add = [a for a in sim.actions(user="u1") if a.name == "add_to_track"]
    assert [a.result for a in add] == ["skipped: started the track before "
                                       "(re-enrollment is off)"]
    (skip,) = sim.platform.track_enrollments("u1")
    assert (skip["track"], skip["result"], skip["from_flow"]) == ("week-1", "skipped", "day-1")


def test_the_learning_pathway_moves_on_as_courses_are_completed(sim: Simulation) -> None:
    sim.emit("track.joined", user="u1", track="fundamentals")
    assert sim.platform.enrollments("u1") == ["python-101"]
    sim.advance(days=10)
    sim.emit("course.completed", user="u1", course="python-101")
    assert sim.platform.enrollments("u1") == ["python-101", "python-201"]
    sim.advance(days=61)  # Intermediate not completed in 60 days: a nudge, no Advanced
    assert started(sim, "u1") == ["fundamentals", "intermediate"]
    assert texts(sim, "u1")[-1] == "Intermediate is waiting for you, u1."


@pytest.mark.parametrize(("role", "next_track"), [
    ("engineering", "engineering-onboarding"), ("sales", "sales-onboarding"), ("legal", None)])
def test_role_based_training_follows_the_users_role(sim: Simulation, role: str,
                                                    next_track: str | None) -> None:
    sim.add_user("u1", fields={"role": role})
    sim.emit("track.joined", user="u1", track="general-onboarding")
    sim.advance(days=3)
    expected = ["general-onboarding"] + ([next_track] if next_track else [])
    assert started(sim, "u1") == expected


def test_top_performers_are_invited_and_the_track_starts_when_they_join(
        sim: Simulation) -> None:
    sim.add_user("star", name="Grace")
    for unit in range(5):
        sim.emit("unit.completed", user="star", course="python-101", unit=unit)
    sim.emit("track.joined", user="star", track="month-1")
    sim.emit("track.joined", user="average", track="month-1")
    (invitation,) = sim.platform.messages("star", "invitation")
    assert invitation["button"] == "Level Up!"
    assert invitation["text"].startswith("Grace, you are invited to Leadership")
    assert sim.platform.messages("average", "invitation") == []
    assert "leadership" not in started(sim, "star")  # manual: nothing starts yet
    sim.emit("track.joined", user="star", track="leadership")  # they click the button
    assert "leadership" in started(sim, "star")
    assert sim.platform.invitations("star")[0]["joined_at"] is not None
    assert texts(sim, "star", "confirmation") == [DEFAULT_CONFIRMATION]


def test_a_manager_is_enrolled_when_a_report_starts_day_1(sim: Simulation) -> None:
    sim.add_user("boss", name="Grace")
    sim.add_user("u1", name="Ada", manager="boss")
    sim.add_user("u2", name="Bob", manager="boss")
    sim.emit("track.joined", user="u1", track="day-1")
    sim.emit("track.joined", user="u2", track="day-1")
    assert [r.flow for r in sim.runs(user="boss")] == ["manager-onboarding"] * 2
    assert texts(sim, "boss", "confirmation") == [
        "Grace, Ada starts today: your checklist is ready.",
        "Grace, Bob starts today: your checklist is ready."]


@track("loop-a")
async def loop_a(run: Run) -> None:
    await wait(days=1)
    await add_to_track("loop-a")


@track("inactive", active=False)
async def inactive(run: Run) -> None:
    await wait(days=1)


@on("go")
async def to_inactive(run: Run) -> None:
    await add_to_track("inactive")


@on("go")
async def to_nowhere(run: Run) -> None:
    await add_to_track("nowhere")


@pytest.mark.parametrize(("flows", "message"), [
    ((loop_a,), "adds users to the track they are in"),
    ((inactive, to_inactive), "track 'inactive' is not active"),
    ((to_nowhere,), "no track 'nowhere'"),
])
def test_a_destination_that_is_not_an_active_other_track_is_a_load_error(
        flows: tuple[object, ...], message: str) -> None:
    with pytest.raises(CompileError, match=message) as error:
        Simulation(*flows)  # type: ignore[arg-type]
    assert error.value.file.endswith("test_tracks.py")
    assert error.value.line > 0


def test_sim_platform_lists_the_tracks_a_user_started(sim: Simulation) -> None:
    sim.emit("track.joined", user="u1", track="day-1")
    sim.advance(days=1)
    assert sorted(sim.platform.tracks("u1")) == ["day-1", "week-1"]

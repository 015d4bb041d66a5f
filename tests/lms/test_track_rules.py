"""add_to_track under load and with computed destinations: a batch of runs sees what
its earlier runs did, a skip always says why, and loops stop at run time."""

from __future__ import annotations

from typing import Any

import pytest

from flowkit import Run, automation, on, track, wait
from flowkit.lms import DEFAULT_CONFIRMATION, add_to_track, send_message
from flowkit.testing import Simulation


@automation(name="add-manager", reentry="always")
@on("report.started")
async def add_manager(run: Run) -> None:
    await add_to_track("checklist", who="manager")


@automation(name="invite", reentry="always")
@on("invite.please")
async def invite(run: Run) -> None:
    await add_to_track("checklist", method="manual", invitation="Join us, {{ user }}",
                       confirmation="Welcome aboard, {{ user }}.")


@track("checklist")
async def checklist(run: Run) -> None:
    await send_message("Your checklist.")


@track("dormant", active=False)
async def dormant(run: Run) -> None:
    await send_message("never")


@automation(name="add-computed", reentry="always")
@on("add.please")
async def add_computed(run: Run) -> None:
    await add_to_track(run.event["track"])


@track("ping")
async def ping(run: Run) -> None:
    await wait(days=1)
    await add_to_track(run.event.get("next", "pong"), reenroll=True)


@track("pong")
async def pong(run: Run) -> None:
    await wait(days=1)
    await add_to_track(run.event.get("next", "ping"), reenroll=True)


FLOWS = (add_manager, invite, checklist, dormant, add_computed, ping, pong)


@pytest.fixture
def sim() -> Any:
    with Simulation(*FLOWS) as simulation:
        simulation.add_user("boss", name="Grace")
        for report in ("r1", "r2", "r3"):
            simulation.add_user(report, manager="boss")
        yield simulation


def adds(sim: Simulation, user: str) -> list[Any]:
    return [a.result for a in sim.actions(user=user, name="add_to_track")]


def confirmations(sim: Simulation, user: str) -> list[str]:
    return [m["text"] for m in sim.platform.messages(user, "confirmation")]


def test_three_reports_in_one_batch_add_their_manager_once(sim: Simulation) -> None:
    sim.emit_many([{"event": "report.started", "user": r} for r in ("r1", "r2", "r3")])
    results = [a.result for a in sim.actions(name="add_to_track")]
    assert results == ["added"] + ["skipped: started the track before "
                                   "(re-enrollment is off)"] * 2
    assert confirmations(sim, "boss") == [DEFAULT_CONFIRMATION]
    assert [r.flow for r in sim.runs(user="boss")] == ["checklist"]


def test_the_example_manager_workflow_enrolls_once_per_report_in_one_batch() -> None:
    with Simulation("tracks") as sim:
        sim.add_user("boss", name="Grace")
        for report in ("Ada", "Bob", "Cy"):
            sim.add_user(report, name=report, manager="boss")
        sim.emit_many([{"event": "track.joined", "user": r, "track": "day-1"}
                       for r in ("Ada", "Bob", "Cy")])
        # re-enrollment on: one checklist, and one confirmation, per report
        assert [r.flow for r in sim.runs(user="boss")] == ["manager-onboarding"] * 3
        assert sorted(confirmations(sim, "boss")) == [
            f"Grace, {r} starts today: your checklist is ready." for r in ("Ada", "Bob", "Cy")]


def test_a_user_invited_twice_is_invited_once_and_confirmed_once(sim: Simulation) -> None:
    sim.emit_many([{"event": "invite.please", "user": "r1"}] * 2)
    assert adds(sim, "r1") == ["invited", "skipped: invited before: the invitation is still open"]
    assert len(sim.platform.messages("r1", "invitation")) == 1
    sim.emit("track.joined", user="r1", track="checklist")
    assert confirmations(sim, "r1") == ["Welcome aboard, r1."]
    assert [r.flow for r in sim.runs(user="r1", flow="checklist")] == ["checklist"]


@pytest.mark.parametrize(("destination", "reason"), [
    ("nowhere", "skipped: no track 'nowhere' (tracks: "),
    ("dormant", "skipped: track 'dormant' is not active"),
])
def test_a_computed_destination_that_cannot_run_is_skipped_and_sends_nothing(
        sim: Simulation, destination: str, reason: str) -> None:
    sim.emit("add.please", user="r1", track=destination)
    (result,) = adds(sim, "r1")
    assert result.startswith(reason)
    assert confirmations(sim, "r1") == []
    assert [r.flow for r in sim.runs(user="r1")] == ["add-computed"]
    (row,) = sim.platform.track_enrollments("r1")
    assert row["result"] == "skipped" and row["reason"] == result.removeprefix("skipped: ")


def test_two_tracks_adding_each_other_stop_at_the_loop(sim: Simulation) -> None:
    sim.emit("track.joined", user="r1", track="ping")
    sim.advance(days=10)
    assert [r.flow for r in sim.runs(user="r1")] == ["ping", "pong"]
    assert adds(sim, "r1") == ["added", "skipped: would loop (ping → pong → ping)"]


def test_the_loop_guard_looks_back_only_over_its_window(
        sim: Simulation, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWKIT_TRACK_LOOP_DAYS", "0.5")
    sim.emit("track.joined", user="r1", track="ping")
    sim.advance(days=4)  # ping added pong on day 1; on day 2 that is a day back: allowed
    assert [r.flow for r in sim.runs(user="r1")][:3] == ["ping", "pong", "ping"]


def test_a_track_adding_to_itself_by_a_computed_name_would_loop(sim: Simulation) -> None:
    sim.emit("track.joined", user="r1", track="ping", next="ping")
    sim.advance(days=3)
    assert adds(sim, "r1") == ["skipped: would loop (ping → ping)"]


def test_the_default_confirmation_is_the_seeds_text() -> None:
    assert DEFAULT_CONFIRMATION == "You\u2019ve been added to the track! \U0001f389"


def test_an_open_invitation_is_not_sent_again_later(sim: Simulation) -> None:
    sim.emit("invite.please", user="r1")
    sim.advance(days=30)
    sim.emit("invite.please", user="r1")
    assert adds(sim, "r1") == ["invited", "skipped: invited before: the invitation is still open"]
    assert len(sim.platform.messages("r1", "invitation")) == 1


def test_an_add_retried_after_a_failure_is_not_skipped_as_its_own_duplicate(
        sim: Simulation, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowkit.lms.platform import BoundSqlPlatform

    real = BoundSqlPlatform.message
    failures = []

    def flaky(self: BoundSqlPlatform, *args: Any, **kwargs: Any) -> bool:
        if kwargs.get("kind") == "confirmation" and not failures:
            failures.append(1)
            raise ConnectionError("the message service is down")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(BoundSqlPlatform, "message", flaky)
    sim.emit("add.please", user="r1", track="checklist")  # claimed, then failed
    sim.advance(seconds=5)  # the retry, with the same key
    assert adds(sim, "r1") == ["added"]
    assert confirmations(sim, "r1") == [DEFAULT_CONFIRMATION]
    assert [r.flow for r in sim.runs(user="r1", flow="checklist")] == ["checklist"]

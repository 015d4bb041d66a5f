"""Quiet hours and frequency caps, on the Simulation's virtual clock."""

from __future__ import annotations

import pendulum

from flowkit import Engine
from flowkit.clock import VirtualClock
from flowkit.rules import FrequencyCap, QuietHours, Rules
from flowkit.testing import Simulation
from tests.rules import flows

QUIET = QuietHours("08:00", "21:00")
TWO_A_DAY = Rules(quiet_hours=QUIET, caps=(FrequencyCap("email", 2, per="day"),))


def local_times(sim: Simulation, user: str, tz: str) -> list[tuple[str, str]]:
    return [(a.args["template"], a.at.in_timezone(tz).format("YYYY-MM-DD HH:mm"))
            for a in sim.actions(user=user)]


def test_a_user_in_tokyo_gets_the_2300_email_at_0800_local() -> None:
    # given quiet hours 08:00-21:00 and a learner in Tokyo
    sim = Simulation(flows.welcome, start="2026-03-02T14:00:00+00:00", rules=TWO_A_DAY)
    sim.add_user("u1", email="u1@example.com", timezone="Asia/Tokyo")
    # when they enroll at 23:00 Tokyo time
    sim.emit("user.enrolled", user="u1", course="python-101")
    # then nothing goes out at night, and the run rests on a durable timer
    assert sim.actions(user="u1") == []
    run = sim.run(user="u1")
    assert run.status == "waiting"
    assert run.wakes_at == pendulum.parse("2026-03-02T23:00:00+00:00")
    deferred = [h for h in run.history if h.kind == "deferred"]
    assert deferred[0].detail["reason"] == "deferred to 08:00 Asia/Tokyo by quiet hours"
    # and the email goes at 08:00 the next morning, local time
    sim.advance(days=1)
    assert local_times(sim, "u1", "Asia/Tokyo") == [("welcome", "2026-03-03 08:00")]
    assert sim.run(user="u1").status == "completed"


def test_the_third_email_of_a_day_waits_for_the_next_day() -> None:
    # given a cap of two emails a day, across flows
    sim = Simulation(flows.welcome, flows.reminder, flows.three_emails,
                     start="2026-03-02T09:00:00+00:00", rules=TWO_A_DAY)
    sim.add_user("u1", email="u1@example.com", timezone="Europe/Paris")
    # when two flows send three emails in one morning
    sim.emit("user.enrolled", user="u1", course="python-101")
    sim.emit("reminder.due", user="u1", course="python-101")
    sim.emit("drip.started", user="u1", course="python-101")
    # then two go out today and the rest wait: one a day, at 08:00 Paris time
    sim.advance(days=3)
    assert local_times(sim, "u1", "Europe/Paris") == [
        ("welcome", "2026-03-02 10:00"), ("reminder", "2026-03-02 10:00"),
        ("welcome", "2026-03-03 08:00"), ("reminder", "2026-03-03 08:00"),
        ("tips", "2026-03-04 08:00")]
    history = sim.run(user="u1", flow="three_emails").history
    reasons = [h.detail["reason"] for h in history if h.kind == "deferred"]
    assert reasons[0] == "deferred to 08:00 Europe/Paris by frequency cap (2 email per day)"


def test_a_low_priority_email_over_the_cap_is_dropped_with_its_reason() -> None:
    sim = Simulation(flows.welcome, flows.reminder, flows.tips, rules=TWO_A_DAY)
    sim.add_user("u1", email="u1@example.com")
    sim.emit("user.enrolled", user="u1", course="python-101")
    sim.emit("reminder.due", user="u1", course="python-101")
    sim.emit("tips.due", user="u1", course="python-101")
    assert [a.args["template"] for a in sim.actions(user="u1")] == ["welcome", "reminder"]
    run = sim.run(user="u1", flow="tips")
    assert run.status == "completed"
    dropped = [h for h in run.history if h.kind == "dropped"]
    assert dropped[0].detail["reason"] == "dropped by frequency cap (2 email per day)"
    assert [h.kind for h in run.history] == ["started", "dropped", "completed"]


def test_transactional_messages_ignore_quiet_hours_and_caps() -> None:
    sim = Simulation(flows.welcome, flows.reminder, flows.receipt,
                     start="2026-03-02T22:30:00+00:00", rules=TWO_A_DAY)
    sim.add_user("u1", email="u1@example.com")
    sim.emit("receipt.due", user="u1", course="python-101")
    sim.emit("user.enrolled", user="u1", course="python-101")
    assert [a.args["template"] for a in sim.actions(user="u1")] == ["welcome"]
    assert sim.run(user="u1", flow="receipt").status == "completed"


def test_a_flow_overrides_the_project_quiet_hours() -> None:
    # given office hours for one flow: 09:00-17:00, Monday to Friday; Friday 18:00 Paris
    sim = Simulation(flows.office_news, flows.welcome, start="2026-03-06T17:00:00+00:00",
                     rules=TWO_A_DAY)
    sim.add_user("u1", email="u1@example.com", timezone="Europe/Paris")
    sim.emit("office.news", user="u1", course="python-101")
    sim.emit("user.enrolled", user="u1", course="python-101")
    sim.advance(days=4)
    # then the project's rules let the welcome out at once, and the news waits for Monday
    assert local_times(sim, "u1", "Europe/Paris") == [
        ("welcome", "2026-03-06 18:00"), ("tips", "2026-03-09 09:00")]
    deferred = [h for h in sim.run(user="u1", flow="office_news").history
                if h.kind == "deferred"]
    assert deferred[0].detail["reason"] == \
        "deferred to Monday 9 March 09:00 Europe/Paris by quiet hours"


def test_an_exit_cancels_a_deferred_message() -> None:
    sim = Simulation(flows.nudge, start="2026-03-02T22:00:00+00:00", rules=TWO_A_DAY)
    sim.add_user("u1", email="u1@example.com")
    sim.emit("nudge.due", user="u1", course="python-101")
    assert sim.run(user="u1").status == "waiting"
    sim.emit("user.unsubscribed", user="u1")
    sim.advance(days=1)
    assert sim.actions(user="u1") == []
    assert sim.run(user="u1").status == "exited"


def test_quiet_hours_next_allowed_moment_wraps_and_skips_weekends() -> None:
    night = QuietHours("22:00", "06:00")
    moment = pendulum.datetime(2026, 3, 2, 12, tz="UTC")
    assert night.next_allowed(moment, "UTC") == pendulum.datetime(2026, 3, 2, 22, tz="UTC")
    office = QuietHours("09:00", "17:00", weekdays_only=True)
    saturday = pendulum.datetime(2026, 3, 7, 12, tz="UTC")
    assert office.next_allowed(saturday, "UTC") == pendulum.datetime(2026, 3, 9, 9, tz="UTC")
    assert QuietHours("08:00", "08:00").next_allowed(saturday, "UTC") is None


def test_caps_hold_on_sqlite_and_postgresql_across_batches(database_url: str) -> None:
    # given the engine on each database, a cap of two emails a day and a failing send
    clock = VirtualClock(pendulum.datetime(2026, 3, 2, 9, tz="UTC"))
    with Engine(database_url, [flows.welcome, flows.reminder, flows.three_emails],
                clock=clock, rules=TWO_A_DAY, batch_size=2) as engine:
        engine.add_user("u1", email="u1@example.com")
        engine.add_user("u2", email="u2@example.com")
        # when three flows start for each user in batches of two events
        for user in ("u1", "u2"):
            engine.emit("user.enrolled", user=user, course="python-101")
            engine.emit("reminder.due", user=user)  # fails: its template needs a course
            engine.emit("drip.started", user=user, course="python-101")
        # then each user gets two emails today: the failed one gave its count back
        for user in ("u1", "u2"):
            assert [a.args["template"] for a in engine.actions(user=user)] == [
                "welcome", "welcome"]
        clock.set(pendulum.datetime(2026, 3, 3, 9, tz="UTC"))
        engine.tick()
        assert [a.args["template"] for a in engine.actions(user="u1")] == [
            "welcome", "welcome", "reminder", "tips"]

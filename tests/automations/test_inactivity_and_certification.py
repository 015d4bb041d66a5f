"""Inactivity triggers (basic and advanced sequences) and certification renewal,
simulated: the seed's steps, both sides of each branch, exits mid-wait."""

from __future__ import annotations

import sqlalchemy as sa

from automations.certification_renewal import certification_renewal
from automations.inactive_reengagement import inactive_reengagement
from automations.inactivity_sequence import inactivity_sequence
from flowkit.store import schema as t
from flowkit.testing import Simulation


def subjects(sim: Simulation, user: str) -> list[str]:
    return [e["subject"] for e in sim.platform.emails(user)]


def test_two_weeks_without_a_visit_sends_two_reminders() -> None:
    with Simulation(inactive_reengagement) as sim:
        sim.add_user("u1", name="Ada")
        sim.emit("user.visited", user="u1")
        sim.advance(days=13)
        assert subjects(sim, "u1") == []
        sim.advance(days=1)
        assert subjects(sim, "u1") == ["We miss you, Ada"]
        sim.advance(days=3)
        assert subjects(sim, "u1") == ["We miss you, Ada", "Still there, Ada?"]


def test_every_visit_resets_the_same_timer() -> None:
    with Simulation(inactive_reengagement) as sim:
        for _ in range(1000):
            sim.emit("user.visited", user="u1")
            sim.advance(hours=1)
        with sim.engine.db.connect() as conn:
            timers = conn.execute(sa.select(sa.func.count()).select_from(t.timers)).scalar()
        assert timers == 1
        sim.advance(days=14)
        assert len(subjects(sim, "u1")) == 1


def test_coming_back_mid_sequence_ends_it_and_rearms_the_trigger() -> None:
    with Simulation(inactive_reengagement) as sim:
        sim.emit("user.visited", user="u1")
        sim.advance(days=15)  # reminded on day 14
        sim.emit("user.visited", user="u1")  # back on day 15: the sequence exits
        sim.advance(days=5)
        assert len(subjects(sim, "u1")) == 1
        sim.advance(days=10)  # away since day 15: reminded again on day 29
        assert len(subjects(sim, "u1")) == 2
        runs = sim.runs(user="u1", flow="inactive_reengagement")
        assert [r.status for r in runs] == ["exited", "waiting"]


def test_the_advanced_sequence_welcomes_back_those_who_returned() -> None:
    with Simulation(inactivity_sequence) as sim:
        sim.add_user("u1", name="Ada")
        sim.emit("user.visited", user="u1", course="python-101")
        sim.emit("user.visited", user="u1", course="rust-101")  # another course: no reset
        sim.advance(days=10)
        assert subjects(sim, "u1") == ["python-101 misses you, Ada"]
        sim.advance(days=2)
        sim.emit("user.visited", user="u1")  # visits the school, not the course
        sim.advance(days=12)
        assert sim.platform.notifications("u1") == [
            "Welcome back, Ada! Pick up where you left off."]
        assert subjects(sim, "u1")[-1] == "20% off to finish python-101"


def test_the_advanced_sequence_insists_with_those_who_did_not() -> None:
    with Simulation(inactivity_sequence) as sim:
        sim.emit("user.visited", user="u1", course="python-101")
        sim.advance(days=24)
        assert subjects(sim, "u1") == [
            "python-101 misses you, u1", "Do not lose your progress in python-101",
            "20% off to finish python-101"]


def test_the_advanced_sequence_stops_on_sign_in_or_completion() -> None:
    with Simulation(inactivity_sequence) as sim:
        for user in ("a", "b"):
            sim.emit("user.visited", user=user, course="python-101")
        sim.advance(days=11)
        sim.emit("user.signed_in", user="a")
        sim.emit("course.completed", user="b", course="python-101")
        sim.advance(days=20)
        for user in ("a", "b"):
            assert len(subjects(sim, user)) == 1
            assert sim.run(user=user, flow="inactivity_sequence").status == "exited"


def test_renewal_reminds_thirty_days_before_expiry_in_the_users_timezone() -> None:
    with Simulation(certification_renewal, start="2026-01-10T00:00:00Z") as sim:
        sim.add_user("u1", name="Ada", timezone="America/New_York",
                     fields={"cert_expires": "2026-06-01"})
        sim.emit("certificate.awarded", user="u1", certificate="safety")
        sim.advance(to="2026-05-02T03:59:00Z")
        assert subjects(sim, "u1") == []
        sim.advance(minutes=1)  # 2026-05-02 00:00 in New York
        assert subjects(sim, "u1") == ["Your certificate expires in 30 days, Ada"]
        sim.emit("user.enrolled", user="u1", course="safety-refresher")
        sim.advance(days=15)
        assert subjects(sim, "u1")[-1] == "You are enrolled in safety-refresher"


def test_renewal_follows_up_and_an_expired_date_goes_on_at_once() -> None:
    with Simulation(certification_renewal, start="2026-01-10T00:00:00Z") as sim:
        sim.add_user("u1", fields={"cert_expires": "2026-01-20"})  # 30 days before: past
        sim.emit("certificate.awarded", user="u1", certificate="safety")
        assert len(subjects(sim, "u1")) == 1
        assert "wait_skipped" in sim.run(user="u1").kinds()
        sim.advance(days=15)
        assert subjects(sim, "u1")[-1] == "Two weeks left to renew your certificate"


def test_completing_the_refresher_ends_renewal_mid_wait() -> None:
    with Simulation(certification_renewal, start="2026-01-10T00:00:00Z") as sim:
        sim.add_user("u1", fields={"cert_expires": "2026-06-01"})
        sim.emit("certificate.awarded", user="u1", certificate="safety")
        sim.advance(days=30)
        sim.emit("course.completed", user="u1", course="safety-refresher")
        sim.advance(days=200)
        assert subjects(sim, "u1") == []
        assert sim.run(user="u1").status == "exited"


def test_a_user_without_the_date_field_fails_with_the_reason() -> None:
    with Simulation(certification_renewal) as sim:
        sim.emit("certificate.awarded", user="u1", certificate="safety")
        run = sim.run(user="u1")
        assert run.status == "failed"
        assert "has no 'cert_expires' field" in (run.reason or "")

"""Dates carried by events: waits until a date the event names, in the user's timezone
(as ``field_date`` does for user fields), and conditions that compare dates."""

from __future__ import annotations

import datetime as dt

import pytest

from flowkit import Run, on, wait
from flowkit.errors import EventError
from flowkit.lms import event_date, field_date, send_notification
from flowkit.testing import Simulation


@on("certificate.awarded", where=lambda event: event.get("expires_at") is not None)
async def renew_from_event(run: Run) -> None:
    await wait(until=event_date(run, "expires_at", days=-30))
    await send_notification("Your certificate expires in 30 days.")


@on("user.signed_up",
    where=lambda event: event_date(event, "registered_at").date() >= dt.date(2026, 3, 1))
async def march_cohort(run: Run) -> None:
    await send_notification("Welcome to the March cohort.")


def test_a_wait_until_an_event_date_ends_at_midnight_in_the_users_timezone() -> None:
    with Simulation(renew_from_event, start="2026-12-01T00:00:00+00:00") as sim:
        sim.add_user("u1", timezone="America/New_York")
        sim.emit("certificate.awarded", user="u1", certificate="safety",
                 expires_at="2027-01-31")
        sim.advance(to="2027-01-01T04:59:00+00:00")  # 23:59 on Dec 31 in New York
        assert sim.platform.notifications("u1") == []
        sim.advance(to="2027-01-01T05:00:00+00:00")  # midnight in New York
        assert sim.platform.notifications("u1") == ["Your certificate expires in 30 days."]


def test_event_date_and_field_date_agree_on_the_same_date() -> None:
    run = Run(id="r", flow="f", user=_user(), event={"event": "x", "on": "2027-01-31"},
              now=None)  # type: ignore[arg-type]
    assert event_date(run, "on", days=-30) == field_date(run, "on", days=-30)
    assert event_date(run, "on", days=-30) == dt.datetime(2027, 1, 1)


def _user():  # type: ignore[no-untyped-def]
    from flowkit.context import User

    return User(id="u1", timezone="Europe/Paris", fields={"on": "2027-01-31"})


def test_a_condition_compares_registration_dates() -> None:
    with Simulation(march_cohort) as sim:
        sim.emit("user.signed_up", user="feb", registered_at="2026-02-28T23:00:00+00:00")
        sim.emit("user.signed_up", user="mar", registered_at="2026-03-01")
        assert sim.platform.notifications("feb") == []
        assert sim.platform.notifications("mar") == ["Welcome to the March cohort."]


def test_an_event_date_that_is_not_a_date_is_refused() -> None:
    with Simulation(renew_from_event) as sim, pytest.raises(EventError, match="expires_at"):
        sim.emit("certificate.awarded", user="u1", certificate="safety",
                 expires_at="soon")

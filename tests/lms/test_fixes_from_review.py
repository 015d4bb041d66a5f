"""Behaviour a reviewer of the learning-platform docs found wrong, now right."""

from __future__ import annotations

import datetime as dt

import pytest

from flowkit import Run, on, track, wait
from flowkit.lms import add_to_track, enroll, field_date
from flowkit.lms.platform import SqlPlatform
from flowkit.testing import Simulation


@on("go")
async def enrolls_twice(run: Run) -> None:
    await enroll("python-101", payment=10, invoice=True)
    await enroll("python-101", payment=10, invoice=True)


def test_enroll_charges_only_for_a_new_enrollment() -> None:
    with Simulation(enrolls_twice) as sim:
        sim.emit("go", user="u1")
        assert len(sim.platform.payments("u1")) == 1
        assert len(sim.platform.invoices("u1")) == 1


@on("go")
async def fragile(run: Run) -> None:
    await enroll("python-101")
    if not run.user.fields.get("ok"):
        raise RuntimeError("flow bug")
    await wait(days=1)


def test_a_run_that_failed_in_its_own_code_is_retried_without_duplicates() -> None:
    with Simulation(fragile) as sim:
        sim.emit("go", user="u1")
        run = sim.run(user="u1")
        assert run.status == "failed"
        sim.add_user("u1", fields={"ok": True})  # the cause is fixed
        sim.engine.retry(run.id)
        run = sim.run(user="u1")
        assert (run.status, run.step) == ("waiting", "wait:1d")
        assert [a.name for a in sim.actions(user="u1")] == ["enroll"]  # one ledger row


@on("go")
async def needs_date(run: Run) -> None:
    await wait(until=field_date(run, "due"))


def test_a_run_that_failed_before_its_first_step_starts_again_on_retry() -> None:
    with Simulation(needs_date) as sim:
        sim.emit("go", user="u1")
        run = sim.run(user="u1")
        assert run.status == "failed"
        sim.add_user("u1", fields={"due": "2026-12-01"})
        sim.engine.retry(run.id)
        assert sim.run(user="u1").status == "waiting"


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-06-01T10:00:00+02:00", "2026-06-01T08:00:00+00:00"),  # explicit offset kept
    ("2026-06-01T10:00:00", "2026-06-01T14:00:00+00:00"),  # naive: New York local time
    (dt.datetime(2026, 6, 1, 10, 0), "2026-06-01T14:00:00+00:00"),  # a Python datetime
])
def test_field_dates_keep_their_meaning(value: object, expected: str) -> None:
    with Simulation(needs_date, start="2026-01-01T00:00:00Z") as sim:
        sim.add_user("u1", timezone="America/New_York", fields={"due": value})
        sim.emit("go", user="u1")
        assert sim.run(user="u1").wakes_at.isoformat() == expected  # type: ignore[union-attr]


@track("club")
async def club(run: Run) -> None:
    await wait(days=1)


@on("invite")
async def inviter(run: Run) -> None:
    await add_to_track("club", method="manual", invitation="Join us", reenroll=True)


def test_joining_a_re_enrolling_invitation_starts_a_new_instance() -> None:
    with Simulation(club, inviter) as sim:
        sim.emit("track.joined", user="u1", track="club")
        sim.emit("invite", user="u1")
        sim.emit("track.joined", user="u1", track="club")  # clicks the join button
        assert [r.flow for r in sim.runs(user="u1", flow="club")] == ["club", "club"]


class CountingPlatform(SqlPlatform):
    bound = 0

    def bind(self, conn, now):  # type: ignore[no-untyped-def]
        CountingPlatform.bound += 1
        return super().bind(conn, now)


def test_flowkit_platform_names_an_adapter(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: object) -> None:
    from flowkit import Engine
    from flowkit.errors import UnknownFlowError

    monkeypatch.setenv("FLOWKIT_PLATFORM", f"{__name__}:CountingPlatform")
    with Engine(f"sqlite:///{tmp_path}/p.db", [enrolls_twice]) as engine:
        assert isinstance(engine.platform, CountingPlatform)
        engine.emit("go", user="u1")
    assert CountingPlatform.bound > 0
    monkeypatch.setenv("FLOWKIT_PLATFORM", "nowhere:Nothing")
    with pytest.raises(UnknownFlowError, match="names no platform class"):
        Engine(f"sqlite:///{tmp_path}/q.db", [enrolls_twice])


def test_a_platform_set_on_a_simulations_engine_gets_the_actions() -> None:
    counting = CountingPlatform()
    with Simulation(enrolls_twice) as sim:
        sim.engine.platform = counting  # as docs/lms/adapters.md swaps in an adapter
        before = CountingPlatform.bound
        sim.emit("go", user="u1")
        assert sim.engine.platform is counting
        assert CountingPlatform.bound > before

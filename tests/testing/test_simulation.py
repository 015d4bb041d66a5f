"""The Simulation's own promises: virtual time, timers fired at their due time in
order, and the records tests read."""

from __future__ import annotations

import pytest

from flowkit import Run, action, on, wait
from flowkit.testing import Simulation


@action
def note(text: str) -> str:
    return text


@on("tick.started")
async def ticker(run: Run) -> None:
    for i in range(3):
        await wait(hours=run.event["every"])
        await note(f"tick {i}")


def test_advance_fires_each_timer_at_its_own_due_time_in_order() -> None:
    with Simulation(ticker, start="2026-01-01T00:00:00Z") as sim:
        sim.emit("tick.started", user="a", every=5)
        sim.emit("tick.started", user="b", every=7)
        fired = sim.advance(days=1)
        assert fired == 6
        seen = [(f"{a.at:%H}", a.user, a.args["text"]) for a in sim.actions()]
        assert seen == [("05", "a", "tick 0"), ("07", "b", "tick 0"), ("10", "a", "tick 1"),
                        ("14", "b", "tick 1"), ("15", "a", "tick 2"), ("21", "b", "tick 2")]
        assert sim.now.isoformat() == "2026-01-02T00:00:00+00:00"


def test_advance_to_a_date_and_not_backwards() -> None:
    with Simulation(ticker, start="2026-01-01T00:00:00Z") as sim:
        sim.advance(to="2026-02-01")
        assert sim.now.isoformat() == "2026-02-01T00:00:00+00:00"
        with pytest.raises(ValueError, match="back in time"):
            sim.advance(to="2026-01-15")


def test_simulations_are_independent() -> None:
    with Simulation(ticker) as one, Simulation(ticker) as two:
        one.emit("tick.started", user="a", every=1)
        assert two.runs() == []


def test_a_sixty_day_flow_is_simulated_quickly() -> None:
    # behaviour, not timing: sixty daily waits resolve in one advance call
    @on("user.enrolled")
    async def daily(run: Run) -> None:
        for day in range(60):
            await wait(days=1)
            await note(f"day {day + 1}")

    with Simulation(daily) as sim:
        sim.emit("user.enrolled", user="u1", course="c")
        assert sim.advance(days=60) == 60
        assert sim.actions()[-1].args["text"] == "day 60"
        assert sim.run(user="u1").status == "completed"


def test_the_sim_fixture_loads_the_project_flows(sim: Simulation) -> None:
    assert "onboarding_drip" in sim.engine.flows

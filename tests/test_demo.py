"""The demo's output: tables as wide as their content, and a summary that says what
still waits and why."""

from __future__ import annotations

from automations.inactive_reengagement import inactive_reengagement
from flowkit.demo import summary, table
from flowkit.testing import Simulation


def test_a_long_flow_name_keeps_the_columns_aligned() -> None:
    lines: list[str] = []
    table(lines.append, "runs", ("flow", "status", "runs"),
          [("a", "waiting", 1), ("inactivity-10d-python-101-and-then-some", "completed", 20)])
    rows = [line for line in lines if "waiting" in line or "completed" in line]
    assert len({row.index("waiting" if "waiting" in row else "completed") for row in rows}) == 1
    assert len({len(row.rstrip()) for row in rows}) == 1  # numbers right-aligned


def test_the_summary_explains_the_inactivity_watchers_that_still_wait() -> None:
    with Simulation(inactive_reengagement) as sim:
        sim.emit("user.visited", user="u1")
        sim.advance(days=20)
        lines: list[str] = []
        summary(sim.engine.db, sim.now, lines.append)
    text = "\n".join(lines)
    assert "still waiting, and why" in text
    (watcher,) = [line for line in lines if line.lstrip().startswith("inactivity-14d")
                  and "event" in line]
    assert "event user.visited" in watcher
    assert "an inactivity watcher: one per user, waiting for their next visit" in watcher


def test_a_title_wider_than_its_table_stays_on_one_line() -> None:
    lines: list[str] = []
    table(lines.append, "runs by flow and status", ("flow", "runs"), [("a", 1)])
    assert lines[0] == "runs by flow and status"
    assert not any(line.strip() == "status" for line in lines)

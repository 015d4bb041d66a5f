"""``flowkit demo``: compile the example flows and simulate a cohort of users through them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from flowkit.runtime.discovery import DEFAULT_FOLDERS, load_flows
from flowkit.testing.simulation import Simulation


def run_demo(*, users: int = 6, days: int = 10, echo: Callable[[str], None] = print) -> None:
    folders = [f for f in DEFAULT_FOLDERS if Path(f).is_dir()]
    if not folders:
        echo("no automations/ or tracks/ folder here: run the demo from the project root")
        return
    flows = load_flows(folders)
    where = ", ".join(f"{folder}/" for folder in folders)
    echo(f"compiled {len(flows)} flows from {where}:")
    for flow in flows:
        triggers = ", ".join(t.event for t in flow.triggers) or "added by add_to_track"
        echo(f"  {flow.kind:<10} {flow.name:<18} {len(flow.ir.steps)} steps, "
             f"version {flow.version}  ({triggers})")
        for step in flow.ir.steps:
            echo(f"      {step.kind:<9} {step.id}")

    with Simulation(*flows, start="2026-03-02T09:00:00+00:00") as sim:
        echo(f"\nsimulating {users} users over {days} days from {sim.now:%Y-%m-%d %H:%M} UTC")
        ids = [f"user-{i + 1}" for i in range(users)]
        for i, uid in enumerate(ids):
            sim.add_user(uid, name=f"Learner {i + 1}", email=f"{uid}@example.com")
            sim.emit("user.signed_up", user=uid, source="web")
        for i, uid in enumerate(ids):
            if i % 3 != 2:  # a third never enroll, and get the pick-a-course nudges
                sim.advance(hours=1)
                sim.emit("user.enrolled", user=uid, course="python-101")
        if "day-1" in {f.name for f in flows}:
            sim.start("day-1", user=ids[0])
        sim.advance(days=3)
        for i, uid in enumerate(ids):
            if i % 3 == 0:  # completed a unit: they get encouragement, the others tips
                sim.add_user(uid, name=f"Learner {i + 1}", email=f"{uid}@example.com",
                             fields={"units_completed": 1})
        if len(ids) > 1:
            sim.emit("course.completed", user=ids[1], course="python-101")
            echo(f"{sim.now:%Y-%m-%d %H:%M}  {ids[1]} completes python-101: "
                 "their drip stops mid-wait")
        sim.advance(to=sim.now.add(days=max(days - 3, 0)))

        echo("\nwhat happened:")
        for record in sim.actions():
            template = record.args.get("template", "")
            echo(f"  {record.at:%Y-%m-%d %H:%M}  {record.user:<8} {record.flow:<16} "
                 f"{record.name} {template}")
        echo("\nruns by flow and status:")
        counts = Counter((r.flow, r.status) for r in sim.runs())
        for (flow_name, status), count in sorted(counts.items()):
            echo(f"  {flow_name:<18} {status:<10} {count}")
        exited = [r for r in sim.runs() if r.status == "exited"]
        for run in exited:
            echo(f"  {run.user} left {run.flow} at step {run.step}: {run.reason}")

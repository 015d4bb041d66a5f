"""The demos: ``flowkit simulate`` (the example flows on a virtual clock, no services)
and the event stream of ``flowkit run --demo`` (a cohort of learners over a few
simulated days, on the real workers).

The stream: users sign up over the first simulated day; two in three enroll in
python-101 within hours; some complete a unit, some complete the course (which stops
their drip); half keep visiting for three weeks, the others go quiet. Events are
emitted when the (scaled) clock reaches them.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum

from flowkit.clock import Clock
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
                sim.emit("unit.completed", user=uid, course="python-101", unit=1)
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


class DemoStream:
    def __init__(self, users: int, clock: Clock, echo: Callable[[str], None],
                 seed: int = 7) -> None:
        self.clock = clock
        self.echo = echo
        self.done = False
        start = clock.now()
        rng = random.Random(seed)
        self.plan: list[tuple[pendulum.DateTime, str, dict[str, Any]]] = []
        for i in range(users):
            uid = f"learner-{i + 1:04d}"
            signed_up = start.add(minutes=rng.randint(0, 24 * 60))
            self.plan.append((signed_up, "user.signed_up", {"user": uid, "source": "web"}))
            if rng.random() < 2 / 3:
                enrolled = signed_up.add(minutes=rng.randint(5, 8 * 60))
                self.plan.append((enrolled, "user.enrolled",
                                  {"user": uid, "course": "python-101"}))
                if rng.random() < 0.5:
                    unit = enrolled.add(hours=rng.randint(12, 120))
                    self.plan.append((unit, "unit.completed",
                                      {"user": uid, "course": "python-101", "unit": 1}))
                if rng.random() < 0.2:
                    finished = enrolled.add(hours=rng.randint(48, 140))
                    self.plan.append((finished, "course.completed",
                                      {"user": uid, "course": "python-101"}))
            # Half of them keep coming back every few days for three weeks; the others
            # drift away, and the inactivity automations notice.
            regular = rng.random() < 0.5
            for day in range(0, 21 if regular else 2, 3):
                self.plan.append((signed_up.add(days=day, hours=rng.randint(0, 12)),
                                  "user.visited", {"user": uid, "course": "python-101"}))
        self.plan.sort(key=lambda item: item[0])

    def run(self, stop: threading.Event) -> None:
        from flowkit.runtime import services
        from flowkit.runtime.engine import Engine
        from flowkit.runtime.worker import DramatiqDispatcher

        engine = Engine(services.database_url(), clock=self.clock,
                        dispatcher=DramatiqDispatcher())
        emitted = 0
        try:
            while emitted < len(self.plan) and not stop.is_set():
                now = self.clock.now()
                ready = []
                while emitted < len(self.plan) and self.plan[emitted][0] <= now:
                    ready.append(self.plan[emitted])
                    emitted += 1
                for _at, name, fields in ready:
                    uid = fields["user"]
                    if name == "user.signed_up":
                        engine.add_user(uid, name=uid.replace("-", " ").title(),
                                        email=f"{uid}@example.com")
                if ready:
                    engine.emit_many([{"event": name, **fields} for _at, name, fields in ready])
                stop.wait(0.05)
            self.echo(f"demo: emitted all {emitted} events")
        finally:
            self.done = True
            engine.close()

"""The demos: ``flowkit simulate`` (the example flows on a virtual clock, no services)
and the event stream of ``flowkit run --demo`` (a cohort of learners over a few
simulated days, on the real workers).

The stream: users sign up over the first simulated day; two in three enroll in
python-101 within hours; some complete a unit, some complete the course (which stops
their drip); half keep visiting for three weeks, the others go quiet. Events are
emitted when the (scaled) clock reaches them.
"""

from __future__ import annotations

import io
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pendulum
import sqlalchemy as sa
from rich import box
from rich.console import Console
from rich.table import Table

from flowkit.clock import Clock
from flowkit.runtime.discovery import DEFAULT_FOLDERS, load_flows
from flowkit.store import database
from flowkit.store import schema as t
from flowkit.testing.simulation import Simulation

Echo = Callable[[str], None]


def table(echo: Echo, title: str, headers: Sequence[str],
          rows: Iterable[Sequence[object]]) -> None:
    """Print a table whose columns are as wide as their longest cell (rich), however
    long a flow's name is."""
    if title:
        echo(title)  # above the table, not its caption: a narrow table would wrap it
    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for header in headers:
        numeric = header in ("runs", "count")
        grid.add_column(header, justify="right" if numeric else "left", no_wrap=True)
    for row in rows:
        grid.add_row(*(str(cell) for cell in row))
    out = io.StringIO()
    Console(file=out, width=400, color_system=None, highlight=False).print(grid)
    for line in out.getvalue().rstrip("\n").splitlines():
        echo(line.rstrip())


def summary(db: sa.Engine, now: pendulum.DateTime, echo: Echo) -> None:
    """The end of a demo: runs by flow and status, the actions they ran, and what is
    still waiting, for what, and why."""
    with database.reading(db) as conn:
        counts = conn.execute(sa.select(t.runs.c.flow, t.runs.c.status, sa.func.count())
                              .group_by(t.runs.c.flow, t.runs.c.status)).all()
        actions = conn.execute(sa.select(t.actions.c.flow, t.actions.c.action,
                                         t.actions.c.args)).all()
        waiting = _waiting(conn)
    table(echo, "runs by flow and status", ("flow", "status", "runs"),
          sorted((flow, status, n) for flow, status, n in counts))
    done = Counter((flow, action, (args or {}).get("template", "")) for flow, action, args
                   in actions)
    table(echo, "actions run", ("flow", "action", "template", "count"),
          [(*key, n) for key, n in sorted(done.items())])
    if waiting:
        table(echo, "still waiting, and why", ("flow", "runs", "waiting for", "why"),
              [(flow, n, what, _why(flow, what, due, now)) for (flow, what), (n, due)
               in sorted(waiting.items())])


def _waiting(conn: sa.Connection) -> dict[tuple[str, str], tuple[int, Any]]:
    """Waiting runs by flow and what they wait for: an event (with or without a timeout)
    or a timer; with the latest moment one of them is due."""
    query = (sa.select(t.runs.c.flow, t.event_waits.c.event, t.timers.c.kind,
                       t.timers.c.due_at)
             .select_from(t.runs.outerjoin(t.event_waits, t.event_waits.c.run_id == t.runs.c.id)
                          .outerjoin(t.timers, t.timers.c.run_id == t.runs.c.id))
             .where(t.runs.c.status == "waiting"))
    out: dict[tuple[str, str], tuple[int, Any]] = {}
    for flow, event, kind, due in conn.execute(query):
        if event:
            what = f"event {event}" + (" (or a timeout)" if kind == "timeout" else "")
        else:
            what = "a timer" if kind else "nothing (being worked on)"
        n, latest = out.get((flow, what), (0, None))
        out[(flow, what)] = (n + 1, due if latest is None or (due and due > latest)
                             else latest)
    return out


def _why(flow: str, what: str, due: Any, now: pendulum.DateTime) -> str:
    if flow.startswith("inactivity-"):
        return ("an inactivity watcher: one per user, waiting for their next visit for "
                "as long as the user exists (by design)")
    if what.startswith("a timer") or "timeout" in what:
        return f"a wait that ends after the demo stopped (last due {due:%Y-%m-%d %H:%M})"
    return "waits for an event the demo did not send"


def run_demo(*, users: int = 6, days: int = 10, echo: Echo = print,
             sources: Sequence[str] = (), course: str = "python-101") -> None:
    """``flowkit simulate``: compile the project's flows (``sources``, default its
    automations/ and tracks/) and play a small cohort through them on a virtual clock:
    sign-ups, enrollments in ``course``, a completed unit, a completed course."""
    folders = list(sources) or [f for f in DEFAULT_FOLDERS if Path(f).is_dir()]
    if not folders:
        echo("no automations/ or tracks/ folder here: run it from your project's root "
             "(flowkit init makes one), or name the flows: flowkit simulate FILE_OR_FOLDER")
        return
    flows = load_flows(folders)
    where = ", ".join(f"{folder.rstrip('/')}/" if Path(folder).is_dir() else folder
                      for folder in folders)
    echo(f"compiled {len(flows)} flows from {where}:")
    table(echo, "", ("kind", "flow", "steps", "version", "starts on"),
          [(f.kind, f.name, len(f.ir.steps), f.version,
            ", ".join(t.event for t in f.triggers) or "add_to_track") for f in flows])

    with Simulation(*flows, start="2026-03-02T09:00:00+00:00") as sim:
        echo(f"\nsimulating {users} users over {days} days from {sim.now:%Y-%m-%d %H:%M} UTC")
        ids = [f"user-{i + 1}" for i in range(users)]
        for i, uid in enumerate(ids):
            sim.add_user(uid, name=f"Learner {i + 1}", email=f"{uid}@example.com")
            sim.emit("user.signed_up", user=uid, source="web")
        for i, uid in enumerate(ids):
            if i % 3 != 2:  # a third never enroll, and get the pick-a-course nudges
                sim.advance(hours=1)
                sim.emit("user.enrolled", user=uid, course=course)
        tracks = [f.name for f in flows if f.kind == "track" and f.active]
        if tracks:  # the first learner is added to a track (Day 1, in the examples)
            sim.start("day-1" if "day-1" in tracks else tracks[0], user=ids[0])
        sim.advance(days=3)
        for i, uid in enumerate(ids):
            if i % 3 == 0:  # completed a unit: they get encouragement, the others tips
                sim.emit("unit.completed", user=uid, course=course, unit=1)
        if len(ids) > 1:
            sim.emit("course.completed", user=ids[1], course=course)
            echo(f"{sim.now:%Y-%m-%d %H:%M}  {ids[1]} completes {course}")
        sim.advance(to=sim.now.add(days=max(days - 3, 0)))

        echo("")
        table(echo, "what happened", ("at", "user", "flow", "action", "template"),
              [(f"{r.at:%Y-%m-%d %H:%M}", r.user, r.flow, r.name,
                r.args.get("template", "")) for r in sim.actions()])
        counts = Counter((r.flow, r.status) for r in sim.runs())
        if not counts:
            listened = sorted({t.event for f in flows for t in f.triggers})
            echo("no run started: your flows start on " + (", ".join(listened) or
                 "add_to_track only") + "; this cohort sends user.signed_up, "
                 "user.enrolled, unit.completed, course.completed")
            return
        echo("")
        table(echo, "runs by flow and status", ("flow", "status", "runs"),
              [(*key, n) for key, n in sorted(counts.items())])
        for run in sim.runs():
            if run.status == "exited":
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

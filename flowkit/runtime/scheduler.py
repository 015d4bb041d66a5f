"""The scheduler: reads SQL for work that is due and sends the workers messages for it.

Timers and unrouted events live in SQL, so the scheduler needs no memory of its own:
each poll it counts the due timers and the shards with events waiting, and tops the
queues up. Several schedulers may run at once: a message is only a nudge, the work is
claimed in the worker's transaction, and a surplus message finds nothing to do.

It is also the sweeper: every ``sweep_after`` seconds it re-sends a message for every
kind of pending work even when the queues look busy, so work whose message was lost
(Redis restarted empty, a worker died holding it) is picked up within
``sweep_after + interval`` seconds (10.1 s by default).

When SMTP_URL is set it also delivers the email outbox (``flowkit.lms.mailer.Relay``),
on a thread of its own so that a slow mail server never delays a nudge.

It never exits on an outage: while the database or Redis is unreachable it retries with
backoff (up to 5 s between polls), says so once and again when it resumes; the sweep
after it resumes re-sends what was lost.
"""

from __future__ import annotations

import math
import os
import threading
import time

import attrs
import pendulum
import sqlalchemy as sa
from dramatiq.brokers.redis import RedisBroker

from flowkit.clock import Clock, clock_from_env
from flowkit.runtime import faults
from flowkit.runtime.logs import fault, log
from flowkit.runtime.services import redact_url
from flowkit.store import Store, database

SWEEP_AFTER = 10.0
CHECKPOINT_EVERY = 1.0  # seconds between checkpoints of a SQLite database's WAL


@attrs.frozen
class Snapshot:
    """What one poll saw and did."""

    at: pendulum.DateTime
    due_timers: int  # counted up to what one poll can send, or 100,000 for the gauge
    pending_shards: int
    timer_messages_sent: int
    route_messages_sent: int
    waiting_messages: dict[str, int]


class Scheduler:
    def __init__(self, db: sa.Engine, broker: RedisBroker, clock: Clock, *,
                 interval: float = 0.1, sweep_after: float = SWEEP_AFTER,
                 batch_size: int = 500, max_timer_messages: int = 16,
                 metrics_port: int | None = None) -> None:
        from flowkit.runtime import worker

        self.db = db
        self.store = Store(db)
        self.broker = broker
        self.clock = clock
        self.interval = interval
        self.sweep_after = sweep_after
        self.per_message = batch_size * worker.MAX_BATCHES_PER_MESSAGE
        self.max_timer_messages = max_timer_messages
        self._worker = worker
        self._last_route: dict[int, float] = {}
        self._last_sweep = time.monotonic()
        self._counted_at = -math.inf
        self._checkpointed = -math.inf
        self.mail = None
        if os.environ.get("SMTP_URL"):
            from flowkit.lms.mailer import Relay

            self.mail = Relay(db, os.environ["SMTP_URL"], clock)
        self.metrics = None
        if metrics_port:
            from flowkit.runtime.metrics import SchedulerMetrics

            self.metrics = SchedulerMetrics(metrics_port)

    def waiting(self, queue: str) -> int:
        """Messages in ``queue`` that no worker has taken yet."""
        return int(self.broker.client.llen(f"{self.broker.namespace}:{queue}"))

    def poll(self) -> Snapshot:
        """Count what is due and top the queues up. The due timers are counted up to
        what one poll can send (``per_message * max_timer_messages``), so that 50,000
        due at once cost a poll no more than 8,000; the metrics gauge gets a full
        count (up to 100,000) at most once a second."""
        now = self.clock.now()
        full = self.metrics is not None and time.monotonic() - self._counted_at >= 1.0
        with database.reading(self.db) as conn:
            if full:
                self._counted_at = time.monotonic()
                due, _oldest = self.store.due_count(conn, now)
            else:
                due, _oldest = self.store.due_count(
                    conn, now, cap=self.per_message * self.max_timer_messages)
            shards = self.store.pending_shards(conn)
        worker = self._worker
        depth = {q: self.waiting(q) for q in (worker.TIMERS_QUEUE, worker.ROUTE_QUEUE)}
        sweep = time.monotonic() - self._last_sweep >= self.sweep_after
        if sweep:
            self._last_sweep = time.monotonic()

        timer_messages = 0
        if due:
            wanted = min(math.ceil(due / self.per_message), self.max_timer_messages)
            timer_messages = max(wanted - depth[worker.TIMERS_QUEUE], 1 if sweep else 0)
            for _ in range(timer_messages):
                worker.fire_timers.send()

        route_messages = 0
        mono = time.monotonic()
        for shard in sorted(shards):
            recent = mono - self._last_route.get(shard, -math.inf) < 1.0
            if sweep or (not recent and depth[worker.ROUTE_QUEUE] < len(shards)):
                worker.route_events.send(shard)
                self._last_route[shard] = mono
                route_messages += 1
        if self.metrics is not None:
            self.metrics.observe(due if full else None, len(shards), depth)
        if self.mail is not None:
            self.mail.nudge()
        if time.monotonic() - self._checkpointed >= CHECKPOINT_EVERY:
            self._checkpointed = time.monotonic()
            database.checkpoint(self.db)  # SQLite's WAL, which the workers leave to this
        return Snapshot(now, due, len(shards), timer_messages, route_messages, depth)

    def sleep_time(self) -> float:
        """Until the next timer falls due, at most ``interval``."""
        with database.reading(self.db) as conn:
            nxt = self.store.next_due(conn)
        if nxt is None:
            return self.interval
        seconds = (nxt - self.clock.now()).total_seconds()
        return min(max(seconds, 0.005), self.interval)

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set, riding out outages of the database and Redis.

        Raises only what waiting cannot fix (an unmigrated schema, a dropped database).
        """
        backoff = faults.Backoff(first=0.1, most=5.0)
        down_since: float | None = None
        while not stop.is_set():
            try:
                snapshot = self.poll()
                busy = snapshot.timer_messages_sent or snapshot.route_messages_sent
                pause = self.interval if busy else self.sleep_time()
            except Exception as error:
                problem = faults.diagnose(error)
                if problem is not None and not problem.transient:
                    raise
                down_since = down_since or time.monotonic()
                fault(f"scheduler poll failed, retrying with backoff: {problem or error}",
                      error, kind=f"scheduler:{problem.kind if problem else 'error'}")
                backoff.wait(stop)
                continue
            if down_since is not None:
                log.warning("scheduler resumed after %.1f s of failed polls",
                            time.monotonic() - down_since)
                down_since = None
                self._last_sweep = -math.inf  # re-send what the outage may have lost
                backoff.succeeded()
                continue
            stop.wait(pause)
        if self.mail is not None:
            self.mail.join(30)  # let a delivery under way commit what it sent


def serve(*, interval: float = 0.1, metrics_port: int | None = None,
          stop: threading.Event, database_url: str | None = None) -> None:
    """Run a scheduler until ``stop`` is set: wait for the database to be reachable and
    at the current schema, then poll (``flowkit scheduler``, and ``flowkit run``'s)."""
    from flowkit.runtime import services, worker
    from flowkit.runtime.child import when_ready

    engine = database.create_engine(database_url or services.database_url())

    def ready() -> bool:
        database.ensure_schema(engine, migrate=False)
        return True

    if not when_ready(ready, stop, "the scheduler"):
        return
    log.info("scheduler polling %s every %ss", redact_url(engine.url), interval)
    try:
        Scheduler(engine, worker.broker, clock_from_env(), interval=interval,
                  metrics_port=metrics_port).run(stop)
    finally:
        engine.dispose()

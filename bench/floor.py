"""The floor: S1's flow done durably with the least work a durable engine can do, to
measure what this machine allows (flowkit's S1 as a fraction of it).

All state is in PostgreSQL and every batch is one transaction, as in flowkit, but
nothing else: no history, no action ledger, no users, no versions, no validation, no
journey rules, no isolation of a failing run. The flow's two actions are Python calls
(`step`), one per flow per phase, as in S1.

- an event is a row of ``floor_events``;
- routing claims up to 500 unrouted events (``FOR UPDATE SKIP LOCKED``), marks them
  routed, runs the first action of each, and writes a run (at its wait) and a timer
  due 1 s later for each, set-based: one message and one transaction per batch;
- firing deletes up to 500 due timers (``SKIP LOCKED``), runs the branch and the
  second action of each run, and marks the runs completed.

Run by bench/run.py (scenario F) as ``dramatiq bench.floor``; ``python -m bench.floor``
on its own runs the scheduler's part (a nudge for due timers every 50 ms) until killed.
"""

from __future__ import annotations

import math
import os
import time

import dramatiq
import orjson
import sqlalchemy as sa
from dramatiq.brokers.redis import RedisBroker

BATCH = 500
broker = RedisBroker(url=os.environ["REDIS_URL"], namespace="bench-floor")
dramatiq.set_broker(broker)
_db: sa.Engine | None = None

SCHEMA = """
DROP TABLE IF EXISTS floor_timers, floor_runs, floor_events;
CREATE TABLE floor_events (seq bigserial PRIMARY KEY, user_id text NOT NULL,
                           routed boolean NOT NULL DEFAULT false);
CREATE INDEX ON floor_events (routed, seq);
CREATE TABLE floor_runs (id bigint PRIMARY KEY, user_id text NOT NULL, step text NOT NULL,
                         status text NOT NULL, result text);
CREATE TABLE floor_timers (run_id bigint PRIMARY KEY, due_at timestamptz NOT NULL);
CREATE INDEX ON floor_timers (due_at, run_id);
"""


def db() -> sa.Engine:
    global _db
    if _db is None:
        _db = sa.create_engine(os.environ["DATABASE_URL"].replace(
            "postgresql://", "postgresql+psycopg://", 1), pool_size=8)
    return _db


def step(label: str) -> str:
    """The flow's action."""
    return label


@dramatiq.actor(queue_name="floor", max_retries=3)
def route() -> None:
    with db().begin() as conn:
        events = conn.execute(sa.text(
            "SELECT seq, user_id FROM floor_events WHERE NOT routed ORDER BY seq "
            "LIMIT :n FOR UPDATE SKIP LOCKED"), {"n": BATCH}).all()
        if not events:
            return
        runs = [{"id": seq, "user_id": user, "step": "wait", "status": "waiting",
                 "result": step("first")} for seq, user in events]
        conn.execute(sa.text(
            "UPDATE floor_events SET routed = true WHERE seq = ANY(:seqs)"),
            {"seqs": [seq for seq, _ in events]})
        conn.execute(sa.text(
            "INSERT INTO floor_runs SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
            "AS x(id bigint, user_id text, step text, status text, result text)"),
            {"rows": orjson.dumps(runs).decode()})
        conn.execute(sa.text(
            "INSERT INTO floor_timers SELECT id, now() + interval '1 second' "
            "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(id bigint)"),
            {"rows": orjson.dumps([{"id": r["id"]} for r in runs]).decode()})
    if len(events) == BATCH:
        route.send()


@dramatiq.actor(queue_name="floor", max_retries=3)
def fire() -> None:
    with db().begin() as conn:
        due = conn.execute(sa.text(
            "DELETE FROM floor_timers WHERE run_id IN (SELECT run_id FROM floor_timers "
            "WHERE due_at <= now() ORDER BY due_at, run_id LIMIT :n FOR UPDATE SKIP LOCKED) "
            "RETURNING run_id"), {"n": BATCH}).scalars().all()
        if not due:
            return
        runs = conn.execute(sa.text(
            "SELECT id, user_id FROM floor_runs WHERE id = ANY(:ids) FOR UPDATE"),
            {"ids": list(due)}).all()
        done = [{"id": run_id, "result": step("even" if int(user.rsplit("-", 1)[-1]) % 2 == 0
                                              else "odd")} for run_id, user in runs]
        conn.execute(sa.text(
            "UPDATE floor_runs r SET step = 'end', status = 'completed', result = x.result "
            "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(id bigint, result text) "
            "WHERE r.id = x.id"), {"rows": orjson.dumps(done).decode()})


def create_tables(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(SCHEMA)


def emit(engine: sa.Engine, users: range) -> None:
    """Store the events in chunks of 5,000 (as the benchmark emits S1's), each chunk
    followed by a message per batch it holds."""
    for start in range(users.start, users.stop, 5000):
        chunk = range(start, min(start + 5000, users.stop))
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO floor_events (user_id) SELECT x.u FROM "
                "jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(u text)"),
                {"rows": orjson.dumps([{"u": f"user-{i}"} for i in chunk]).decode()})
        for _ in range(math.ceil(len(chunk) / BATCH)):
            route.send()


def nudge(engine: sa.Engine, interval: float = 0.05) -> None:
    """The scheduler's part: every ``interval`` seconds, a fire message per batch of
    due timers that no message waits for yet."""
    queue = f"{broker.namespace}:floor"
    while True:
        with engine.connect() as conn:
            due = conn.execute(sa.text(
                "SELECT count(*) FROM (SELECT 1 FROM floor_timers WHERE due_at <= now() "
                "LIMIT 8000) d")).scalar_one()
        wanted = math.ceil(due / BATCH) - int(broker.client.llen(queue))
        for _ in range(max(wanted, 0)):
            fire.send()
        time.sleep(interval)


if __name__ == "__main__":
    nudge(db())

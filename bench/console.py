"""The console at volume: each page's time with 1,000,000 runs in PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python -m bench.console

Creates the database ``flowkit_console_bench`` on that server (once: when it already
holds the runs it is reused), fills it with one ``INSERT ... SELECT generate_series``
per table (1,000,000 runs of the project's flows over 90 days, 200,000 users, one
history row and one action per run, a timer per waiting run), then serves the console
with uvicorn on loopback and requests each page ``--repeat`` times over HTTP, printing
the median and the slowest time of each. ``--drop`` deletes the database afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import sqlalchemy as sa
import uvicorn

from flowkit.console import ConsoleSettings, create_app
from flowkit.runtime.discovery import load_flows
from flowkit.store import database

NAME = "flowkit_console_bench"
TOKEN = "bench-operator"
STATUS_BY_PERCENT = ("CASE WHEN i % 100 < 70 THEN 'completed' WHEN i % 100 < 88 THEN "
                     "'waiting' WHEN i % 100 < 96 THEN 'exited' WHEN i % 100 < 98 THEN "
                     "'parked' WHEN i % 100 < 99 THEN 'failed' ELSE 'running' END")


def _bench_url(server_url: str) -> str:
    admin = database.create_engine(server_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": NAME}).first()
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{NAME}"')
    url = admin.url.set(database=NAME).render_as_string(hide_password=False)
    admin.dispose()
    return url


def _steps() -> list[tuple[str, str]]:
    """(flow, step) for every step of the project's flows: where the runs rest."""
    return [(flow.name, step.id) for flow in load_flows() for step in flow.ir.steps]


def fill(engine: sa.Engine, runs: int) -> float:
    """Write the rows, one statement per table; returns the seconds it took."""
    steps = _steps()
    statements = [
        "CREATE TEMP TABLE bench_steps (n int, flow text, step text) ON COMMIT DROP",
        f"""INSERT INTO flowkit_users (id, name, email, timezone, fields)
            SELECT 'u' || i, 'Learner ' || i, 'u' || i || '@school.test', 'UTC', '{{}}'
            FROM generate_series(1, {runs // 5}) AS i""",
        f"""INSERT INTO flowkit_runs (id, flow, version, user_id, status, step, locals,
                                      visits, trigger, reason, attempts, created_at,
                                      updated_at)
            SELECT md5(i::text)::uuid::text, s.flow, 'bench', 'u' || (1 + i % {runs // 5}),
                   {STATUS_BY_PERCENT}, s.step, '{{"n": 1}}', '{{}}',
                   json_build_object('event', 'bench', 'i', i),
                   CASE WHEN i % 100 BETWEEN 96 AND 98 THEN
                        'action ''send_email'' failed 5 times, last with SMTPError: '
                        || (ARRAY['421 try later', 'mailbox full', 'timeout'])[1 + i % 3]
                   END, 0,
                   now() AT TIME ZONE 'UTC' - (i % 129600) * interval '1 minute',
                   now() AT TIME ZONE 'UTC' - (i % 129600) * interval '30 second'
            FROM generate_series(1, {runs}) AS i
            JOIN bench_steps s ON s.n = i % {len(steps)}""",
        """INSERT INTO flowkit_history (run_id, at, entries)
            SELECT id, created_at, json_build_array(json_build_object(
                'at', to_char(created_at, 'YYYY-MM-DD"T"HH24\\:MI\\:SS"+00\\:00"'),
                'kind', 'started', 'step', NULL, 'detail', json_build_object()))
            FROM flowkit_runs""",
        """INSERT INTO flowkit_actions (key, run_id, flow, user_id, step, action, args,
                                       result, at)
            SELECT id || '/' || step || '/1', id, flow, user_id, step, 'send_email',
                   '{"template": "welcome"}', '"Welcome"', created_at
            FROM flowkit_runs""",
        """INSERT INTO flowkit_timers (run_id, due_at, step, kind)
            SELECT id, updated_at + interval '2 days', step, 'wait'
            FROM flowkit_runs WHERE status = 'waiting'""",
    ]
    began = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text(statements[0]))
        conn.execute(sa.text("INSERT INTO bench_steps VALUES (:n, :flow, :step)"),
                     [{"n": n, "flow": f, "step": s} for n, (f, s) in enumerate(steps)])
        for statement in statements[1:]:
            conn.execute(sa.text(statement))
    seconds = time.perf_counter() - began
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    return seconds


def _count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM flowkit_runs")).scalar_one())


@contextmanager
def serve(url: str) -> Iterator[str]:
    settings = ConsoleSettings(operator_password=TOKEN)
    app = create_app(url, settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _pages(engine: sa.Engine, users: int) -> dict[str, str]:
    user = f"u{min(4242, users)}"
    with engine.connect() as conn:
        flow, step = conn.execute(sa.text(
            "SELECT flow, step FROM flowkit_runs WHERE status = 'waiting' "
            "GROUP BY flow, step ORDER BY count(*) DESC LIMIT 1")).one()
        run_id = conn.execute(sa.text(
            "SELECT id FROM flowkit_runs WHERE status = 'parked' LIMIT 1")).scalar_one()
    return {
        "flows": "/",
        "flow": f"/flows/{flow}",
        "flow, runs at a step": f"/flows/{flow}?step={step}",
        "flow counts (polled)": f"/flows/{flow}/counts.json",
        "run": f"/runs/{run_id}",
        "user search by email": f"/users?q={user.upper()}@School.test",
        "user": f"/users/{user}",
        "problems": "/problems",
    }


def measure(base: str, pages: dict[str, str], repeat: int
            ) -> dict[str, tuple[float, float, float]]:
    """Each page's first time (the first flows page waits for the first count of the
    settled runs), then its median and slowest over ``repeat`` requests, in ms."""
    out = {}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, follow_redirects=True) as client:
        for name, path in pages.items():
            began = time.perf_counter()
            client.get(path).raise_for_status()  # warm: connections, caches, templates
            first = (time.perf_counter() - began) * 1000
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - began) * 1000)
            out[name] = (first, statistics.median(times), max(times))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--drop", action="store_true")
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL")
    if not server or not server.startswith("postgres"):
        raise SystemExit("bench.console: set DATABASE_URL to a PostgreSQL server")
    url = _bench_url(server)
    engine = database.create_engine(url)
    database.upgrade(engine)
    present = _count(engine)
    if present < args.runs:
        if present:
            raise SystemExit(f"bench.console: {NAME} holds {present} runs, not {args.runs}; "
                             "drop it (--drop) and run again")
        print(f"filling {NAME} with {args.runs:,} runs ...", flush=True)
        print(f"filled in {fill(engine, args.runs):.0f} s", flush=True)
    print(f"{_count(engine):,} runs in {NAME}")
    with serve(url) as base:
        figures = measure(base, _pages(engine, args.runs // 5), args.repeat)
    print("| page | first ms | median ms | max ms |\n|---|---:|---:|---:|")
    for name, (first, median, worst) in figures.items():
        print(f"| {name} | {first:.0f} | {median:.1f} | {worst:.1f} |")
    print(json.dumps({k: [round(x, 1) for x in v] for k, v in figures.items()}))
    engine.dispose()
    if args.drop:
        admin = database.create_engine(server)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()

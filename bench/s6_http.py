"""S6: events taken in over HTTP by ``flowkit serve``, beside ``emit_many`` in process.

    python -m bench.s6_http                       # 10 s per scenario
    python -m bench.s6_http --seconds 5 --clients 8 --server-workers 2

Needs a PostgreSQL server (DATABASE_URL; otherwise an embedded pgserver): a database of
its own is created on it for the run and dropped afterwards. With REDIS_URL the server
tells the workers through Redis as in production (one message per shard a request
touched; the messages are deleted afterwards); without it, the events are only stored.

Figures: events/s and request latency p50/p99 for batches of 100 and for single events
(``--clients`` concurrent keep-alive connections), single-event latency with one client
on an otherwise idle system, and ``Engine.emit_many`` in this process with the same
batch sizes. The server and the client share the machine; the CPU each spent a
request (and PostgreSQL's processes serving the database) is in the last column, from
/proc. The client writes HTTP on a socket itself (``_load``), so that it takes a tenth
of what the server does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
KEY = "fk_bench_" + uuid.uuid4().hex


@contextmanager
def database() -> Iterator[str]:
    """A fresh, migrated database on the PostgreSQL server, dropped at the end."""
    from flowkit.store import database as db

    server_url = os.environ.get("DATABASE_URL")
    pgserver = None
    if not server_url:
        import tempfile

        import pgserver as pgs

        pgserver = pgs.get_server(tempfile.mkdtemp(prefix="flowkit-s6-"),
                                  cleanup_mode="delete")
        server_url = pgserver.get_uri()
    admin = db.create_engine(server_url)
    name = f"flowkit_s6_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = db.create_engine(url)
    db.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        if pgserver is not None:
            pgserver.cleanup()


@contextmanager
def server(url: str, workers: int) -> Iterator[tuple[str, int]]:
    """A ``flowkit serve`` on a free port: its address and its process id."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, DATABASE_URL=url, FLOWKIT_API_KEYS=KEY, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "flowkit.cli", "serve", "--port",
                             str(port), "--workers", str(workers)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("flowkit serve did not become ready")
        time.sleep(0.1)
    try:
        yield base, proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def _cpu(pid: int, url: str) -> dict[str, Any]:
    """CPU seconds so far: the server (its process and any ``--workers`` children),
    each PostgreSQL process serving the run's database, and this process (the
    client)."""
    from bench.engine_path import server_cpu
    from bench.run import process_cpu
    from flowkit.store import database as db

    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    engine = db.create_engine(url)
    try:
        postgresql = server_cpu(engine)
    finally:
        engine.dispose()
    return {"server": sum(process_cpu(p) for p in [pid, *map(int, children)]),
            "postgresql": postgresql, "client": time.process_time()}


def _spent(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    from bench.engine_path import spent

    return {part: (spent(before[part], after[part]) if part == "postgresql"
                   else after[part] - before[part]) for part in after}


def _events(size: int, tag: str) -> list[dict[str, Any]]:
    return [{"event": "bench.s6", "user": f"u{n % 5000}", "idempotency_key": f"{tag}-{n}",
             "fields": {"n": n}} for n in range(size)]


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                head: bytes, body: bytes) -> tuple[int, bytes]:
    """One keep-alive ``POST /v1/events``: the status and the body."""
    writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
    header = await reader.readuntil(b"\r\n\r\n")
    status = int(header[9:12])
    length = 0
    for line in header.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def _load(base: str, batch: int, clients: int, seconds: float) -> dict[str, float]:
    """``clients`` keep-alive connections posting batches of ``batch`` for ``seconds``.

    The load generator writes HTTP/1.1 on a socket, as wrk does: on two cores shared
    with the server and PostgreSQL, an HTTP library's client (httpx: 0.9 ms of CPU a
    request here) cost more than the server it measured.
    """
    import json

    latencies: list[float] = []
    sent = 0
    stop_at = time.perf_counter() + seconds
    host, port = base.removeprefix("http://").split(":")
    head = (f"POST /v1/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}"
            "\r\nContent-Type: application/json\r\nContent-Length: ").encode()

    async def client(number: int) -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection(host, int(port))
        request = 0
        while time.perf_counter() < stop_at:
            tag = f"{batch}-{number}-{request}-{uuid.uuid4().hex[:6]}"
            document: Any = ({"events": _events(batch, tag)} if batch > 1
                             else {**_events(1, tag)[0]})
            began = time.perf_counter()
            status, answer = await _post(reader, writer, head, json.dumps(document).encode())
            latencies.append(time.perf_counter() - began)
            if status != 202:
                raise RuntimeError(f"{status}: {answer.decode()}")
            sent += batch
            request += 1
        writer.close()
        await writer.wait_closed()

    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - began
    return {"events_per_s": sent / elapsed, **_percentiles(latencies)}


def _percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": cuts[98] * 1000}


def in_process(url: str, batch: int, seconds: float) -> dict[str, float]:
    """``Engine.emit_many`` in this process, the workers told nothing (no Redis)."""
    from flowkit import Engine
    from flowkit.serve.ingest import DeferredDispatcher

    latencies: list[float] = []
    sent = 0
    with Engine(url, [], dispatcher=DeferredDispatcher()) as engine:
        stop_at = time.perf_counter() + seconds
        began = time.perf_counter()
        while time.perf_counter() < stop_at:
            events = [{"event": e["event"], "user": e["user"],
                       "idempotency_key": e["idempotency_key"], **e["fields"]}
                      for e in _events(batch, f"ip-{batch}-{uuid.uuid4().hex}")]
            start = time.perf_counter()
            engine.emit_many(events)
            latencies.append(time.perf_counter() - start)
            sent += batch
        elapsed = time.perf_counter() - began
    return {"events_per_s": sent / elapsed, **_percentiles(latencies)}


def _clean_redis() -> None:
    url = os.environ.get("REDIS_URL")
    if url:
        import redis

        client = redis.Redis.from_url(url)
        for key in client.scan_iter("dramatiq:flowkit.route*"):
            client.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--server-workers", type=int, default=1,
                        help="flowkit serve --workers")
    args = parser.parse_args()
    rows = []
    with database() as url:
        with server(url, args.server_workers) as (base, pid):
            for label, batch, clients in (("HTTP, batches of 100", 100, args.clients),
                                          ("HTTP, single events", 1, args.clients),
                                          ("HTTP, single events, one client", 1, 1)):
                before = _cpu(pid, url)
                figures = asyncio.run(_load(base, batch, clients, args.seconds))
                after = _cpu(pid, url)
                figures.update({f"{part}_ms": 1000 * seconds / figures["requests"]
                                for part, seconds in _spent(before, after).items()})
                rows.append((label, clients, figures))
        for label, batch in (("emit_many in process, batches of 100", 100),
                             ("emit_many in process, single events", 1)):
            rows.append((label, 1, in_process(url, batch, args.seconds)))
    _clean_redis()
    print("| scenario | clients | events/s | requests | p50 | p99 | CPU a request: server "
          "+ PostgreSQL + client |")
    print("|---|---|---|---|---|---|---|")
    for label, clients, f in rows:
        cpu = (f"{f['server_ms']:.2f} + {f['postgresql_ms']:.2f} + {f['client_ms']:.2f} ms"
               if "server_ms" in f else "")
        print(f"| {label} | {clients} | {f['events_per_s']:,.0f} | {f['requests']:,} | "
              f"{f['p50_ms']:.1f} ms | {f['p99_ms']:.1f} ms | {cpu} |")


if __name__ == "__main__":
    main()

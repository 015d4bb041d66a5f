"""The database goes away under a real ``flowkit serve`` taking events: it answers 503
with a problem saying to retry (never 500, never a 202 for what it did not store),
logs the outage in a few lines, and takes events again as soon as the database is
back, without a restart."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import wait_until
from tests.faults.conftest import FIGURES, ROOT, through
from tests.faults.proxy import Proxy
from tests.serve.conftest import wait_ready

KEY = "fk_test_outage_key"
OUTAGE = 10.0


@pytest.fixture
def server(pg: str, proxy: Proxy, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``flowkit serve`` on the test database through the proxy; no Redis (the events
    are stored for the workers' scheduler to find). Its address and its stderr."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DATABASE_URL=through(pg, proxy), FLOWKIT_API_KEYS=KEY, PYTHONPATH=str(ROOT),
               FLOWKIT_LOG_INTERVAL="2")
    err = tmp_path / "serve.err"
    with open(err, "wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "flowkit.cli", "serve", "--port",
                                 str(port)], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=stderr,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    try:
        wait_ready(url)
        yield url, err
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


class Client(threading.Thread):
    """Posts single events with keys k0, k1, ... until stopped, recording each answer."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.answers: list[tuple[float, str, int, httpx.Response]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10,
                          headers={"Authorization": f"Bearer {KEY}"}) as http:
            n = 0
            while not self.stop.is_set():
                key = f"k{n}"
                response = http.post("/v1/events", json={
                    "event": "course.enrolled", "user": f"u{n % 50}", "idempotency_key": key})
                self.answers.append((time.monotonic(), key, response.status_code, response))
                n += 1
                if response.status_code == 503:
                    time.sleep(0.05)  # a client backing off, not hammering

    def statuses(self) -> Counter[int]:
        return Counter(status for _, _, status, _ in self.answers)


def test_the_front_door_says_503_while_the_database_is_away_and_heals(
        server: tuple[str, Path], proxy: Proxy, pg: str) -> None:
    url, err = server
    client = Client(url)
    client.start()
    try:
        wait_until(lambda: client.statuses()[202] >= 100, 30, "100 events accepted")
        mark = len(err.read_text().splitlines())
        proxy.cut()
        cut = time.monotonic()
        wait_until(lambda: client.statuses()[503] >= 5, OUTAGE, "503s during the outage")
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - cut)))
        proxy.restore()
        restored = time.monotonic()
        before = client.statuses()[202]
        wait_until(lambda: client.statuses()[202] >= before + 100, 30,
                   "100 more events accepted after the database came back")
    finally:
        client.stop.set()
        client.join(15)

    statuses = client.statuses()
    assert set(statuses) <= {202, 503}, statuses  # never a 500
    refused = [r for _, _, status, r in client.answers if status == 503]
    assert all(r.headers["content-type"] == "application/problem+json" for r in refused)
    assert all(r.headers.get("retry-after") for r in refused)
    assert "retry" in refused[0].json()["detail"]
    healed = min(at for at, _, status, _ in client.answers
                 if status == 202 and at > restored) - restored
    assert healed < 10

    accepted = {key for _, key, status, _ in client.answers if status == 202}
    engine = sa.create_engine(pg)
    with engine.connect() as conn:
        stored = set(conn.execute(sa.text("SELECT key FROM flowkit_events")).scalars())
    engine.dispose()
    assert accepted <= stored  # every 202 was stored; a 503's event may be (retry finds it)

    # an access line a request, as always; beside them, the outage in a few lines
    records = [json.loads(line) for line in err.read_text().splitlines()[mark:]]
    logged = [r for r in records if r["logger"] != "flowkit.serve.access"]
    tracebacks = sum(bool(r.get("exc")) for r in logged)
    assert len(logged) <= 12, "\n".join(map(str, logged[:20]))
    assert tracebacks <= 2  # the first failure of each kind: keys read, events stored
    FIGURES.append(f"database unreachable {OUTAGE:g} s under flowkit serve: {statuses[202]} "
                   f"events accepted and stored, {statuses[503]} answered 503; accepting "
                   f"again {healed:.1f} s after the database came back; {len(logged)} log "
                   f"lines, {tracebacks} traceback")

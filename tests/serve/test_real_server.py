"""A real ``flowkit serve`` process beside a real worker and scheduler, on PostgreSQL
and Redis: a signed webhook starts a run, the next one advances it, and SIGTERM lets
a request in flight finish before the server exits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from flowkit import Engine
from flowkit.store import database
from tests.conftest import wait_until
from tests.integration.conftest import Processes
from tests.serve.conftest import KEY, SECRET, fixture, signed, wait_ready

USER = "5f8a1c2e9b3d4e0012ab34cd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(processes: Processes) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``flowkit serve`` on a free port, ready (its /readyz says so)."""
    port = _free_port()
    processes.env.update(FLOWKIT_API_KEYS=KEY, FLOWKIT_WEBHOOK_SECRETS=SECRET,
                         FLOWKIT_FLOWS="tests.serve.flows")
    proc = processes.start("-m", "flowkit.cli", "serve", "--port", str(port))
    url = f"http://127.0.0.1:{port}"

    wait_ready(url)
    yield url, proc


def test_a_signed_webhook_starts_a_run_that_a_worker_advances(
        server: tuple[str, subprocess.Popen[bytes]], processes: Processes, pg_url: str
) -> None:
    url, _ = server
    processes.worker()
    processes.scheduler()
    with Engine(pg_url, []) as engine:
        body = fixture("user_registered")
        response = httpx.post(f"{url}/v1/webhooks/learnworlds", content=body,
                              headers=signed(body, "msg_real_1"))
        assert response.status_code == 202, response.text

        def status() -> str | None:
            runs = engine.runs(user=USER)
            return runs[0].status if runs else None

        wait_until(lambda: status() == "waiting", 60, "the run to start and wait")
        body = fixture("free_course_enrollment")
        response = httpx.post(f"{url}/v1/webhooks/learnworlds", content=body,
                              headers=signed(body, "msg_real_2"))
        assert response.status_code == 202
        wait_until(lambda: status() == "completed", 60, "the run to complete")
        assert [a.name for a in engine.actions(user=USER)] == ["greet", "greet"]


def test_sigterm_lets_the_request_in_flight_finish(
        server: tuple[str, subprocess.Popen[bytes]], pg_url: str) -> None:
    url, proc = server
    # given a request held inside its database transaction by a lock we hold
    locker = database.create_engine(pg_url)
    conn = locker.connect()
    conn.execute(sa.text("LOCK TABLE flowkit_events IN EXCLUSIVE MODE"))
    answer: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answer.append(httpx.post(
        f"{url}/v1/events", json={"event": "user.signed_up", "user": "u1"},
        headers={"Authorization": f"Bearer {KEY}"}, timeout=30)))
    thread.start()

    def waiting_on_the_lock() -> bool:
        with locker.connect() as other:
            return bool(other.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")).scalar_one())

    wait_until(waiting_on_the_lock, 30, "the request to wait for the lock")
    # when the server is told to stop, and then the lock is released
    os.killpg(proc.pid, signal.SIGTERM)
    conn.rollback()
    conn.close()
    thread.join(30)
    # then the request was answered in full, and the server exited (uvicorn ends by
    # re-raising the signal it caught, so the status is SIGTERM's)
    assert answer and answer[0].status_code == 202
    assert proc.wait(30) in (0, -signal.SIGTERM)
    with locker.connect() as check:
        assert check.execute(sa.text("SELECT count(*) FROM flowkit_events")).scalar_one() == 1
    locker.dispose()

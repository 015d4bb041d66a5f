"""``flowkit run`` on the embedded default starts ``flowkit serve`` on loopback too."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import sqlalchemy as sa

from flowkit.store import database
from tests.serve.conftest import wait_ready


def test_flowkit_run_on_the_embedded_default_serves_events_and_the_console_it_prints(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "FLOWKIT_API_KEYS",
                        "FLOWKIT_WEBHOOK_SECRETS")}
    run = subprocess.Popen([sys.executable, "-m", "flowkit.cli", "run", "--duration", "90"],
                           cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True,
                           start_new_session=True)
    try:
        assert run.stdout is not None
        for line in run.stdout:
            found = re.search(r"serving events at (http://127\.0\.0\.1:\d+)", line)
            if found:
                break
        else:
            raise AssertionError("flowkit run printed no address")
        url = found.group(1)
        console = re.search(r"console at (\S+)", next(run.stdout))
        assert console and console.group(1) == f"{url}/console/"
        wait_ready(url, timeout=60)
        response = httpx.post(f"{url}/v1/events", json={"event": "user.signed_up",
                                                        "user": "u1"})
        assert response.status_code == 202
        page = httpx.get(console.group(1), timeout=10)  # loopback, demo mode: open
        assert page.status_code == 200 and "Flows" in page.text
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        assert run.wait(60) == 0
    engine = database.create_engine(f"sqlite:///{tmp_path}/flowkit.db")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT user_id FROM flowkit_events")).scalars().all() \
            == ["u1"]
    engine.dispose()

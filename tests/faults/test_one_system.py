"""One `flowkit run` with its own Redis per database; any number on one shared Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.conftest import ROOT, System, wait_until


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return dict(env, PYTHONPATH=str(ROOT), FLOWKIT_LOG_LEVEL="WARNING",
                FLOWKIT_TEST_EFFECTS=str(tmp_path / "effects.txt"), **extra)


def _second_run(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowkit.cli", "run", "--flows", "tests.integration.flows",
         "--processes", "1", "--duration", "2"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("where", ["sqlite", "postgresql"])
def test_a_second_flowkit_run_with_its_own_redis_on_one_database_refuses_to_start(
        where: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path}/flowkit.db" if where == "sqlite" else \
        request.getfixturevalue("pg")
    first = System(_env(tmp_path, DATABASE_URL=url), tmp_path, url)
    try:
        first.start(1)
        wait_until(lambda: (tmp_path / ".flowkit" / "run.json").exists(), 30, "the state file")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        folders = (tmp_path, elsewhere) if where == "sqlite" else (elsewhere,)
        for folder in folders:  # the same folder, or another one
            second = _second_run(folder, _env(tmp_path, DATABASE_URL=url))
            assert second.returncode == 2, second.stdout + second.stderr
            line = second.stderr.strip().splitlines()[-1]
            assert "another `flowkit run`" in line and "set REDIS_URL" in line
        assert first.proc is not None and first.proc.poll() is None
        recorded = json.loads((tmp_path / ".flowkit" / "run.json").read_text())
        assert recorded["pid"] == first.proc.pid  # the refused one left it alone
        first.shut_down()
    finally:
        first.stop()


def test_several_flowkit_run_share_one_redis_and_one_database(
        system: System, tmp_path: Path) -> None:
    system.start(1)
    other = tmp_path / "other-machine"
    other.mkdir()
    second = _second_run(other, system.env)
    assert second.returncode == 0, second.stderr
    assert "started 1 worker processes" in second.stdout
    system.shut_down()

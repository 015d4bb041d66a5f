"""``flowkit serve`` as a child of ``flowkit run`` on the embedded default: on loopback,
in demo mode (a door with no key or secret configured is open), on port 8000 when it is
free, else on a free port, printed."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Callable

PORT = 8000


def _port() -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", PORT))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def argv(port: int) -> list[str]:
    """The command line of a loopback, demo-mode server on ``port``."""
    return [sys.executable, "-m", "flowkit.cli", "serve", "--host", "127.0.0.1",
            "--port", str(port), "--demo"]


def start(env: dict[str, str], echo: Callable[[str], None]) -> subprocess.Popen[bytes]:
    port = _port()
    process = subprocess.Popen(argv(port), env=env)
    echo(f"serving events at http://127.0.0.1:{port} (flowkit serve, pid {process.pid}; "
         "loopback, demo mode)")
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM: the server finishes the requests in flight, then exits."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(35)
        except subprocess.TimeoutExpired:
            process.kill()

"""``flowkit serve`` as a child of ``flowkit run`` on the embedded default: on loopback,
in demo mode (a door with no key or secret configured is open), on port 8000 when it is
free, else on a free port."""

from __future__ import annotations

import socket
import sys

PORT = 8000


def port() -> int:
    """8000 if it is free on loopback, else a free port."""
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

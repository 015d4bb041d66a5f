"""The ``flowkit`` command: one module per group of commands, all on ``main``.

User mistakes (a flow that does not compile, an unknown module, a bad event) exit with
status 1 and a one-line cause on stderr, never a traceback.
"""

from __future__ import annotations

from flowkit.cli import authoring, database, events, init, mail, processes, runs, serve
from flowkit.cli._group import main

__all__ = ["main"]

_COMMANDS = (authoring, database, events, init, mail, processes, runs, serve)  # registered

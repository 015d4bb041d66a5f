"""The ``flowkit`` command: one module per group of commands, all on ``main``.

A command that fails (a flow that does not compile, an unknown module, a bad event, a
database that cannot be reached) exits with status 2 and a one-line cause on stderr,
never a traceback (see ``_group``).
"""

from __future__ import annotations

from flowkit.cli import (
    authoring,
    database,
    events,
    init,
    mail,
    processes,
    report,
    runs,
    serve,
)
from flowkit.cli._group import main

__all__ = ["main"]

# registered on import
_COMMANDS = (authoring, database, events, init, mail, processes, report, runs, serve)

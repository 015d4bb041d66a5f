"""The operator's console: every flow as its diagram with the runs resting at each step,
each run's history beside its source, a user's runs and messages, and the problems page
with its repairs (docs/console.md).

``create_app(database_url, settings)`` builds the Starlette application that
``flowkit serve`` mounts at ``/console``; ``python -m flowkit.console`` runs it alone.
"""

from __future__ import annotations

from flowkit.console.app import create_app
from flowkit.console.settings import OPERATOR, READ_ONLY, ConsoleSettings

__all__ = ["OPERATOR", "READ_ONLY", "ConsoleSettings", "create_app"]

"""Flows the worker processes of the integration tests run."""

from __future__ import annotations

import os
import time

from flowkit import Run, action, on, wait


@action
def mark(label: str, *, run: Run) -> str:
    """An action with an effect outside the database: a line in FLOWKIT_TEST_EFFECTS,
    written before it sleeps, so a worker killed mid-action leaves a trace."""
    path = os.environ.get("FLOWKIT_TEST_EFFECTS")
    if path:
        with open(path, "a") as effects:
            effects.write(f"{run.idempotency_key()} {os.getpid()}\n")
    time.sleep(float(os.environ.get("FLOWKIT_TEST_ACTION_SECONDS", "0")))
    return label


@on("it.started")
async def two_steps(run: Run) -> None:
    await mark("first")
    await wait(seconds=run.event.get("wait", 1))
    await mark("second")

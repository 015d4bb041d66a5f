"""A flow and rules for the worker processes of the frequency-cap race test."""

from __future__ import annotations

import os
import time

from flowkit import Run, action, automation, on, wait
from flowkit.rules import FrequencyCap, Rules

rules = Rules(caps=(FrequencyCap("email", 5, per="day"),))


@action(channel="email")
def note(label: str, *, run: Run) -> str:
    """An email with an effect outside the database: a line in FLOWKIT_TEST_EFFECTS
    naming the worker process that sent it; it lingers, so sends overlap."""
    path = os.environ.get("FLOWKIT_TEST_EFFECTS")
    if path:
        with open(path, "a") as effects:
            effects.write(f"{run.idempotency_key()} {os.getpid()}\n")
    time.sleep(0.05)
    return label


@on("capped.started")
@automation(reentry="always")
async def capped(run: Run) -> None:
    await wait(seconds=1)
    await note("hello")

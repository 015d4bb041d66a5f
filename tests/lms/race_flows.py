"""Flows the worker processes of tests/lms/test_track_race_workers.py run."""

from __future__ import annotations

import os
import time

from flowkit import Run, action, automation, on, track
from flowkit.lms import add_to_track, send_message


@action
def linger() -> None:
    """Keeps the step's transaction open a moment after the add, so that another
    worker's batch adding the same manager overlaps it."""
    time.sleep(float(os.environ.get("FLOWKIT_TEST_ACTION_SECONDS", "0")))


@automation(name="add-manager", reentry="always")
@on("report.started")
async def add_manager(run: Run) -> None:
    await add_to_track("checklist", who="manager")
    await linger()


@track("checklist")
async def checklist(run: Run) -> None:
    await send_message("Your checklist.")

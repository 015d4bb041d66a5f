"""Day 1 of onboarding, as a track: a welcome, then a check-in the next morning."""

from __future__ import annotations

from flowkit import Run, track, wait
from flowkit.lms import send_email


@track("day-1", title="Day 1")
async def day_one(run: Run) -> None:
    await send_email("day-1-welcome")
    await wait(days=1)
    await send_email("day-1-check-in")

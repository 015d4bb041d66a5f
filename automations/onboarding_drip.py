"""Onboarding drip sequence (the seed's first advanced use case).

Trigger: a user is enrolled in python-101. Welcome email, wait 2 days, reminder,
wait 4 days, then encouragement if they completed a unit, tips otherwise. The run stops
as soon as the user completes the course, even while it waits.
"""

from __future__ import annotations

from flowkit import Run, branch, exit_when, on, wait
from flowkit.lms import send_email


@on("user.enrolled", where=lambda event: event["course"] == "python-101")
@exit_when("course.completed", same=["course"])
async def onboarding_drip(run: Run) -> None:
    await send_email("welcome")
    await wait(days=2)
    await send_email("reminder")
    await wait(days=4)
    if await branch("completed a unit?", run.user.units_completed(run.event["course"]) >= 1):
        await send_email("encouragement")
    else:
        await send_email("tips")

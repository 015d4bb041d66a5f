"""Onboarding drip sequence (the seed's first advanced use case).

Trigger: a user is enrolled in python-101. Welcome email, wait 2 days, reminder,
wait 4 days, then encouragement if they completed a unit, tips otherwise. The run stops
as soon as the user completes the course, even while it waits.
"""

from __future__ import annotations

from typing import Any

from flowkit import Run, action, branch, exit_when, on, wait


@action
def send_email(template: str, *, run: Run) -> dict[str, Any]:
    """Record an email for the user (delivery comes with flowkit.lms)."""
    return {"to": run.user.email or run.user.id, "template": template,
            "key": run.idempotency_key()}


@on("user.enrolled", where=lambda event: event["course"] == "python-101")
@exit_when("course.completed", same=["course"])
async def onboarding_drip(run: Run) -> None:
    await send_email("welcome")
    await wait(days=2)
    await send_email("reminder")
    await wait(days=4)
    units = run.user.fields.get("units_completed", 0)
    if await branch("completed a unit?", units >= 1):
        await send_email("encouragement")
    else:
        await send_email("tips")

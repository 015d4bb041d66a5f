"""Manager workflow: when a report starts Day 1, their manager is enrolled in the
manager's onboarding checklist (once per manager unless re-enrolled)."""

from __future__ import annotations

from flowkit import Run, automation, on, track
from flowkit.lms import add_to_track, send_message


@automation(name="enroll-manager", reentry="always")
@on("track.joined", where=lambda event: event.get("track") == "day-1")
async def enroll_manager(run: Run) -> None:
    if run.user.manager:
        await add_to_track("manager-onboarding", who="manager", reenroll=True,
                           confirmation="{{ manager }}, {{ user }} starts today: your "
                                        "checklist is ready.")


@track("manager-onboarding", title="Manager onboarding")
async def manager_onboarding(run: Run) -> None:
    await send_message("{{ user }}, plan your new report's first week: a buddy, a first "
                       "task, a 1:1.")

"""Optional enrichment: invite top performers to leadership development (manual
enrollment: they get an invitation with a join button; the track starts if they join).

The invitation is sent from Month 1 to users who completed at least five units of
python-101 by then.
"""

from __future__ import annotations

from flowkit import Run, automation, branch, on, track
from flowkit.lms import add_to_track, send_message


@automation(name="invite-top-performers")
@on("track.joined", where=lambda event: event.get("track") == "month-1")
async def invite_top_performers(run: Run) -> None:
    if await branch("top performer?", run.user.units_completed("python-101") >= 5):
        await add_to_track(
            "leadership", method="manual",
            invitation="{{ user }}, you are invited to Leadership Development: six weeks "
                       "on running projects and growing people.",
            button="Level Up!")


@track("leadership", title="Leadership development")
async def leadership(run: Run) -> None:
    await send_message("Leadership development starts Monday, {{ user }}.")

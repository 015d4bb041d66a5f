"""Learning pathway: Fundamentals → Intermediate → Advanced.

Each level enrolls the user in its course and moves them on when they complete it; a
level not completed in 60 days ends there with a nudge.
"""

from __future__ import annotations

from flowkit import Run, track, wait_for
from flowkit.lms import add_to_track, enroll, send_message

PATHWAY = {"fundamentals": ("python-101", "intermediate"),
           "intermediate": ("python-201", "advanced"),
           "advanced": ("python-301", None)}


@track("fundamentals", title="Fundamentals")
async def fundamentals(run: Run) -> None:
    await enroll("python-101")
    done = await wait_for("course.completed", timeout={"days": 60},
                          where=lambda event: event.get("course") == "python-101")
    if done is None:
        await send_message("Fundamentals is waiting for you, {{ user }}.")
        return
    await add_to_track("intermediate")


@track("intermediate", title="Intermediate")
async def intermediate(run: Run) -> None:
    await enroll("python-201")
    done = await wait_for("course.completed", timeout={"days": 60},
                          where=lambda event: event.get("course") == "python-201")
    if done is None:
        await send_message("Intermediate is waiting for you, {{ user }}.")
        return
    await add_to_track("advanced")


@track("advanced", title="Advanced")
async def advanced(run: Run) -> None:
    await enroll("python-301")
    await send_message("Welcome to the advanced level, {{ user }}.")

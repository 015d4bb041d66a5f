"""Nudge new users who have not picked a course.

Trigger: a user signs up. Wait up to three days for their first enrollment; if none
comes, suggest a course, and once more a week later if they still have not enrolled.
"""

from __future__ import annotations

from flowkit import Run, on, wait_for
from flowkit.lms import send_email


@on("user.signed_up")
async def pick_a_course(run: Run) -> str:
    for reminder in ["pick-a-course", "pick-a-course-again"]:
        enrolled = await wait_for("user.enrolled", timeout={"days": 3})
        if enrolled is not None:
            return f"enrolled in {enrolled['course']}"
        await send_email(reminder)
    return "never enrolled"

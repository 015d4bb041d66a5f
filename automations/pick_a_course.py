"""Nudge new users who have not picked a course.

Trigger: a user signs up. Wait up to three days for them to enroll in a course of their
choice (the starter courses every new user gets, see enroll_after_signup, do not count);
if none comes, suggest a course, and once more three days later.
"""

from __future__ import annotations

from flowkit import Run, on, wait_for
from flowkit.lms import send_email

STARTERS = ("getting-started", "python-taster")


@on("user.signed_up")
async def pick_a_course(run: Run) -> str:
    for reminder in ["pick-a-course", "pick-a-course-again"]:
        enrolled = await wait_for("user.enrolled", timeout={"days": 3},
                                  where=lambda event: event["course"] not in STARTERS)
        if enrolled is not None:
            return f"enrolled in {enrolled['course']}"
        await send_email(reminder)
    return "never enrolled"

"""Post-completion upsell (the seed's last advanced use case).

The seed's intent: "Promote advanced courses after completion—only when relevant."
Its list of steps is a copy of the inactivity re-engagement sequence (trigger "User
hasn't visited school or course in X days", reminders, "Exit condition: Stop the
automation if the user completes the course"), so this flow follows the intent:

    Trigger: User completes a course (python-101)
    Branch: Is the user already enrolled in the advanced course (python-201)?
    Yes -> nothing to offer: the run ends
    No  -> Action: Send the offer email
           Delay: Wait 3 days
           Action: Send a follow-up email
    Exit condition: Stop the automation once the user enrolls in the advanced course

The offer is made once per learner (``reentry="never"``): completing python-101 again
offers nothing new.
"""

from __future__ import annotations

from flowkit import Run, automation, branch, exit_when, on, wait
from flowkit.lms import send_email

COURSE = "python-101"
ADVANCED_COURSE = "python-201"


@on("course.completed", where=lambda event: event["course"] == COURSE)
@exit_when("user.enrolled", where=lambda event: event["course"] == ADVANCED_COURSE)
@automation(reentry="never")
async def post_completion_upsell(run: Run) -> None:
    if await branch("already enrolled in the advanced course?",
                    run.user.is_enrolled(ADVANCED_COURSE)):
        return
    await send_email("advanced-course-offer", advanced=ADVANCED_COURSE)
    await wait(days=3)
    await send_email("advanced-course-follow-up", advanced=ADVANCED_COURSE)

"""Offer a bonus course (the seed's third basic use case).

The seed's steps:

    Trigger: User is enrolled in a course
    Delay: Wait for X days
    Action: Enroll in another course

A week after a learner's first enrollment, they get the free bonus course study-skills
(how to learn online: planning, notes, staying motivated); a week, so that the bonus
arrives once they have found their way around the first course, not on day one. The
bonus is a gift: no payment record, no invoice.

Enrolling in the bonus course is itself a ``user.enrolled`` event. The trigger skips
it (``course != BONUS_COURSE``), so the bonus never earns a bonus; and
``reentry="never"`` gives each learner one bonus, whatever they enroll in later. A
learner who already holds the bonus course when the week is over is not enrolled again
(``enroll()`` does nothing for an existing enrollment).
"""

from __future__ import annotations

from flowkit import Run, automation, on, wait
from flowkit.lms import enroll

BONUS_COURSE = "study-skills"


@on("user.enrolled", where=lambda event: event["course"] != BONUS_COURSE)
@automation(reentry="never")
async def bonus_course(run: Run) -> None:
    await wait(days=7)
    await enroll(BONUS_COURSE, payment=False, invoice=False)

"""Enroll users after signup (the seed's first basic use case).

The seed's steps:

    Trigger: User signs up
    Action: Enroll in course(s)

Every new user is enrolled in the school's two free starter courses: getting-started
(how the school works: the dashboard, the community, certificates) and python-taster
(the first unit of python-101). Both are free, so the enrollment records no payment and
issues no invoice (``payment=False, invoice=False``): a zero payment and an invoice for
nothing would only clutter the learner's billing history. For a paid course, write
``payment=True`` (a payment at the course's catalog price) and ``invoice=True``.

Each new enrollment is followed by a ``user.enrolled`` event, so the enrollment
automations (private_space, bonus_course, onboarding_drip) run for these courses as for
any other. While the catalog (``lms_courses``) is empty, ``enroll()`` accepts any
course; once it holds courses, these two must be in it, or the run parks.
"""

from __future__ import annotations

from flowkit import Run, on
from flowkit.lms import enroll

STARTER_COURSES = ("getting-started", "python-taster")


@on("user.signed_up")
async def enroll_after_signup(run: Run) -> None:
    await enroll(*STARTER_COURSES, payment=False, invoice=False)

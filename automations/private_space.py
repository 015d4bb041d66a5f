"""Add users to a private space (the seed's fifth basic use case).

The seed's steps:

    Trigger: User is enrolled in a course
    Action: Add to space

Each course has a private community space, ``<course>-learners`` (python-101's is
python-101-learners), for its discussions, updates and peer help. Every enrollment, by
the school or by an automation, adds the learner to that course's space. One run per
enrollment (``reentry="always"``), so a learner enrolled in two courses at once joins
both spaces; a repeated enrollment event adds nothing twice.
"""

from __future__ import annotations

from flowkit import Run, automation, on
from flowkit.lms import add_to_space


@on("user.enrolled")
@automation(reentry="always")
async def private_space(run: Run) -> None:
    await add_to_space(f"{run.event['course']}-learners")

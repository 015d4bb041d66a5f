"""Re-engage inactive users (basic use case): when a user has not visited the school in
14 days, send a reminder email, wait a few days, and send a second reminder.

Trigger: user hasn't visited school in X days (here 14). The run ends early if they
come back (visit) before the second reminder.
"""

from __future__ import annotations

from flowkit import Run, exit_when, wait
from flowkit.lms import on_inactive, send_email


@on_inactive(days=14)
@exit_when("user.visited")
async def inactive_reengagement(run: Run) -> None:
    await send_email("we-miss-you")
    await wait(days=3)
    await send_email("we-miss-you-again")

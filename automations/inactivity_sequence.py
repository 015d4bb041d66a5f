"""Inactivity re-engagement sequence (advanced use case): win back learners who have not
visited python-101 for 10 days.

Trigger: user hasn't visited the course in X days (here python-101, 10 days). Send a
reminder email; wait 7 days; branch on whether they returned (visited or signed in
since the reminder): welcome back message, or a stronger reminder; wait 7 more days;
send a final email with an incentive. Exit: the user completes the course or signs in.
"""

from __future__ import annotations

from flowkit import Run, branch, exit_when, wait
from flowkit.lms import on_inactive, send_email, send_notification


@on_inactive(days=10, course="python-101")
@exit_when("course.completed", where=lambda event: event.get("course") == "python-101")
@exit_when("user.signed_in")
async def inactivity_sequence(run: Run) -> None:
    await send_email("course-reminder", course="python-101")
    reminded = run.now
    await wait(days=7)
    if await branch("returned?", run.user.returned_since(reminded)):
        await send_notification("Welcome back, {{ user }}! Pick up where you left off.")
    else:
        await send_email("course-reminder-stronger", course="python-101")
    await wait(days=7)
    await send_email("course-final-incentive", course="python-101", discount="20%")

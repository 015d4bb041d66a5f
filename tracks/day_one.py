"""Sequential onboarding (the track seed's first use case): Day 1 → Week 1 → Month 1.

Each phase adds the user to the next automatically, after a delay that lets them finish
the current one ("Add delays before enrollment"). The phases run side by side for the
moment they overlap: adding to Week 1 does not end Day 1.
"""

from __future__ import annotations

from flowkit import Run, track, wait
from flowkit.lms import add_to_track, send_email, send_message


@track("day-1", title="Day 1")
async def day_one(run: Run) -> None:
    await send_email("day-1-welcome")
    await send_message("Welcome {{ user }}! Your manager will meet you at 10.")
    await wait(days=1)
    await send_email("day-1-check-in")
    await add_to_track("week-1")


@track("week-1", title="Week 1")
async def week_one(run: Run) -> None:
    await send_message("Week 1, {{ user }}: meet your team and ship your first change.")
    await wait(days=7)
    await add_to_track("month-1", confirmation="Month 1 starts now, {{ user }}.")


@track("month-1", title="Month 1")
async def month_one(run: Run) -> None:
    await send_message("Month 1: pick a mentor and set your goals for the quarter.")
    await wait(days=30)
    await send_message("That's your first month, {{ user }}. Well done!")

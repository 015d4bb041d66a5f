"""Flows the journey-rules tests run."""

from __future__ import annotations

from flowkit import Run, exit_when, goal, journey, on, split, wait
from flowkit.lms import send_email
from flowkit.rules import QuietHours


@on("user.enrolled")
async def welcome(run: Run) -> None:
    await send_email("welcome")


@on("nudge.due")
@exit_when("user.unsubscribed")
async def nudge(run: Run) -> None:
    await send_email("reminder")


@on("reminder.due")
async def reminder(run: Run) -> None:
    await send_email("reminder")


@on("tips.due")
@journey(priority="low")
async def tips(run: Run) -> None:
    await send_email("tips")


@on("receipt.due")
@journey(transactional=True)
async def receipt(run: Run) -> None:
    await send_email("welcome")


@on("office.news")
@journey(quiet_hours=QuietHours("09:00", "17:00", weekdays_only=True))
async def office_news(run: Run) -> None:
    await send_email("tips")


@on("drip.started")
async def three_emails(run: Run) -> None:
    await send_email("welcome")
    await send_email("reminder")
    await send_email("tips")


@on("course.started")
@goal("course.completed", same=["course"], within={"days": 30}, ends_run=True)
async def course_push(run: Run) -> None:
    subject = await split("subject line", a=50, b=50)
    if subject == "a":
        await send_email("reminder")
    else:
        await send_email("course-reminder")
    await wait(days=7)
    await send_email("encouragement")


@on("course.started")
@goal("course.completed", same=["course"])
async def course_watch(run: Run) -> None:
    await wait(days=1)

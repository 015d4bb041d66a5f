"""Flows the diagram tests draw: loops, negated and result-testing conditions, ends."""

from __future__ import annotations

import datetime as dt

from flowkit import Run, branch, exit_when, on, wait, wait_for
from flowkit.lms import send_email


@on("user.signed_up")
async def nag_until_enrolled(run: Run) -> None:
    while not run.user.fields.get("enrolled"):
        await send_email("nag")
        await wait(days=1)


@on("user.signed_up")
async def three_tips(run: Run) -> None:
    for tip in ["tip-1", "tip-2", "tip-3"]:
        await send_email(tip)
        await wait(days=1, hours=12)


@on("user.signed_up")
async def monthly(run: Run) -> None:
    while True:
        await wait(days=30)
        await send_email("monthly")


@on("user.signed_up")
async def unless_opted_out(run: Run) -> str:
    if not await branch("opted out?", run.user.fields.get("opted_out", False)):
        await send_email("news")
        return "sent"
    return "skipped"


@on("user.signed_up")
@exit_when(lambda run: run.user.fields.get("deleted", False))
async def first_visit(run: Run) -> None:
    if await wait_for("user.visited", timeout={"days": 3}):
        await send_email("thanks-for-visiting")
    await wait(until=dt.datetime(2030, 1, 1))

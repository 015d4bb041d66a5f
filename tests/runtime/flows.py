"""Flows the engine tests run."""

from __future__ import annotations

from typing import Any

from flowkit import Run, action, automation, branch, exit_when, on, wait, wait_for


@action
def send_email(template: str, *, run: Run) -> str:
    return f"{template}->{run.user.id}"


@action
def flaky(*, run: Run) -> None:
    if run.user.fields.get("broken"):
        raise RuntimeError("the mail server said no")


@on("user.enrolled", where=lambda event: event["course"] == "python-101")
@exit_when("course.completed", same=["course"])
async def drip(run: Run) -> None:
    await send_email("welcome")
    await wait(days=2)
    await send_email("reminder")
    await wait(days=4)
    if await branch("completed a unit?", run.user.fields.get("units", 0) >= 1):
        await send_email("encouragement")
    else:
        await send_email("tips")


@on("user.signed_up")
async def one_wait(run: Run) -> None:
    await flaky()
    await wait(seconds=1)
    await send_email("done")


@automation(reentry="always")
@on("user.signed_up")
async def waits_for_enrollment(run: Run) -> Any:
    event = await wait_for("user.enrolled", timeout={"days": 3})
    return event["course"] if event else None

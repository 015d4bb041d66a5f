"""The flow the front door's tests start over HTTP."""

from __future__ import annotations

from flowkit import Run, action, on, wait_for


@action
def greet(*, run: Run) -> str:
    return f"hello {run.user.id}"


@on("user.signed_up")
async def welcome_then_course(run: Run) -> None:
    await greet()
    enrolled = await wait_for("user.enrolled")
    if enrolled is not None:
        await greet()

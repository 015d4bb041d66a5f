"""Flows the console tests show: a shop's checkout (an action that can fail and park the
run, waits, a branch, an exit) and a track."""

from __future__ import annotations

from flowkit import Run, action, branch, exit_when, on, track, wait


@action
def send_email(template: str, *, run: Run, **values: object) -> str:
    return f"{template} to {run.user.id}"


@action
def charge(amount: int, *, run: Run) -> str:
    if run.user.fields.get("card_declined"):
        raise RuntimeError("the card was declined")
    return f"charged {amount}"


@on("order.placed")
@exit_when("order.cancelled")
async def checkout(run: Run) -> None:
    await send_email("receipt")
    receipt = await charge(run.event["amount"])
    await wait(days=1)
    if await branch("big order?", run.event["amount"] > 100):
        await send_email("thanks-big")
    await wait(days=30)
    await send_email("review-request", receipt=receipt)


@track("starter", title="Starter track")
async def starter(run: Run) -> None:
    await send_email("starter-day-1")
    await wait(days=7)
    await send_email("starter-week-1")

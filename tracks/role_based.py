"""Role-based training: general onboarding, then the content for the user's role (the
user field ``role``: engineering or sales; anyone else stays on the general track)."""

from __future__ import annotations

from flowkit import Run, branch, track, wait
from flowkit.lms import add_to_track, send_message


@track("general-onboarding", title="General onboarding")
async def general_onboarding(run: Run) -> None:
    await send_message("Welcome to the company, {{ user }}: here is how we work.")
    await wait(days=3)
    role = run.user.fields.get("role")
    if await branch("engineer?", role == "engineering"):
        await add_to_track("engineering-onboarding")
    elif await branch("sales?", role == "sales"):
        await add_to_track("sales-onboarding")


@track("engineering-onboarding", title="Engineering onboarding")
async def engineering_onboarding(run: Run) -> None:
    await send_message("Engineering: set up your laptop and pick a starter issue.")


@track("sales-onboarding", title="Sales onboarding")
async def sales_onboarding(run: Run) -> None:
    await send_message("Sales: meet the CRM and shadow three calls this week.")

"""The flows the benchmark runs (S1, S2's waiting runs, S3, the latency probe)."""

from __future__ import annotations

import time

from flowkit import Run, action, branch, on, wait
from flowkit.rules import FrequencyCap, QuietHours, Rules

# The journey rules `python -m bench.run --rules` turns on: quiet hours that let S1's
# messages through (the cost of the check, not of deferrals) and a daily cap each user
# stays under (the cost of the count: one upsert per message).
rules = Rules(quiet_hours=QuietHours("00:00", "23:59"),
              caps=(FrequencyCap("email", 10, per="day"),))


@action(channel="email")  # a message, so the journey rules apply to it when they are on
def step(label: str) -> str:
    return label


@action
def stamp() -> float:
    return time.time()


@on("bench.s1")
async def s1(run: Run) -> None:
    await step("first")
    await wait(seconds=1)
    if await branch("even user?", int(run.user.id.rsplit("-", 1)[-1]) % 2 == 0):
        await step("even")
    else:
        await step("odd")


@on("bench.hold")
async def hold(run: Run) -> None:
    await wait(days=7)


@on("bench.s3")
async def s3(run: Run) -> None:
    await wait(days=365)
    await step("fired")


@on("bench.ping")
async def ping(run: Run) -> None:
    await stamp()

"""The flows the benchmark runs (S1, S2's waiting runs, S3, the latency probe)."""

from __future__ import annotations

import time

from flowkit import Run, action, branch, on, wait


@action
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

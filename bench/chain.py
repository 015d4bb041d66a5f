"""The baseline: S1's flow as a plain chain of Dramatiq actors, with Dramatiq's own
delayed message for the wait. Nothing is durable: a delayed message lives in a worker's
memory until it is due. Run by bench/run.py as `dramatiq bench.chain`."""

from __future__ import annotations

import os

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

broker = RedisBroker(url=os.environ["REDIS_URL"], namespace="bench-chain")
dramatiq.set_broker(broker)
counter = redis.Redis.from_url(os.environ["REDIS_URL"])


@dramatiq.actor(queue_name="chain", max_retries=0)
def first(user: int) -> None:
    second.send_with_options(args=(user,), delay=1000)


@dramatiq.actor(queue_name="chain", max_retries=0)
def second(user: int) -> None:
    (even if user % 2 == 0 else odd).send(user)


@dramatiq.actor(queue_name="chain", max_retries=0)
def even(user: int) -> None:
    counter.incr("bench-chain:done")


@dramatiq.actor(queue_name="chain", max_retries=0)
def odd(user: int) -> None:
    counter.incr("bench-chain:done")

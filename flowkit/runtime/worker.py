"""The Dramatiq side of flowkit: the broker, the actors, and each worker's engine.

``dramatiq flowkit.runtime.worker`` (or the project's ``worker.py``) runs workers.
Messages carry ids only, as JSON: a shard to route, or nothing at all for "fire due
timers". The work itself is claimed from SQL inside the worker's transaction, so a
duplicate message finds nothing to do and a lost one is re-sent by the scheduler.

Environment: ``REDIS_URL`` (required), ``DATABASE_URL``, ``FLOWKIT_FLOWS`` (sources of
flows separated by ``os.pathsep``; default automations/ and tracks/ of the working
directory), ``FLOWKIT_METRICS_PORT`` (serve Prometheus metrics), ``FLOWKIT_LOG_LEVEL``,
``FLOWKIT_BATCH_SIZE`` (default 500) and ``FLOWKIT_CONCURRENT_BATCHES`` (default 8).

An outage of the database (or of Redis, when a worker sends a follow-up message) does not
fail a message: the worker logs it (throttled), waits with backoff, and acknowledges the
message; the work is still in SQL and the scheduler nudges again once it can read it.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable

import dramatiq
from dramatiq.middleware import Middleware

from flowkit.clock import clock_from_env
from flowkit.errors import ConfigurationError
from flowkit.runtime import faults, logs, services
from flowkit.runtime.broker import WakingRedisBroker
from flowkit.runtime.engine import Engine
from flowkit.runtime.hooks import Hooks
from flowkit.store import database
from flowkit.store.repository import SHARDS

ROUTE_QUEUE = "flowkit.route"
TIMERS_QUEUE = "flowkit.timers"
# A message does one batch (up to 500 events or timers, one transaction), then hands the
# rest to a new message: a worker thread is never held long, so due timers (which go
# first) are picked up within about a batch's time even under a backlog of events.
MAX_BATCHES_PER_MESSAGE = 1


def make_broker(url: str | None = None) -> WakingRedisBroker:
    url = url or services.redis_url()
    if not url:
        raise ConfigurationError(
            "the workers need Redis: set REDIS_URL, or start everything with `flowkit run`")
    # A worker that dies has its unacknowledged messages requeued after this long.
    broker = WakingRedisBroker(url=url, heartbeat_timeout=15_000)  # type: ignore[no-untyped-call]
    if os.environ.get("FLOWKIT_METRICS_PORT"):
        from dramatiq.middleware.prometheus import Prometheus

        broker.add_middleware(Prometheus())
    broker.add_middleware(_EngineShutdown())
    return broker


class _EngineShutdown(Middleware):
    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        close_engine()


broker = make_broker()
dramatiq.set_broker(broker)

_engine: Engine | None = None
_engine_lock = threading.Lock()


class DramatiqDispatcher:
    """Have new events routed by the workers: one message per shard that got events."""

    def events_appended(self, engine: Engine, shards: set[int]) -> None:
        for shard in sorted(shards):
            route_events.send(shard)


def get_engine() -> Engine:
    """This process's engine, made on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            flows_env = os.environ.get("FLOWKIT_FLOWS")
            sources = flows_env.split(os.pathsep) if flows_env else None
            hooks: list[Hooks] = [logs.LogHooks()]
            if os.environ.get("FLOWKIT_METRICS_PORT"):
                from flowkit.runtime.metrics import MetricsHooks

                hooks.append(MetricsHooks())
            _engine = Engine(services.database_url(), sources, clock=clock_from_env(),
                             dispatcher=DramatiqDispatcher(), hooks=hooks,
                             batch_size=int(os.environ.get("FLOWKIT_BATCH_SIZE", "500")),
                             concurrent_batches=services.concurrent_batches())
            database.leave_checkpoints(_engine.db)
            _tune_collector()
        return _engine


def _tune_collector() -> None:
    """Take what the process holds once its engine is made out of the garbage
    collector's passes, and collect young objects a tenth as often.

    A batch allocates many short-lived objects and few cycles, which reference counting
    frees anyway; the collector's passes over them, and over everything the process
    imported, were about a tenth of a batch's CPU (docs/performance.md, round six).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


services.concurrent_batches()  # a bad setting stops a worker at start, not at a message
_backoff = faults.Backoff(first=0.2, most=5.0)


def _outlasting_outages(work: Callable[[], None], what: str) -> None:
    """Do ``work``; if the database or Redis is unreachable, log it (throttled), wait
    with backoff, and return: the message is only a nudge, and the scheduler sends
    another once the work can be read again."""
    try:
        work()
    except Exception as error:
        problem = faults.transient(error)
        if problem is None:
            raise
        logs.fault(f"{what} waits for {problem.service}: {problem}", error,
                   kind=f"worker:{problem.service}")
        _backoff.wait()
    else:
        _backoff.succeeded()


def close_engine() -> None:
    global _engine
    with _engine_lock:
        if _engine is not None:
            _engine.close()
            _engine = None


# A worker takes due timers before new events (lower priority runs first): under a
# backlog of events, runs already waiting keep their appointments.
@dramatiq.actor(queue_name=ROUTE_QUEUE, max_retries=20, min_backoff=100, max_backoff=30_000,
                time_limit=600_000, priority=10)
def route_events(shard: int) -> None:
    """Route the shard's waiting events, if no other worker is routing it."""
    if not 0 <= shard < SHARDS:
        raise ValueError(f"no shard {shard}")

    def route() -> None:
        engine = get_engine()
        # Due timers first, here too: under a backlog of events every worker thread is
        # busy routing, and a timer message waits for a thread to come free; a thread
        # that fires what is due before each batch of events keeps timers on time.
        # With none due it costs one indexed query per batch.
        engine.tick(max_batches=1)
        routed = engine.route(shard, max_batches=MAX_BATCHES_PER_MESSAGE)
        if routed >= engine.batch_size * MAX_BATCHES_PER_MESSAGE:
            route_events.send(shard)  # more waits: let the next free worker go on

    _outlasting_outages(route, "routing")


@dramatiq.actor(queue_name=TIMERS_QUEUE, max_retries=20, min_backoff=100,
                max_backoff=30_000, time_limit=600_000, priority=0)
def fire_timers() -> None:
    """Fire due timers, a batch per transaction, skipping those others hold."""
    def fire() -> None:
        engine = get_engine()
        fired = engine.tick(max_batches=MAX_BATCHES_PER_MESSAGE)
        if fired >= engine.batch_size * MAX_BATCHES_PER_MESSAGE:
            fire_timers.send()

    _outlasting_outages(fire, "firing timers")


logs.configure()
for _handler in logging.getLogger().handlers:  # Dramatiq's own lines, under its CLI too
    _handler.addFilter(logs.throttle())


"""Prometheus metrics, served by Dramatiq's exposition server (FLOWKIT_METRICS_PORT).

flowkit_runs_started_total{flow}: runs started; flowkit_runs_total{flow,status}:
transitions into each status (waiting, completed, exited, failed, parked);
flowkit_step_seconds: a batch's transaction time divided by its transitions;
flowkit_timer_lateness_seconds{kind}: how long after their due time timers fire;
flowkit_batch_slot_wait_seconds: how long each batch waited for a slot under
FLOWKIT_CONCURRENT_BATCHES (most at 0 while the cap is not what limits the workers);
flowkit_queue_depth{queue}, flowkit_due_timers, flowkit_unrouted_shards: what the
scheduler saw at its last poll (served by the scheduler, ``--metrics-port``).
"""

from __future__ import annotations

from flowkit.context import Run
from flowkit.runtime.hooks import Hooks


class MetricsHooks(Hooks):
    """Counts and times what the engine does, in prometheus_client's default registry
    (which Dramatiq's exposition server reads in multiprocess mode)."""

    _instance: MetricsHooks | None = None

    def __new__(cls) -> MetricsHooks:
        # The metrics are process-wide: a second instance shares the first's.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
            cls._instance._setup()
        return cls._instance

    def _setup(self) -> None:
        import prometheus_client as prom

        self.started = prom.Counter("flowkit_runs_started_total", "Runs started.", ["flow"])
        self.runs = prom.Counter("flowkit_runs_total", "Runs reaching each status.",
                                 ["flow", "status"])
        self.step_seconds = prom.Histogram(
            "flowkit_step_seconds", "Transaction time per transition, by batch.",
            buckets=(0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0))
        self.lateness = prom.Histogram(
            "flowkit_timer_lateness_seconds", "How long after their due time timers fired.",
            ["kind"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))
        self.slot_wait = prom.Histogram(
            "flowkit_batch_slot_wait_seconds",
            "How long a batch waited for one of FLOWKIT_CONCURRENT_BATCHES slots.",
            buckets=(0.0, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5))

    def after_start(self, flow: str, user: str) -> None:
        self.started.labels(flow).inc()

    def after_transition(self, run: Run, status: str, step: str | None,
                         outcome: object) -> None:
        self.runs.labels(run.flow, status).inc()

    def timer_fired(self, flow: str, kind: str, lateness: float) -> None:
        self.lateness.labels(kind).observe(max(lateness, 0.0))

    def after_commit(self, transitions: int, seconds: float) -> None:
        self.step_seconds.observe(seconds / transitions)

    def batch_slot_taken(self, waited: float) -> None:
        self.slot_wait.observe(waited)


class SchedulerMetrics:
    """What the scheduler sees, served on its own port (it is not a Dramatiq worker)."""

    def __init__(self, port: int) -> None:
        import prometheus_client as prom

        registry = prom.CollectorRegistry()
        self.queue_depth = prom.Gauge("flowkit_queue_depth", "Messages waiting in a queue.",
                                      ["queue"], registry=registry)
        self.due = prom.Gauge(
            "flowkit_due_timers", "Timers due and not yet fired (to 100,000, once a second).",
            registry=registry)
        self.unrouted = prom.Gauge("flowkit_unrouted_shards",
                                   "Shards with events waiting to be routed.",
                                   registry=registry)
        prom.start_http_server(port, addr="127.0.0.1", registry=registry)

    def observe(self, due: int | None, pending_shards: int, depth: dict[str, int]) -> None:
        """Set the gauges; ``due`` is None on a poll that did not count them all."""
        if due is not None:
            self.due.set(due)
        self.unrouted.set(pending_shards)
        for queue, n in depth.items():
            self.queue_depth.labels(queue).set(n)

"""Prometheus metrics, served by Dramatiq's exposition server (FLOWKIT_METRICS_PORT).

flowkit_runs_total{flow,status}: transitions into each status (started counts starts);
flowkit_batch_seconds: how long a batch's transaction took, per transition
(flowkit_step_seconds); flowkit_timer_lateness_seconds{kind}: how late timers fire;
flowkit_queue_depth{queue}: messages waiting, set by the scheduler.
"""

from __future__ import annotations

from flowkit.context import Run
from flowkit.runtime.hooks import Hooks


class MetricsHooks(Hooks):
    def __init__(self) -> None:
        import prometheus_client as prom

        self.runs = prom.Counter("flowkit_runs_total", "Runs reaching each status.",
                                 ["flow", "status"])
        self.step_seconds = prom.Histogram(
            "flowkit_step_seconds", "Transaction time per transition, by batch.",
            buckets=(0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0))
        self.lateness = prom.Histogram(
            "flowkit_timer_lateness_seconds", "How long after their due time timers fired.",
            ["kind"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))

    def after_transition(self, run: Run, status: str, step: str | None,
                         outcome: object) -> None:
        self.runs.labels(run.flow, status).inc()

    def timer_fired(self, flow: str, kind: str, lateness: float) -> None:
        self.lateness.labels(kind).observe(max(lateness, 0.0))

    def after_commit(self, transitions: int, seconds: float) -> None:
        self.step_seconds.observe(seconds / transitions)


def queue_depth_gauge() -> object:
    import prometheus_client as prom

    return prom.Gauge("flowkit_queue_depth", "Messages waiting in each queue.", ["queue"],
                      multiprocess_mode="livemax")

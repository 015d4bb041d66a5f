"""Logs and metrics an on-call engineer reads."""

from __future__ import annotations

import json
import logging
import urllib.request

import pytest
from prometheus_client import REGISTRY

from flowkit import Engine
from flowkit.runtime import logs
from flowkit.runtime.metrics import MetricsHooks, SchedulerMetrics
from flowkit.runtime.services import _free_port
from tests.runtime import flows


def test_each_transition_is_a_json_log_line_with_run_flow_step_and_user(
        tmp_path: object, caplog: pytest.LogCaptureFixture) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logs.JsonFormatter())
    records: list[str] = []
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore
    logs.log.addHandler(handler)
    logs.log.setLevel(logging.INFO)
    try:
        with Engine(f"sqlite:///{tmp_path}/l.db", [flows.drip],
                    hooks=[logs.LogHooks()]) as engine:
            engine.emit("user.enrolled", user="u1", course="python-101")
    finally:
        logs.log.removeHandler(handler)
    (line,) = [json.loads(r) for r in records]
    assert line["flow"] == "drip"
    assert (line["step"], line["user"], line["status"]) == ("wait:2d", "u1", "waiting")
    assert len(line["run_id"]) == 36


def test_metrics_count_starts_and_statuses(tmp_path: object) -> None:
    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    started = sample("flowkit_runs_started_total", flow="drip")
    waiting = sample("flowkit_runs_total", flow="drip", status="waiting")
    with Engine(f"sqlite:///{tmp_path}/m.db", [flows.drip], hooks=[MetricsHooks()]) as engine:
        engine.emit_many([{"event": "user.enrolled", "user": f"u{i}", "course": "python-101"}
                          for i in range(3)])
    assert sample("flowkit_runs_started_total", flow="drip") == started + 3
    assert sample("flowkit_runs_total", flow="drip", status="waiting") == waiting + 3
    assert MetricsHooks() is MetricsHooks()


def test_the_scheduler_serves_queue_depth_and_due_timers() -> None:
    port = _free_port()
    metrics = SchedulerMetrics(port)
    metrics.observe(due=42, pending_shards=3, depth={"flowkit.timers": 7})
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    assert 'flowkit_queue_depth{queue="flowkit.timers"} 7.0' in body
    assert "flowkit_due_timers 42.0" in body

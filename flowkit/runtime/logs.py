"""Structured logs: one JSON object a line, with run id, flow, step and user."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

from flowkit.context import Run
from flowkit.runtime.hooks import Hooks

log = logging.getLogger("flowkit")
_FIELDS = ("run_id", "flow", "step", "user", "status", "transitions", "seconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        for field in _FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str | None = None) -> None:
    """Send flowkit's logs to stderr as JSON lines (level: FLOWKIT_LOG_LEVEL, INFO)."""
    if any(isinstance(h.formatter, JsonFormatter) for h in log.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    log.addHandler(handler)
    log.setLevel((level or os.environ.get("FLOWKIT_LOG_LEVEL", "INFO")).upper())
    log.propagate = False
    logging.getLogger("alembic").setLevel(logging.WARNING)  # schema checks at start-up


class LogHooks(Hooks):
    """Log each transition at INFO (a run reached a status at a step), failures at
    WARNING."""

    def after_transition(self, run: Run, status: str, step: str | None,
                         outcome: object) -> None:
        level = logging.WARNING if status in ("failed", "parked") else logging.INFO
        if not log.isEnabledFor(level):
            return
        reason = getattr(outcome, "reason", None)
        log.log(level, f"run {status}" + (f": {reason}" if reason else ""), extra={
            "run_id": run.id, "flow": run.flow, "step": step, "user": run.user.id,
            "status": status})

    def after_commit(self, transitions: int, seconds: float) -> None:
        log.debug("batch committed", extra={"transitions": transitions,
                                             "seconds": round(seconds, 4)})

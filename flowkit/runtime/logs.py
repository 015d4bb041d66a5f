"""Structured logs: one JSON object a line, with run id, flow, step and user.

During an outage every worker thread and every retry fails the same way; ``Throttle``
keeps the log readable: the first record of each kind passes (with its traceback), then
at most one per ``FLOWKIT_LOG_INTERVAL`` seconds (default 10) saying how many like it
were held back, never a traceback again.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
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


class Throttle(logging.Filter):
    """Lets through the first warning or error of each kind, then one per ``interval``
    seconds with a count of those held back; shows each kind's traceback once.

    A kind is the logger, the message's template and the exception's type, so "batch
    failed: connection refused" from eight threads is one kind. A traceback is shown
    once per logger and fault (the record's ``fault`` name, or else its message),
    whatever the exception's type. Records below WARNING pass untouched.
    """

    def __init__(self, interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval if interval is not None else float(
            os.environ.get("FLOWKIT_LOG_INTERVAL", "10"))
        self.clock = clock
        self._last: dict[tuple[str, str, str], float] = {}
        self._held: dict[tuple[str, str, str], int] = {}
        self._traced: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        verdict = getattr(record, "_flowkit_throttle", None)
        if verdict is None:  # the same record may pass several handlers: judge it once
            verdict = record.levelno < logging.WARNING or self._judge(record)
            record._flowkit_throttle = verdict
        return bool(verdict)

    def _judge(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        # Dramatiq names a logger per consumer thread ("...ConsumerThread(queue)"): one kind.
        kind = (record.name.split("(")[0], str(getattr(record, "fault", record.msg)),
                type(error).__name__ if error is not None else "")
        now = self.clock()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.interval:
                self._held[kind] = self._held.get(kind, 0) + 1
                return False
            self._last[kind] = now
            held = self._held.pop(kind, 0)
            # one traceback per logger and message: an outage raises several types
            traced = kind[:2] in self._traced
            if record.exc_info:
                self._traced.add(kind[:2])
        if held:
            record.msg = (f"{record.getMessage()} ({held} more like it in the last "
                          f"{self.interval:g} s not logged)")
            record.args = ()
        if traced:
            record.exc_info = None
            record.exc_text = None
        return True


_throttle: Throttle | None = None


def throttle() -> Throttle:
    """The process's one ``Throttle`` (every handler shares it)."""
    global _throttle
    if _throttle is None:
        _throttle = Throttle()
    return _throttle


def configure(level: str | None = None) -> None:
    """Send flowkit's logs to stderr as JSON lines (level: FLOWKIT_LOG_LEVEL, INFO),
    throttled during outages."""
    if any(isinstance(h.formatter, JsonFormatter) for h in log.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(throttle())
    log.addHandler(handler)
    log.setLevel((level or os.environ.get("FLOWKIT_LOG_LEVEL", "INFO")).upper())
    log.propagate = False
    logging.getLogger("alembic").setLevel(logging.WARNING)  # schema checks at start-up


def configure_process(level: str | None = None) -> None:
    """``configure``, plus the same JSON lines and throttle for the libraries' own logs
    (Dramatiq, redis-py, SQLAlchemy) at WARNING and above: the set-up of a worker or
    scheduler process that flowkit starts itself."""
    configure(level)
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        lines = logging.StreamHandler(sys.stderr)
        lines.setFormatter(JsonFormatter())
        root.addHandler(lines)
    # FLOWKIT_LIBRARY_LOG_LEVEL=INFO (what `flowkit run -v` sets) shows their INFO too
    root.setLevel(os.environ.get("FLOWKIT_LIBRARY_LOG_LEVEL", "WARNING").upper())
    for handler in root.handlers:
        if throttle() not in handler.filters:
            handler.addFilter(throttle())


def fault(message: str, error: BaseException, kind: str) -> None:
    """Log a failure that will be retried: throttled per ``kind``, with its traceback
    only the first time."""
    log.warning(message, exc_info=error, extra={"fault": kind})


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

"""During an outage the log stays readable: one line per kind of failure per interval,
with a count of what was held back, and a traceback once."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from flowkit.runtime.logs import JsonFormatter, Throttle


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO, FakeClock]]:
    clock = FakeClock()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Throttle(interval=10.0, clock=clock))
    logger = logging.getLogger("flowkit.test.throttle")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream, clock
    logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _fail(logger: logging.Logger, error: Exception, kind: str = "db") -> None:
    try:
        raise error
    except Exception as caught:
        logger.warning("batch failed: %s", caught, exc_info=True, extra={"fault": kind})


def test_a_thousand_failures_in_ten_seconds_log_one_line_with_its_traceback(
        logged: tuple[logging.Logger, io.StringIO, FakeClock]) -> None:
    logger, stream, clock = logged
    for i in range(1000):
        clock.now = i * 0.01
        _fail(logger, ConnectionRefusedError(f"refused #{i}"))
    (line,) = _lines(stream)
    assert "refused #0" in line["msg"]
    assert "Traceback" in line["exc"]


def test_after_the_interval_one_line_says_how_many_were_held_back_without_traceback(
        logged: tuple[logging.Logger, io.StringIO, FakeClock]) -> None:
    logger, stream, clock = logged
    for i in range(61):  # a failure every half second for 30 s
        clock.now = i * 0.5
        _fail(logger, ConnectionRefusedError("refused"))
    lines = _lines(stream)
    assert len(lines) == 4  # at 0, 10, 20 and 30 s
    assert [line["msg"].endswith("(19 more like it in the last 10 s not logged)")
            for line in lines] == [False, True, True, True]
    assert ["exc" in line for line in lines] == [True, False, False, False]


def test_each_kind_of_failure_gets_its_own_line(
        logged: tuple[logging.Logger, io.StringIO, FakeClock]) -> None:
    logger, stream, _clock = logged
    for _ in range(50):
        _fail(logger, ConnectionRefusedError("refused"), kind="database")
        _fail(logger, TimeoutError("timed out"), kind="redis")
        logger.info("a run completed")  # below WARNING: never held back
    lines = _lines(stream)
    assert sum("batch failed" in line["msg"] for line in lines) == 2
    assert sum(line["msg"] == "a run completed" for line in lines) == 50


def test_an_outage_raising_several_types_shows_its_traceback_once(
        logged: tuple[logging.Logger, io.StringIO, FakeClock]) -> None:
    logger, stream, _clock = logged
    # a database going away: refused, then reset, then timed out; each type its own line
    for error in (ConnectionRefusedError("refused"), ConnectionResetError("reset"),
                  TimeoutError("timed out"), ConnectionRefusedError("refused again")):
        _fail(logger, error)
    lines = _lines(stream)
    assert [line["msg"].split(": ")[1] for line in lines] == ["refused", "reset", "timed out"]
    assert ["exc" in line for line in lines] == [True, False, False]

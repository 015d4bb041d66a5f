"""Frequency caps hold across worker processes: two workers sending to the same user
at the same moment never send past the cap."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from flowkit import Engine
from flowkit.store.schema import message_counts, rule_log
from tests.conftest import wait_until
from tests.integration.conftest import Processes
from tests.rules import worker_flows

RUNS = 40


@pytest.fixture
def emitter(pg_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("REDIS_URL", redis_url)
    from flowkit.runtime import worker

    worker.broker.client = redis.Redis.from_url(redis_url)
    with Engine(pg_url, [worker_flows.capped], dispatcher=worker.DramatiqDispatcher(),
                rules=worker_flows.rules) as engine:
        yield engine


def test_two_workers_sending_to_one_user_at_once_stop_at_the_cap(
        processes: Processes, emitter: Engine, tmp_path: Path) -> None:
    # given two worker processes taking one timer per transaction, two threads each
    processes.env.update(FLOWKIT_FLOWS="tests.rules.worker_flows",
                         FLOWKIT_RULES="tests.rules.worker_flows:rules",
                         FLOWKIT_BATCH_SIZE="1")
    for _ in range(2):
        processes.worker(threads=2)
    # and 40 runs of one user about to send an email at the same second (cap: 5 a day)
    emitter.emit_many([{"event": "capped.started", "user": "u1", "n": i}
                       for i in range(RUNS)])
    wait_until(lambda: len(emitter.runs(user="u1")) == RUNS, 60, "every run to start")
    due = emitter.next_due()
    assert due is not None
    wait_until(lambda: emitter.clock.now() >= due, 10, "the timers to fall due")
    # when eight chains of timer messages fire them in parallel
    from flowkit.runtime import worker

    for _ in range(8):
        worker.fire_timers.send()
    processes.scheduler()  # re-sends for timers a chain skipped while another held them

    def settled() -> bool:
        with emitter.db.connect() as conn:
            held = conn.execute(sa.select(sa.func.count()).select_from(rule_log)).scalar()
        return len(emitter.actions(user="u1")) + int(held or 0) >= RUNS

    wait_until(settled, 90, "every run to send or be deferred")
    # then exactly 5 went out, and the other 35 wait for tomorrow
    sent = (tmp_path / "effects.txt").read_text().splitlines()
    assert len(emitter.actions(user="u1")) == len(sent) == 5
    with emitter.db.connect() as conn:
        assert conn.execute(sa.select(message_counts.c.count)).scalar() == 5
        outcomes = Counter(conn.execute(sa.select(rule_log.c.outcome)).scalars())
    assert outcomes == {"deferred": RUNS - 5}
    assert Counter(r.status for r in emitter.runs(user="u1")) == {"completed": 5,
                                                                  "waiting": RUNS - 5}

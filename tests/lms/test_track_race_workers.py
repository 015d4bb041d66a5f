"""Two worker processes routing reports of the same managers at the same time: each
manager is added to the track once, confirmed once, and runs it once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa

from flowkit import Engine
from flowkit.lms import tables
from tests.conftest import wait_until
from tests.integration.conftest import (  # noqa: F401 (fixtures)
    Processes,
    pg_url,
    processes,
)
from tests.lms import race_flows

MANAGERS, REPORTS = 40, 5


@pytest.fixture
def emitter(pg_url: str, redis_url: str,  # noqa: F811
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("REDIS_URL", redis_url)
    from flowkit.runtime import worker

    worker.broker.client = redis.Redis.from_url(redis_url)
    flows = [race_flows.add_manager, race_flows.checklist]
    with Engine(pg_url, flows, dispatcher=worker.DramatiqDispatcher()) as engine:
        yield engine


def test_two_workers_add_each_manager_once_however_many_reports_start_together(
        processes: Processes, emitter: Engine) -> None:  # noqa: F811
    processes.env["FLOWKIT_FLOWS"] = "tests.lms.race_flows"
    processes.env["FLOWKIT_TEST_ACTION_SECONDS"] = "0.02"
    processes.worker(threads=2)
    processes.worker(threads=2)
    for m in range(MANAGERS):
        for r in range(REPORTS):
            emitter.add_user(f"m{m}-r{r}", manager=f"m{m}")
    emitter.emit_many([{"event": "report.started", "user": f"m{m}-r{r}"}
                       for r in range(REPORTS) for m in range(MANAGERS)])
    total = MANAGERS * REPORTS
    wait_until(lambda: len(emitter.actions(name="add_to_track")) == total, 90,
               f"{total} add_to_track actions")
    wait_until(lambda: len(emitter.runs(flow="checklist")) >= MANAGERS, 60,
               "every manager's checklist")

    results = Counter(a.result.split(":")[0] for a in emitter.actions(name="add_to_track"))
    assert results == {"added": MANAGERS, "skipped": total - MANAGERS}
    assert Counter(r.user for r in emitter.runs(flow="checklist")) == {
        f"m{m}": 1 for m in range(MANAGERS)}
    with emitter.db.connect() as conn:
        confirmed = Counter(row.user_id for row in conn.execute(
            sa.select(tables.messages.c.user_id).where(
                tables.messages.c.kind == "confirmation")))
    assert confirmed == {f"m{m}": 1 for m in range(MANAGERS)}

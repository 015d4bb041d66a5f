"""The group commit: concurrent requests share transactions, a few groups commit at
once, each request gets its own answer, and a bad request fails only itself."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import pytest
import sqlalchemy as sa

from flowkit import Engine
from flowkit.runtime.engine import Emitted
from flowkit.serve.ingest import DeferredDispatcher, Ingest
from flowkit.serve.problems import Problem
from flowkit.store import schema as t


class Gate:
    """An engine whose commits wait at a gate, counting how many are in flight."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.open = threading.Event()
        self.groups: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def emit_many(self, events: Sequence[Mapping[str, Any]]) -> list[Emitted]:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            assert self.open.wait(10), "the test never opened the gate"
            return self.engine.emit_many(events)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.groups.append(len(events))


def _event(n: int) -> dict[str, Any]:
    return {"event": "course.enrolled", "user": f"u{n}", "idempotency_key": f"k{n}",
            "course": "python-101"}


async def _emit_crowd(ingest: Ingest, gate: Gate, requests: list[list[dict[str, Any]]]
                      ) -> list[list[Emitted] | BaseException]:
    """The first requests one by one, each reaching the gate in a group of its own
    until every committer is busy; then the rest, queueing; then the gate opens."""
    tasks = []
    for request in requests:
        tasks.append(asyncio.create_task(ingest.emit(request, batch=len(request) > 1)))
        if len(tasks) <= ingest.committers:
            async with asyncio.timeout(10):
                while gate.in_flight < len(tasks):
                    await asyncio.sleep(0.001)
    gate.open.set()
    return await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 20)


def _stored(engine: Engine) -> int:
    with engine.db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.events)).scalar_one())


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    with Engine(database_url, [], dispatcher=DeferredDispatcher()) as engine:
        yield engine


def test_a_crowd_of_single_events_shares_a_few_transactions(engine: Engine) -> None:
    gate = Gate(engine)
    ingest = Ingest(cast(Engine, gate), committers=4)
    answers = asyncio.run(_emit_crowd(ingest, gate, [[_event(n)] for n in range(100)]))

    assert [a[0].key for a in answers if isinstance(a, list)] == [f"k{n}" for n in range(100)]
    assert gate.most_in_flight == 4  # four groups at once, never more
    assert sum(gate.groups) == 100
    assert len(gate.groups) <= 8  # the first four alone, then the crowd in a few groups
    assert _stored(engine) == 100


def test_one_committer_commits_one_group_at_a_time(engine: Engine) -> None:
    gate = Gate(engine)
    ingest = Ingest(cast(Engine, gate), committers=1)
    asyncio.run(_emit_crowd(ingest, gate, [[_event(n)] for n in range(20)]))
    assert gate.most_in_flight == 1
    assert gate.groups == [1, 19]


def test_a_bad_request_in_a_group_fails_alone(engine: Engine) -> None:
    gate = Gate(engine)
    ingest = Ingest(cast(Engine, gate), committers=1)
    requests = [[_event(n)] for n in range(10)]
    requests[6] = [{"event": "course.enrolled", "user": "", "idempotency_key": "bad"}]
    answers = asyncio.run(_emit_crowd(ingest, gate, requests))

    refused = answers[6]
    assert isinstance(refused, Problem) and refused.status == 400
    assert all(isinstance(a, list) and not a[0].duplicate
               for i, a in enumerate(answers) if i != 6)
    assert _stored(engine) == 9


def test_a_key_sent_twice_in_one_group_is_stored_once(engine: Engine) -> None:
    gate = Gate(engine)
    ingest = Ingest(cast(Engine, gate), committers=1)
    answers = asyncio.run(_emit_crowd(ingest, gate, [[_event(1)], [_event(2)], [_event(2)]]))
    assert [(a[0].key, a[0].duplicate) for a in answers if isinstance(a, list)] == [
        ("k1", False), ("k2", False), ("k2", True)]
    assert _stored(engine) == 2


def test_no_request_is_left_waiting_when_committers_finish_together(engine: Engine) -> None:
    """Waves of requests arriving as the committers run out of work: every request is
    answered (a request queued as the last committer left would hang its client)."""
    ingest = Ingest(engine, committers=2)

    async def waves() -> list[list[Emitted]]:
        answered = []
        for wave in range(30):
            batch = [ingest.emit([_event(wave * 10 + n)]) for n in range(wave % 4 + 1)]
            answered += await asyncio.wait_for(asyncio.gather(*batch), 10)
        return answered

    answered = asyncio.run(waves())
    assert len(answered) == sum(w % 4 + 1 for w in range(30))


class Deadlocking:
    """An engine whose commits of more than one event lose a deadlock ``times`` times
    (PostgreSQL's SQLSTATE 40P01, or 40001 for a serialization failure), as two
    committers inserting the same keys in opposite orders would."""

    def __init__(self, engine: Engine, times: int, alone_too: bool = False,
                 sqlstate: str = "40P01") -> None:
        self.engine = engine
        self.times = times
        self.alone_too = alone_too
        self.sqlstate = sqlstate
        self.db = engine.db

    def emit_many(self, events: Sequence[Mapping[str, Any]]) -> list[Emitted]:
        if self.times and (len(events) > 1 or self.alone_too):
            self.times -= 1
            orig = type("DeadlockDetected", (Exception,), {"sqlstate": self.sqlstate})(
                "deadlock detected")
            raise sa.exc.OperationalError("INSERT INTO flowkit_events", {}, orig)
        return self.engine.emit_many(events)


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_a_group_that_loses_a_deadlock_is_committed_again_request_by_request(
        engine: Engine, sqlstate: str) -> None:
    gate = Gate(cast(Engine, Deadlocking(engine, times=1, sqlstate=sqlstate)))
    ingest = Ingest(cast(Engine, gate), committers=1)
    answers = asyncio.run(_emit_crowd(ingest, gate, [[_event(n)] for n in range(10)]))
    assert all(isinstance(a, list) and not a[0].duplicate for a in answers), answers
    assert _stored(engine) == 10


def test_a_request_that_loses_a_deadlock_twice_is_answered_503(engine: Engine) -> None:
    ingest = Ingest(cast(Engine, Deadlocking(engine, times=2, alone_too=True)),
                    committers=1)

    async def one() -> list[Emitted]:
        return await ingest.emit([_event(1)])

    with pytest.raises(Problem) as refused:
        asyncio.run(one())
    assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "2"
    assert refused.value.detail.startswith("the database is unavailable; retry")
    assert _stored(engine) == 0


def test_an_in_memory_sqlite_engine_commits_one_group_at_a_time() -> None:
    with Engine("sqlite://", [], dispatcher=DeferredDispatcher()) as memory:
        ingest = Ingest(memory)
        assert ingest.committers == 1  # its one connection is shared by every thread

        async def crowd() -> list[list[Emitted]]:
            return await asyncio.gather(*(ingest.emit([_event(n)]) for n in range(20)))

        assert len(asyncio.run(crowd())) == 20
        assert _stored(memory) == 20


def test_groups_stop_at_max_group_events_but_never_split_a_request(engine: Engine) -> None:
    gate = Gate(engine)
    ingest = Ingest(cast(Engine, gate), max_group=5, committers=1)
    requests = [[_event(n)] for n in range(12)]
    requests.append([_event(100 + n) for n in range(8)])  # a batch larger than a group
    requests += [[_event(200 + n)] for n in range(3)]
    asyncio.run(_emit_crowd(ingest, gate, requests))
    # the first alone (the gate shut), then up to 5 events a group, the batch of 8 whole
    assert gate.groups == [1, 5, 5, 1, 8, 3]
    assert _stored(engine) == 23


def test_a_second_crowd_gets_the_same_number_of_committers(engine: Engine) -> None:
    """Committers that finish give their place back, exactly: the next crowd is
    committed by as many at once as the first."""
    gate = Gate(engine)
    ingest = Ingest(cast(Engine, gate), committers=4)
    for crowd in range(2):
        gate.open.clear()
        gate.most_in_flight = 0
        asyncio.run(_emit_crowd(ingest, gate, [[_event(crowd * 100 + n)] for n in range(40)]))
        assert gate.most_in_flight == 4, f"crowd {crowd}"
        assert ingest._running == 0  # every place given back, none twice


class Failing:
    """An engine whose commits fail with ``error``."""

    def __init__(self, engine: Engine, error: Exception) -> None:
        self.engine = engine
        self.error = error
        self.db = engine.db

    def emit_many(self, events: Sequence[Mapping[str, Any]]) -> list[Emitted]:
        raise self.error


def test_a_group_meeting_the_outage_is_answered_503_each(engine: Engine) -> None:
    refused = sa.exc.OperationalError("INSERT", {}, ConnectionRefusedError(
        "connection to server at 127.0.0.1, port 5432 failed: Connection refused"))
    gate = Gate(cast(Engine, Failing(engine, refused)))
    ingest = Ingest(cast(Engine, gate), committers=1)
    answers = asyncio.run(_emit_crowd(ingest, gate, [[_event(n)] for n in range(6)]))
    assert all(isinstance(a, Problem) and a.status == 503
               and a.headers["Retry-After"] == "2" for a in answers), answers
    assert gate.groups == [1, 5]  # not split: a whole group meets the outage


def test_an_unexpected_failure_reaches_every_request_of_its_group(engine: Engine) -> None:
    gate = Gate(cast(Engine, Failing(engine, RuntimeError("a bug in a dispatcher"))))
    ingest = Ingest(cast(Engine, gate), committers=1)
    answers = asyncio.run(_emit_crowd(ingest, gate, [[_event(n)] for n in range(4)]))
    assert [type(a) for a in answers] == [RuntimeError] * 4  # none left waiting


def test_a_group_of_two_with_a_bad_request_fails_only_that_one(engine: Engine) -> None:
    gate = Gate(engine)
    ingest = Ingest(cast(Engine, gate), committers=1)
    bad = [{"event": "course.enrolled", "user": "", "idempotency_key": "bad"}]
    answers = asyncio.run(_emit_crowd(ingest, gate, [[_event(0)], [_event(1)], bad]))
    assert isinstance(answers[1], list) and isinstance(answers[2], Problem)
    assert _stored(engine) == 2


def test_a_server_engine_commits_four_groups_at_once_by_default(engine: Engine) -> None:
    expected = 1 if engine.db.dialect.name == "sqlite" else 4
    assert Ingest(engine).committers == expected

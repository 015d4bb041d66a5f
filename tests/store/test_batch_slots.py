"""The cap on batches running at once (``concurrent_batches``, the workers'
``FLOWKIT_CONCURRENT_BATCHES``): never more than the cap on the database, a slot given
back when its batch commits, fails or its process is killed, and a bad setting refused
at start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from flowkit import Engine, Hooks
from flowkit.errors import ConfigurationError
from flowkit.runtime.batch import open_batch
from tests.conftest import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]


@pytest.fixture
def capped(postgres_url: str) -> Iterator[Engine]:
    with Engine(postgres_url, [], concurrent_batches=2) as engine:
        yield engine


class Holder:
    """A thread holding a batch open until told to finish (or to fail)."""

    def __init__(self, engine: Engine) -> None:
        self.entered = threading.Event()
        self.finish = threading.Event()
        self.fail = False
        self.thread = threading.Thread(target=self._run, args=(engine,), daemon=True)
        self.thread.start()

    def _run(self, engine: Engine) -> None:
        try:
            with open_batch(engine._rt):
                self.entered.set()
                self.finish.wait(30)
                if self.fail:
                    raise RuntimeError("the batch failed")
        except RuntimeError:
            pass

    def done(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.finish.set()
        self.thread.join(10)


def test_no_more_batches_run_at_once_than_the_cap(capped: Engine) -> None:
    first, second = Holder(capped), Holder(capped)
    assert first.entered.wait(10) and second.entered.wait(10)
    third = Holder(capped)
    assert not third.entered.wait(0.5), "a third batch ran beside two with a cap of 2"
    first.done()  # commits: its slot is free
    assert third.entered.wait(10)
    second.done()
    third.done()


def test_a_failed_batch_gives_its_slot_back(capped: Engine) -> None:
    first, second = Holder(capped), Holder(capped)
    assert first.entered.wait(10) and second.entered.wait(10)
    third = Holder(capped)
    assert not third.entered.wait(0.3)
    first.done(fail=True)  # rolls back
    assert third.entered.wait(10)
    second.done()
    third.done()


class Waits(Hooks):
    def __init__(self) -> None:
        self.waits: list[float] = []

    def batch_slot_taken(self, waited: float) -> None:
        self.waits.append(waited)


def test_hooks_hear_how_long_each_batch_waited_for_its_slot(postgres_url: str) -> None:
    from prometheus_client import REGISTRY

    from flowkit.runtime.metrics import MetricsHooks

    def waited_long() -> float:
        return REGISTRY.get_sample_value("flowkit_batch_slot_wait_seconds_count") or 0.0

    before = waited_long()
    waits = Waits()
    with Engine(postgres_url, [], concurrent_batches=1,
                hooks=[waits, MetricsHooks()]) as engine:
        with open_batch(engine._rt):
            pass
        assert waits.waits == [0.0]  # a slot was free
        holder = Holder(engine)
        assert holder.entered.wait(10)
        release = threading.Timer(0.3, holder.done)
        release.start()
        with open_batch(engine._rt):
            pass  # waited until the holder finished
        release.join()
    assert len(waits.waits) == 3 and waits.waits[2] >= 0.2, waits.waits
    assert waited_long() - before == 3


_HOLD = """
import sys, time
from flowkit import Engine
from flowkit.runtime.batch import open_batch
engine = Engine(sys.argv[1], [], concurrent_batches=1)
with open_batch(engine._rt):
    print("holding", flush=True)
    time.sleep(120)
"""


def test_a_killed_worker_s_slot_is_free_again(postgres_url: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, postgres_url],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with Engine(postgres_url, [], concurrent_batches=1) as engine:
            waiting = Holder(engine)
            assert not waiting.entered.wait(0.5), "the slot was taken twice"
            os.kill(holder.pid, signal.SIGKILL)
            took = wait_until(waiting.entered.is_set, 20, "the killed holder's slot")
            waiting.done()
        assert took < 20
    finally:
        holder.kill()
        holder.wait(10)


@pytest.mark.parametrize("setting", ["0", "-3", "eight"])
def test_a_bad_cap_is_refused(setting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowkit.runtime import services

    monkeypatch.setenv("FLOWKIT_CONCURRENT_BATCHES", setting)
    with pytest.raises(ConfigurationError, match=r"FLOWKIT_CONCURRENT_BATCHES=.*at least 1"):
        services.concurrent_batches()
    monkeypatch.setenv("FLOWKIT_CONCURRENT_BATCHES", "12")
    assert services.concurrent_batches() == 12
    monkeypatch.delenv("FLOWKIT_CONCURRENT_BATCHES")
    assert services.concurrent_batches() == services.CONCURRENT_BATCHES == 8

"""The waking broker: an idle consumer blocks on Redis until a message is sent, instead
of polling, and still never misses a send or sits on a full prefetch.

Each consumer here waits up to 10 s (its timeout) when it has nothing to do; each test
expects its message within 2 s, which only a wake-up gives.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
import redis
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from flowkit.runtime.broker import WakingRedisBroker
from tests.conftest import wait_until
from tests.faults.proxy import Proxy

IDLE = 10_000  # ms a consumer waits with nothing to do
PROMPT = 2.0  # s: well inside IDLE


@pytest.fixture(autouse=True)
def _stop_takers() -> Iterator[None]:
    yield
    for taker in Taker.running:
        taker.stopped = True
    Taker.running.clear()


def _patient(url: str) -> str:
    """``url`` with a socket timeout longer than IDLE (redis-py's default is 5 s)."""
    return f"{url}{'&' if '?' in url else '?'}socket_timeout=30"


@pytest.fixture
def broker(redis_url: str) -> Iterator[WakingRedisBroker]:
    made = WakingRedisBroker(url=_patient(redis_url))
    yield made
    made.close()


def _message(queue_name: str = "q", n: int = 0) -> Message[Any]:
    return Message(queue_name=queue_name, actor_name="act", args=(n,), kwargs={}, options={})


class Taker:
    """Calls ``next(consumer)`` in a thread until a message comes; puts it, or the
    error that ended the thread, on ``got``. Stopped at the test's end, so that it
    takes nothing of the next test's."""

    running: ClassVar[list[Taker]] = []

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self.got: queue.Queue[Any] = queue.Queue()
        self.stopped = False
        Taker.running.append(self)
        threading.Thread(target=self._take, daemon=True).start()

    def _take(self) -> None:
        try:
            while (message := next(self.consumer)) is None:
                if self.stopped:
                    return
            self.got.put(message)
        except Exception as error:
            self.got.put(error)

    def result(self, within: float = PROMPT) -> Any:
        try:
            return self.got.get(timeout=within)
        except queue.Empty:
            pytest.fail(f"nothing came within {within}s (the consumer waits {IDLE} ms)")


def _blocked_on_xread(url: str) -> bool:
    """Whether a client of this test's Redis db is blocked in XREAD."""
    client = redis.Redis.from_url(url)
    db = str(client.connection_pool.connection_kwargs.get("db", 0))
    return any(c.get("cmd") == "xread" and "b" in c["flags"] and c.get("db") == db
               for c in client.client_list())


def test_an_idle_consumer_takes_a_sent_message_at_once(broker: WakingRedisBroker,
                                                        redis_url: str) -> None:
    taker = Taker(broker.consume("q", prefetch=2, timeout=IDLE))
    wait_until(lambda: _blocked_on_xread(redis_url), 5, "the consumer to wait on Redis")
    sent = broker.enqueue(_message(n=7))
    taken = taker.result()
    assert taken.message_id == sent.message_id and taken.args == (7,)


def test_a_send_between_the_empty_fetch_and_the_wait_is_not_missed(
        broker: WakingRedisBroker) -> None:
    consumer = broker.consume("q", prefetch=2, timeout=IDLE)
    broker.enqueue(_message(n=1))
    first = next(consumer)  # the consumer has seen a send and knows where the stream is
    assert first.args == (1,)
    consumer.ack(first)

    fetch = broker.do_fetch

    def fetch_then_send(queue_name: str, count: int) -> Any:
        found = fetch(queue_name, count)
        assert found == []
        broker.enqueue(_message(n=2))  # lands after the fetch, before the wait
        return found

    broker.do_fetch = fetch_then_send  # type: ignore[method-assign]
    began = time.monotonic()
    assert next(consumer) is None
    assert time.monotonic() - began < PROMPT, "the consumer waited past a send"
    broker.do_fetch = fetch  # type: ignore[method-assign]
    assert next(consumer).args == (2,)


@pytest.mark.parametrize("outcome", ["acknowledged", "rejected"])
def test_a_full_consumer_takes_the_next_message_when_one_is_done(
        broker: WakingRedisBroker, outcome: str) -> None:
    broker.enqueue(_message(n=1))
    broker.enqueue(_message(n=2))
    consumer = broker.consume("q", prefetch=1, timeout=IDLE)
    first = next(consumer)
    taker = Taker(consumer)  # prefetch is full: it waits for room, not for Redis
    with pytest.raises(queue.Empty):
        taker.got.get(timeout=0.3)
    if outcome == "acknowledged":
        consumer.ack(first)
    else:  # as a worker does with a message whose actor failed for good
        first.fail()
        consumer.nack(first)
    assert taker.result().args == (2,)


def test_requeued_messages_wake_another_consumer(broker: WakingRedisBroker,
                                                 redis_url: str) -> None:
    leaving = broker.consume("q", prefetch=2, timeout=IDLE)
    broker.enqueue(_message(n=3))
    held = next(leaving)
    taker = Taker(broker.consume("q", prefetch=2, timeout=IDLE))
    wait_until(lambda: _blocked_on_xread(redis_url), 5, "the other consumer to wait")
    leaving.requeue([held])  # as a worker that shuts down does
    assert taker.result().message_id == held.message_id


def test_delayed_messages_wake_the_delay_queue_consumer(broker: WakingRedisBroker,
                                                       redis_url: str) -> None:
    taker = Taker(broker.consume("q.DQ", prefetch=2, timeout=IDLE))
    wait_until(lambda: _blocked_on_xread(redis_url), 5, "the consumer to wait")
    broker.enqueue(_message(n=4), delay=50)  # a retry's backoff travels this way
    assert taker.result().args == (4,)


def test_a_wake_stream_holds_one_entry_however_many_sends(broker: WakingRedisBroker,
                                                          redis_url: str) -> None:
    for n in range(300):
        broker.enqueue(_message(n=n))
    client = redis.Redis.from_url(redis_url)
    assert client.xlen(broker.wake_key("q")) == 1
    assert client.llen(f"{broker.namespace}:q") == 300


def test_a_consumer_waiting_when_redis_goes_away_fails_fast_then_recovers(
        redis_url: str) -> None:
    address = urlsplit(redis_url)
    proxy = Proxy((address.hostname or "127.0.0.1", address.port or 6379)).start()
    url = redis_url.replace(f"{address.hostname}:{address.port}", f"127.0.0.1:{proxy.port}")
    broker = WakingRedisBroker(url=_patient(url))
    try:
        taker = Taker(broker.consume("q", prefetch=2, timeout=IDLE))
        wait_until(lambda: _blocked_on_xread(redis_url), 5, "the consumer to wait")
        proxy.cut()
        # Dramatiq's consumer thread restarts a consumer that raises this
        assert isinstance(taker.result(), ConnectionClosed)
        proxy.restore()
        sender = WakingRedisBroker(url=redis_url)
        retaker = Taker(broker.consume("q", prefetch=2, timeout=IDLE))
        wait_until(lambda: _blocked_on_xread(redis_url), 5, "the new consumer to wait")
        sender.enqueue(_message(n=5))
        assert retaker.result().args == (5,)
        sender.close()
    finally:
        broker.close()
        proxy.cut()


def test_an_idle_wait_longer_than_the_socket_timeout_is_cut_short_not_failed(
        redis_url: str) -> None:
    broker = WakingRedisBroker(url=f"{redis_url}?socket_timeout=1")
    try:
        consumer = broker.consume("q", prefetch=2, timeout=IDLE)
        began = time.monotonic()
        assert next(consumer) is None  # not redis.TimeoutError
        assert time.monotonic() - began < 1.0
    finally:
        broker.close()


def test_a_consumer_wakes_on_sends_after_redis_was_flushed(broker: WakingRedisBroker,
                                                          redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.xadd(broker.wake_key("q"), {"s": ""}, id="99999999999999-0")  # a later clock's
    consumer = broker.consume("q", prefetch=2, timeout=300)
    assert next(consumer) is None  # waited from that position, quietly
    client.flushdb()  # the stream is gone; new sends are numbered from now
    consumer.timeout = IDLE
    taker = Taker(consumer)
    wait_until(lambda: _blocked_on_xread(redis_url), 5, "the consumer to wait")
    broker.enqueue(_message(n=6))
    assert taker.result().args == (6,)


def test_a_full_consumer_with_nothing_acknowledged_still_returns_at_its_timeout(
        broker: WakingRedisBroker) -> None:
    """So that Dramatiq's consumer thread can see that it should stop."""
    broker.enqueue(_message(n=1))
    consumer = broker.consume("q", prefetch=1, timeout=300)
    next(consumer)
    began = time.monotonic()
    assert next(consumer) is None
    assert 0.25 <= time.monotonic() - began < PROMPT


def test_an_idle_consumer_waits_in_one_read_for_its_timeout(redis_url: str) -> None:
    """Blocked in Redis for the timeout, not looking again every millisecond (with
    redis-py's default socket timeout of 5 s, which caps a blocking read)."""
    broker = WakingRedisBroker(url=redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        consumer = broker.consume("q", prefetch=2, timeout=1500)
        assert next(consumer) is None  # reads where the stream is, fetches, waits
        before = client.info("commandstats").get("cmdstat_xread", {}).get("calls", 0)
        began = time.monotonic()
        assert next(consumer) is None
        waited = time.monotonic() - began
        after = client.info("commandstats").get("cmdstat_xread", {}).get("calls", 0)
        assert waited >= 1.2 and 1 <= after - before <= 3
    finally:
        broker.close()


def test_a_client_without_a_socket_timeout_waits_the_whole_timeout(redis_url: str) -> None:
    broker = WakingRedisBroker(client=redis.Redis.from_url(redis_url, socket_timeout=None))
    try:
        consumer = broker.consume("q", prefetch=2, timeout=400)
        began = time.monotonic()
        assert next(consumer) is None
        assert 0.35 <= time.monotonic() - began < PROMPT
    finally:
        broker.close()

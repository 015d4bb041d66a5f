"""flowkit's Dramatiq broker: Redis, with idle consumers woken by a send, not by polling.

Dramatiq's Redis consumer, finding its queue empty, sleeps a back-off that grows up to
the worker timeout and looks again. An idle worker then either polls often, costing CPU
in the worker and in Redis, or picks up a lone message late. Here each send also adds an
entry to a one-entry stream per queue, and a consumer that found its queue empty blocks
on that stream (``XREAD BLOCK``) from the last entry it saw. It wakes as soon as a
message is sent, and a send that lands between its empty fetch and its wait is seen all
the same, because the wait starts from the position read before the fetch.

A consumer whose prefetch is full does not look at Redis at all: it waits until one of
its messages is acknowledged. Messages that come back to a queue without a send (a dead
worker's, requeued by Dramatiq's maintenance) are found when the wait times out, after
the worker timeout (Dramatiq's default, 1 s), as before.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

# Entries of a wake stream carry nothing: that one was added is all a consumer reads.
_ENTRY: dict[Any, Any] = {b"s": b""}
_START = b"0-0"


class WakingRedisBroker(RedisBroker):
    """A ``RedisBroker`` whose consumers are woken by sends (see the module docstring).

    Messages, queues and keys are Dramatiq's own; workers on a plain ``RedisBroker``
    consume the same queues, polling as they always do.
    """

    _block_cap: int | None = None

    @property
    def consumer_class(self) -> type[_WakingConsumer]:
        return _WakingConsumer

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        sent = super().enqueue(message, delay=delay)
        self.wake(sent.queue_name)
        return sent

    def wake_key(self, queue_name: str) -> str:
        return f"{self.namespace}:{queue_name}.wake"

    def wake(self, queue_name: str) -> None:
        """Wake the consumers of ``queue_name`` that wait for a send."""
        self.client.xadd(self.wake_key(queue_name), _ENTRY, maxlen=1, approximate=False)

    def last_send(self, queue_name: str) -> bytes:
        """The position of the latest send to ``queue_name``, to wait from."""
        latest: Any = self.client.xrevrange(self.wake_key(queue_name), count=1)
        return bytes(latest[0][0]) if latest else _START

    def _longest_block(self) -> int:
        """Milliseconds a blocking read may take: half the client's socket timeout
        (redis-py's default is 5 s), past which the read would fail."""
        if self._block_cap is None:
            pool = self.client.connection_pool
            connection = pool.get_connection()
            try:
                seconds = connection.socket_timeout
            finally:
                pool.release(connection)
            self._block_cap = int(seconds * 500) if seconds else 2**31
        return self._block_cap

    def wait_for_send(self, queue_name: str, seen: bytes, timeout: int) -> bytes:
        """Block until something is sent to ``queue_name`` after position ``seen``, or
        for ``timeout`` milliseconds; the position to wait from next time."""
        block = max(min(timeout, self._longest_block()), 1)
        reply: Any = self.client.xread({self.wake_key(queue_name): seen}, block=block)
        if not reply:
            return seen
        _key, entries = reply[0]
        return bytes(entries[-1][0])


class _WakingConsumer(_RedisConsumer):
    broker: WakingRedisBroker

    def __init__(self, broker: WakingRedisBroker, queue_name: str, prefetch: int,
                 timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self._room = threading.Event()
        # Read lazily, under __next__'s handling of a lost connection.
        self._seen: bytes | None = None

    def ack(self, message: Any) -> None:
        try:
            super().ack(message)  # type: ignore[no-untyped-call]
        finally:
            self._room.set()

    def nack(self, message: Any) -> None:
        try:
            super().nack(message)  # type: ignore[no-untyped-call]
        finally:
            self._room.set()

    def requeue(self, messages: Any) -> None:
        messages = list(messages)
        super().requeue(messages)  # type: ignore[no-untyped-call]
        if messages:
            self.broker.wake(self.queue_name)

    def __next__(self) -> Any:
        """The next message, or None after waiting (for a send, or for room) up to the
        timeout, so that the consumer thread can see whether it should stop."""
        try:
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is None:  # as Dramatiq's consumer does (its issue #266)
                        continue
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    return MessageProxy(message)
                # Cleared before counting: an acknowledgement after the count sets it.
                self._room.clear()
                room = self.prefetch - self.outstanding_message_count
                if room <= 0:
                    self._room.wait(self.timeout / 1000)
                    return None
                if self._seen is None:
                    self._seen = self.broker.last_send(self.queue_name)
                seen = self._seen
                self.message_cache = self.broker.do_fetch(self.queue_name, room)
                if not self.message_cache:
                    woke = self.broker.wait_for_send(self.queue_name, seen, self.timeout)
                    # After a quiet wait the position is read again: a flushed or
                    # restarted Redis numbers its sends from its own clock anew.
                    self._seen = None if woke == seen else woke
                    return None
        except redis.ConnectionError as error:
            raise ConnectionClosed(error) from None  # type: ignore[no-untyped-call]


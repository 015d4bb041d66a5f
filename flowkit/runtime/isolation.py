"""One bad event or run fails alone: how a failed batch is taken apart.

The normal path is untouched: a batch of events or timers runs in one transaction, and
only when it fails is it split in halves, each retried in its own transaction, until
the culprit stands alone. Alone, it runs *carefully*: each run it touches advances
inside a savepoint and is written at once, so a run that fails is parked with the real
error and where it happened, and the rest of the event's work commits. An event that
fails on its own (the platform's bookkeeping of it, say) is rejected with its reason.
Errors of the connection (the database or Redis going away, a deadlock) are not split:
they end the batch as before, and it is tried again later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import attrs
import sqlalchemy as sa

from flowkit.machine import HistoryEntry
from flowkit.runtime import history
from flowkit.runtime.batch import Batch
from flowkit.store import Changes, RunRow

T = TypeVar("T")
log = logging.getLogger("flowkit")
_TRANSIENT_MODULES = ("redis", "dramatiq")


class ShardBusy(Exception):
    """Another router took the shard between two parts of a split batch."""


def isolatable(error: BaseException) -> bool:
    """Whether ``error`` may be caused by the batch's data (split it), rather than by the
    connection or the servers (leave the batch for a later try)."""
    if isinstance(error, ShardBusy | OSError | sa.exc.DisconnectionError
                  | sa.exc.InterfaceError | sa.exc.OperationalError | sa.exc.TimeoutError):
        return False
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return False
    if type(error).__module__.split(".")[0] in _TRANSIENT_MODULES:
        return False
    return isinstance(error, Exception)


def describe(error: BaseException) -> str:
    """The error in one line: for a database error, the driver's own message (the real
    cause, without the statement or its parameters)."""
    if isinstance(error, sa.exc.StatementError) and error.orig is not None:
        error = error.orig
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def split(items: Sequence[T], error: Exception, attempt: Callable[[Sequence[T]], int],
          alone: Callable[[T, Exception], int]) -> int:
    """Retry ``items`` (whose batch failed with ``error``) in halves, in order, each with
    ``attempt`` in its own transaction; a failing half is split again, and an item that
    fails alone goes to ``alone``. Returns what ``attempt`` and ``alone`` counted."""
    if len(items) == 1:
        return alone(items[0], error)
    half = len(items) // 2
    done = 0
    for part in (items[:half], items[half:]):
        try:
            done += attempt(part)
        except Exception as failed:
            if not isolatable(failed):
                raise
            done += split(part, failed, attempt, alone)
    return done


def batch_failed(what: str, size: int, error: Exception) -> None:
    log.warning("a batch of %d %s failed with %s; retrying it in parts to find the cause",
                size, what, describe(error))


@contextmanager
def guarded(batch: Batch, row: RunRow, doing: str, *, new: bool = False) -> Iterator[None]:
    """Run a step of ``row``; in a careful batch, inside a savepoint, writing its changes
    at once, and parking the run if it fails. A normal batch runs it as it is."""
    if not batch.careful:
        yield
        return
    saved = attrs.evolve(row)
    emitted = len(batch.events)
    savepoint = batch.conn.begin_nested()
    try:
        yield
        batch.rt.store.write(batch.conn, batch.changes)
        savepoint.commit()
    except Exception as error:
        savepoint.rollback()
        if not isolatable(error):
            raise
        del batch.events[emitted:]
        for field in attrs.fields(RunRow):
            setattr(row, field.name, getattr(saved, field.name))
        batch.changes = Changes()
        park(batch, row, f"{doing} (run {row.id} of {row.flow!r} at step {row.step!r})",
             error, new=new)
        batch.rt.store.write(batch.conn, batch.changes)
    finally:
        batch.changes = Changes()


def park(batch: Batch, row: RunRow, where: str, error: Exception, *, new: bool = False
         ) -> None:
    """Park ``row`` because ``where`` failed with ``error``; written with the batch."""
    cause = describe(error)
    row.status, row.updated_at = "parked", batch.now
    row.reason = (f"{where} failed with {cause}; fix the cause, then "
                  f"`flowkit runs retry {row.id}`")
    batch.changes.put(row, new=new)
    batch.changes.rest(row.id, None, None)
    batch.waits.pop(row.id, None)
    history.add(batch, row.id, HistoryEntry(batch.now, "parked", row.step,
                                            {"reason": row.reason, "error": cause,
                                             "where": where}))
    log.error("parked run %s: %s failed with %s", row.id, where, cause)

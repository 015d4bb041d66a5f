"""Lanes: which batch works on which events and timers, on a SQLite file.

On SQLite a batch reads and computes outside the database's write lock and takes it
only to write (``flowkit.runtime.batch``), so two batches could read the same events or
the same due timers and compute the same work, one of them in vain. A lane is a file
lock (``flock``) in a folder beside the database, ``<database>-lanes``: each routing
shard is a lane, and the timers are one. A batch takes its lane without waiting; one
that finds it taken leaves the work to the holder, as a router on PostgreSQL leaves a
shard whose advisory lock another holds. The kernel lets go of a killed process's
locks, so a lane never outlives its holder.

Lanes only save work. What keeps a batch right is its check before writing: the runs
it read are still at the revisions it read, its events still unrouted, its timers
still there.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import sqlalchemy as sa

from flowkit.store.database import in_memory

# The lanes this process holds. A child forked meanwhile (``multiprocessing``, an
# action's ``os.fork``) shares their open files, and with them the locks, which would
# then outlive this process's release; the child closes its copies at once.
_held: set[int] = set()


def _forget_in_child() -> None:
    for fd in list(_held):
        os.close(fd)  # the child's copy only: the lock stays the parent's
    _held.clear()


os.register_at_fork(after_in_child=_forget_in_child)


class Lane:
    """A lane held by this batch; ``release`` it when the batch is done."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd
        _held.add(fd)

    def release(self) -> None:
        if self._fd is not None:
            _held.discard(self._fd)
            os.close(self._fd)  # closing the file lets go of its lock
            self._fd = None


class Lanes:
    """The lanes of one SQLite file."""

    def __init__(self, database: Path) -> None:
        self.folder = Path(f"{database}-lanes")

    @classmethod
    def of(cls, engine: sa.Engine) -> Lanes | None:
        """The lanes of ``engine``'s SQLite file; None on PostgreSQL or in memory,
        where batches write as they read."""
        if engine.dialect.name != "sqlite" or in_memory(engine.url):
            return None
        return cls(Path(str(engine.url.database)).resolve())

    def take(self, name: str) -> Lane | None:
        """Hold the lane ``name`` (say ``shard-3``, ``timers``), or None if another
        batch holds it."""
        self.folder.mkdir(exist_ok=True)
        fd = os.open(self.folder / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return Lane(fd)

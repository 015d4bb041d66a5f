"""Counting messages against frequency caps, race-free across worker processes.

On PostgreSQL a batch counts in memory under a lock: at its first capped message it
takes a transaction-level advisory lock per user of the batch (in key order, so two
batches never deadlock on them), then reads those users' counts, and just before it
commits writes what it added in one upsert. Every batch that counts a user's messages
holds that user's lock until it commits, so none can read a count another is about to
raise: two round trips a batch, not one a message. On SQLite, where the database has one
writer at a time, each message is counted by one conditional upsert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from flowkit.store import schema as t
from flowkit.store.bulk import insert_rows

CountKey = tuple[str, str, str]  # user, channel, period
# The users to lock with the first one, and the periods to read their counts for.
Scope = Callable[[], tuple[Iterable[str], Iterable[str]]]
_TABLE = t.message_counts


class UpsertCounter:
    """One conditional upsert per message (SQLite)."""

    def __init__(self, conn: sa.Connection, scope: Scope) -> None:
        self.conn = conn

    def take(self, key: CountKey, limit: int | None) -> bool:
        """Count one message against ``key`` unless it already holds ``limit``; whether
        it was counted."""
        insert = sqlite.insert(_TABLE).values(user_id=key[0], channel=key[1],
                                              period=key[2], count=1)
        upsert = insert.on_conflict_do_update(
            index_elements=["user_id", "channel", "period"],
            set_={"count": _TABLE.c.count + 1},
            where=None if limit is None else _TABLE.c.count < limit,
        ).returning(_TABLE.c.count)
        return self.conn.execute(upsert).first() is not None

    def release(self, keys: Iterable[CountKey]) -> None:
        """Give back the counts of a message that was not sent after all."""
        for user_id, channel, period in keys:
            self.conn.execute(_TABLE.update().where(
                _TABLE.c.user_id == user_id, _TABLE.c.channel == channel,
                _TABLE.c.period == period).values(count=_TABLE.c.count - 1))

    def flush(self) -> None:
        """Nothing is held back."""


class LockedCounter:
    """Counts in memory under per-user advisory locks, written before commit
    (PostgreSQL; see the module)."""

    def __init__(self, conn: sa.Connection, scope: Scope) -> None:
        self.conn = conn
        self.scope = scope
        self.locked: set[str] = set()
        self.counts: dict[CountKey, int] = {}
        self.read: set[tuple[str, str]] = set()  # (user, period) whose counts were read
        self.changed: set[CountKey] = set()

    def take(self, key: CountKey, limit: int | None) -> bool:
        user, _, period = key
        if user not in self.locked:
            users, periods = self.scope() if not self.locked else ((), ())
            self._lock({user, *users}, {period, *periods})
        elif (user, period) not in self.read:
            self._read([user], [period])
        count = self.counts.get(key, 0)
        if limit is not None and count >= limit:
            return False
        self.counts[key] = count + 1
        self.changed.add(key)
        return True

    def release(self, keys: Iterable[CountKey]) -> None:
        for key in keys:
            self.counts[key] -= 1

    def _lock(self, users: set[str], periods: set[str]) -> None:
        new = sorted(users - self.locked)
        self.conn.execute(sa.text(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtext(u) AS k "
            "FROM unnest(CAST(:users AS text[])) AS u ORDER BY k) AS keys"), {"users": new})
        self.locked.update(new)
        # A new statement, so a new snapshot: it sees what the lock's last holder wrote.
        self._read(new, sorted(periods))

    def _read(self, users: list[str], periods: list[str]) -> None:
        rows = self.conn.execute(sa.text(
            f"SELECT user_id, channel, period, count FROM {_TABLE.name} "
            "WHERE user_id = ANY(CAST(:users AS text[])) "
            "AND period = ANY(CAST(:periods AS text[]))"), {"users": users, "periods": periods})
        for user_id, channel, period, count in rows:
            self.counts.setdefault((user_id, channel, period), int(count))
        self.read.update((u, p) for u in users for p in periods)

    def flush(self) -> None:
        """Write the counts this batch changed, in one statement (still under the locks,
        so the counts read and raised here are the latest)."""
        rows = [{"user_id": u, "channel": c, "period": p, "count": self.counts[(u, c, p)]}
                for u, c, p in sorted(self.changed)]
        insert_rows(self.conn, _TABLE, rows, conflict="update")
        self.changed.clear()


Counter = UpsertCounter | LockedCounter


def counter_for(conn: sa.Connection, scope: Scope) -> Counter:
    """The counter for a transaction on ``conn``: locked on PostgreSQL, else upserts."""
    kind = LockedCounter if conn.dialect.name == "postgresql" else UpsertCounter
    return kind(conn, scope)

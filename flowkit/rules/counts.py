"""Counting messages against frequency caps, race-free across worker processes.

On PostgreSQL a batch counts in memory under row locks: at its first capped message it
locks and reads the count rows of every user of the batch for the current periods (one
upsert that makes missing rows at 0, in key order so that two batches do not deadlock
on them), and just before it commits writes the counts it raised in one statement.
Every batch that counts a user's messages holds the rows until it commits, so none can
read a count another is about to raise: two round trips a batch, not one a message, and
row locks take no room in PostgreSQL's shared lock table (advisory locks for 500 users
a batch would). On SQLite, where the database has one
writer at a time, and in a batch that runs each run in a savepoint, each message is
counted by one conditional upsert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from flowkit.store import schema as t
from flowkit.store.bulk import insert_rows

CountKey = tuple[str, str, str]  # user, channel, period
# The counts to lock and read with the first one: the batch's users' for now.
Scope = Callable[[], Iterable[CountKey]]
_TABLE = t.message_counts


class UpsertCounter:
    """One conditional upsert per message (SQLite, and a careful batch's savepoints)."""

    def __init__(self, conn: sa.Connection, scope: Scope) -> None:
        self.conn = conn

    def take(self, key: CountKey, limit: int | None) -> bool:
        """Count one message against ``key`` unless it already holds ``limit``; whether
        it was counted."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(_TABLE).values(user_id=key[0], channel=key[1],
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
    """Counts in memory under row locks on the count rows, written before commit
    (PostgreSQL; see the module)."""

    def __init__(self, conn: sa.Connection, scope: Scope) -> None:
        self.conn = conn
        self.scope = scope
        self.counts: dict[CountKey, int] = {}
        self.changed: set[CountKey] = set()

    def take(self, key: CountKey, limit: int | None) -> bool:
        if key not in self.counts:
            self._lock({key, *(self.scope() if not self.counts else ())})
        count = self.counts[key]
        if limit is not None and count >= limit:
            return False
        self.counts[key] = count + 1
        self.changed.add(key)
        return True

    def release(self, keys: Iterable[CountKey]) -> None:
        for key in keys:
            self.counts[key] -= 1

    def _lock(self, keys: set[CountKey]) -> None:
        """Lock the count rows of ``keys`` (making those not there yet, at 0), in key
        order, and read them: one statement. A row another batch holds is waited for,
        and read as that batch left it."""
        ordered = sorted(keys)
        rows = self.conn.execute(sa.text(
            f"INSERT INTO {_TABLE.name} (user_id, channel, period, count) "
            "SELECT u, c, p, 0 FROM unnest(CAST(:users AS text[]), CAST(:channels AS "
            "text[]), CAST(:periods AS text[])) AS x(u, c, p) ORDER BY u, c, p "
            "ON CONFLICT (user_id, channel, period) DO UPDATE "
            f"SET count = {_TABLE.name}.count RETURNING user_id, channel, period, count"),
            {"users": [k[0] for k in ordered], "channels": [k[1] for k in ordered],
             "periods": [k[2] for k in ordered]})
        for user_id, channel, period, count in rows:
            self.counts[(user_id, channel, period)] = int(count)

    def flush(self) -> None:
        """Write the counts this batch changed, in one statement (still under the locks,
        so the counts read and raised here are the latest)."""
        rows = [{"user_id": u, "channel": c, "period": p, "count": self.counts[(u, c, p)]}
                for u, c, p in sorted(self.changed)]
        insert_rows(self.conn, _TABLE, rows, conflict="update")
        self.changed.clear()


Counter = UpsertCounter | LockedCounter


def counter_for(conn: sa.Connection, scope: Scope, careful: bool = False) -> Counter:
    """The counter for a transaction on ``conn``: locked on PostgreSQL, else upserts.
    A careful batch (each run in a savepoint, see ``flowkit.runtime.isolation``) counts
    with upserts too: a savepoint rolled back takes its row locks and its count with it,
    which memory would not know."""
    locked = conn.dialect.name == "postgresql" and not careful
    return (LockedCounter if locked else UpsertCounter)(conn, scope)

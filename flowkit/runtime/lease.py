"""One ``flowkit run`` with its own Redis per database: a lock held in the database.

Two ``flowkit run`` that each start an embedded Redis and share one database would be
two systems fighting over the same runs, each sending nudges no other worker sees. The
first one holds this lock; the second refuses to start. Runs that share one
``REDIS_URL`` (the production layout, several machines) take no lock.

On PostgreSQL the lock is a session advisory lock: it goes when the holder's connection
does, so a ``flowkit run`` killed with -9 frees it at once. On SQLite it is a row in
``flowkit_leases`` (made here on first use, outside the migrated schema since only the
supervisor reads it) that the holder renews every few seconds; a lease not renewed for
``LEASE_SECONDS``, or held by a dead process on this machine, is taken over.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid

import sqlalchemy as sa

from flowkit.errors import AlreadyRunningError
from flowkit.runtime.services import redact_url

LEASE_SECONDS = 15.0
_ADVISORY_KEY = 0x666C6F776B6974  # "flowkit"
_leases = sa.Table(
    "flowkit_leases", sa.MetaData(),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)


class DatabaseLock:
    """The embedded system's claim on a database: ``acquire``, ``renew`` every few
    seconds, ``release``."""

    name = "flowkit run"

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.holder = uuid.uuid4().hex
        self.host = socket.gethostname()
        self._conn: sa.Connection | None = None

    def _refuse(self, who: str) -> AlreadyRunningError:
        return AlreadyRunningError(
            f"another `flowkit run` ({who}) with its own Redis already uses the database "
            f"{redact_url(self.engine.url)}: stop it first, or run both on one shared "
            "Redis (set REDIS_URL)")

    def acquire(self) -> None:
        """Take the lock, or raise ``AlreadyRunningError`` saying who holds it."""
        if self.engine.dialect.name == "postgresql":
            self._advisory()
        else:
            self._lease(take=True)

    def renew(self) -> None:
        """Keep the lock (SQLite: push the lease's expiry on; PostgreSQL: take it again if
        an outage closed its connection). Raises ``AlreadyRunningError`` if another run
        took it meanwhile."""
        if self.engine.dialect.name != "postgresql":
            self._lease(take=False)
            return
        try:
            if self._conn is not None:
                self._conn.exec_driver_sql("SELECT 1")
                return
        except sa.exc.DBAPIError:
            self._drop()
        self._advisory()

    def release(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self._drop()
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(_leases.delete().where(_leases.c.name == self.name,
                                                    _leases.c.holder == self.holder))
        except sa.exc.DBAPIError:
            pass  # it expires on its own

    def _advisory(self) -> None:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({_ADVISORY_KEY})"
                                       ).scalar()
            holder = None if got else conn.exec_driver_sql(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                f"AND objid = {_ADVISORY_KEY & 0xFFFFFFFF} LIMIT 1").scalar()
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            raise self._refuse(f"its database session's pid {holder}")
        self._conn = conn

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self._conn.close()
            self._conn = None

    def _lease(self, *, take: bool) -> None:
        now = time.time()
        _leases.create(self.engine, checkfirst=True)
        with self.engine.begin() as conn:
            row = conn.execute(_leases.select().where(_leases.c.name == self.name)).first()
            if row is not None and row.holder != self.holder and row.expires_at > now and \
                    not (row.host == self.host and not _alive(row.pid)):
                raise self._refuse(f"pid {row.pid} on {row.host}")
            if row is not None and row.holder != self.holder and not take:
                raise self._refuse(f"pid {row.pid} on {row.host}, after this one's lease "
                                   "lapsed")
            values = {"holder": self.holder, "host": self.host, "pid": os.getpid(),
                      "expires_at": now + LEASE_SECONDS}
            if row is None:
                conn.execute(_leases.insert().values(name=self.name, **values))
            else:
                conn.execute(_leases.update().where(_leases.c.name == self.name)
                             .values(**values))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

"""Faults outside flowkit's own code: which they are, in one line, and whether waiting
fixes them.

``diagnose`` turns what SQLAlchemy, psycopg, redis-py or Dramatiq raise about the
database or Redis into a ``ServiceError`` that says what is wrong and what to do, and
whether it is transient (a server down or restarting: wait and retry) or needs a person
(an unknown database, a missing driver, an unmigrated schema). The command line prints
it as its one line; long-running processes wait out the transient ones (``Backoff``).
"""

from __future__ import annotations

import re
import threading
import time

import sqlalchemy as sa

from flowkit.errors import ConfigurationError, SchemaOutdatedError, ServiceError

# Fragments of driver messages that mean "the server is not there right now".
_UNREACHABLE = re.compile(
    r"connection refused|could not connect|connection to server|server closed the "
    r"connection|terminating connection|connection is closed|connection already closed|"
    r"consuming input failed|ssl syscall|the database system is|timeout|timed out|"
    r"no route to host|connection reset|broken pipe|database is locked|lost synchron|"
    r"unexpected eof|server conn|network is unreachable|connection not open|"
    r"cannot connect|admin shutdown", re.IGNORECASE)
_NO_DATABASE = re.compile(r'database "[^"]*" does not exist|unable to open database file',
                          re.IGNORECASE)
_NO_LOGIN = re.compile(r"password authentication failed|role \"[^\"]*\" does not exist|"
                       r"no password supplied|authentication failed", re.IGNORECASE)
_NO_TABLE = re.compile(r"no such table|no such column|relation \"[^\"]*\" does not exist|"
                       r"column \"?[^\"]*\"? (of relation \"[^\"]*\" )?does not exist|"
                       r"undefinedtable|undefinedcolumn", re.IGNORECASE)
_DRIVERS = {"psycopg": "postgres", "psycopg_binary": "postgres", "psycopg2": "postgres"}


def diagnose(error: BaseException) -> ServiceError | None:
    """The database or Redis problem behind ``error``, or None if it is not one."""
    if isinstance(error, ServiceError):
        return error
    if isinstance(error, SchemaOutdatedError):
        return ServiceError(str(error), service="database", kind="schema", transient=False)
    if isinstance(error, ModuleNotFoundError) and error.name in _DRIVERS:
        return ServiceError(
            f"the PostgreSQL driver ({error.name}) is not installed: "
            f"pip install 'flowkit[{_DRIVERS[error.name]}]'",
            service="database", kind="driver", transient=False)
    if isinstance(error, sa.exc.DBAPIError | sa.exc.InterfaceError):
        return _database(error)
    if isinstance(error, sa.exc.TimeoutError):  # every pooled connection busy or hung
        return ServiceError(f"no database connection came free ({_first_line(error)}): "
                            "is the database slow or unreachable?", service="database",
                            kind="unreachable", transient=True)
    return _redis(error)


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return (text.splitlines() or [type(error).__name__])[0].strip()


def _database(error: sa.exc.StatementError) -> ServiceError | None:
    text = _first_line(error)
    if _NO_DATABASE.search(text):
        return ServiceError(f"the database does not exist ({text}): create it, or point "
                            "DATABASE_URL at one that does", service="database",
                            kind="no-database", transient=False)
    if _NO_LOGIN.search(text):
        return ServiceError(f"the database refused the login ({text}): fix the user or "
                            "password in DATABASE_URL", service="database", kind="login",
                            transient=False)
    if _NO_TABLE.search(text) or _NO_TABLE.search(type(getattr(error, "orig", error)).__name__):
        return ServiceError(f"the database has no flowkit tables, or old ones ({text}): "
                            "run `flowkit db upgrade`", service="database", kind="schema",
                            transient=False)
    invalidated = isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated
    if invalidated or _UNREACHABLE.search(text):
        return ServiceError(f"cannot reach the database ({text}): start it, or point "
                            "DATABASE_URL at it", service="database", kind="unreachable",
                            transient=True)
    return None


def _redis(error: BaseException) -> ServiceError | None:
    import dramatiq.errors
    import redis.exceptions as r

    if isinstance(error, r.AuthenticationError | r.AuthorizationError):
        return ServiceError(f"Redis refused the login ({error}): fix REDIS_URL",
                            service="redis", kind="login", transient=False)
    transient = (r.ConnectionError, r.TimeoutError, r.BusyLoadingError,
                 dramatiq.errors.BrokerConnectionError)
    if isinstance(error, transient) or (
            isinstance(error, r.ResponseError) and "LOADING" in str(error)):
        return ServiceError(f"cannot reach Redis ({_first_line(error)}): start it, or "
                            "point REDIS_URL at it", service="redis", kind="unreachable",
                            transient=True)
    if isinstance(error, ConfigurationError):
        return ServiceError(str(error), service="redis", kind="config", transient=False)
    return None


def transient(error: BaseException) -> ServiceError | None:
    """The problem behind ``error`` if waiting may fix it, else None."""
    problem = diagnose(error)
    return problem if problem is not None and problem.transient else None


class Backoff:
    """Waits that grow after each failure (``first``, doubling, up to ``most`` seconds)
    and start again from ``first`` after a success. Thread-safe; one per process is
    enough, since an outage hits every thread alike."""

    def __init__(self, first: float = 0.1, most: float = 5.0) -> None:
        self.first = first
        self.most = most
        self.failures = 0
        self._lock = threading.Lock()

    def next_delay(self) -> float:
        with self._lock:
            self.failures += 1
            return float(min(self.most, self.first * 2 ** (self.failures - 1)))

    def succeeded(self) -> None:
        self.failures = 0

    def wait(self, stop: threading.Event | None = None) -> None:
        """Sleep the next delay (or until ``stop`` is set)."""
        delay = self.next_delay()
        if stop is None:
            time.sleep(delay)
        else:
            stop.wait(delay)

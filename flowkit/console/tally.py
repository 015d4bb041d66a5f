"""Runs by flow and status, and starts per day, counted once and then kept up to date.

Counting a million runs takes PostgreSQL a few hundred milliseconds, too slow for every
view of the flows page. Most runs, though, are settled: a completed or exited run never
changes again, and a day's starts never change once the day is over. So the tally
counts what is settled once (in a background thread when the console starts, and again
every ``RECOUNT``), adds only what settled since on each request, and counts live what
can still change: the runs that rest somewhere (waiting, running, parked, failed, a
small partial index), the runs that ended in the last ``MARGIN``, today's starts. The
live part still reads every resting run (a fifth of a million in the benchmark, some
100 ms), so a count is reused for ``live_seconds`` (5) and, up to a minute, served
while a fresh one is counted in the background: the page says as of when.

"Settled" is read from ``updated_at``/``created_at`` against the console's clock less
``MARGIN``: a worker whose clock runs more than ``MARGIN`` behind the console's could
write a row the increments miss until the next recount. Runs are never deleted.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import attrs
import pendulum
import sqlalchemy as sa

from flowkit.clock import Clock
from flowkit.console.queries import RESTING
from flowkit.store import database
from flowkit.store import schema as t

ENDED = ("completed", "exited")
MARGIN = pendulum.duration(minutes=10)
RECOUNT = pendulum.duration(hours=1)
STALE_SECONDS = 60.0
DAYS = 30
log = logging.getLogger("flowkit.console")

Counts = dict[str, dict[str, int]]  # flow -> status -> runs


def _add(into: Counts, rows: Iterable[Any]) -> None:
    for flow, status, count in rows:
        into.setdefault(flow, {})
        into[flow][status] = into[flow].get(status, 0) + int(count)


@attrs.define
class _Settled:
    """What no longer changes, up to ``mark``: ended runs, and starts per past day."""

    mark: pendulum.DateTime
    ended: Counts
    days: dict[dt.date, dict[str, int]]  # day -> flow -> starts
    counted_at: pendulum.DateTime


def _day_of(conn: sa.Connection, column: sa.ColumnElement[dt.datetime]
            ) -> sa.ColumnElement[object]:
    if conn.dialect.name == "postgresql":
        return sa.cast(column, sa.Date)
    return sa.func.date(column)


def _as_date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _midnight(day: dt.date) -> pendulum.DateTime:
    return pendulum.datetime(day.year, day.month, day.day, tz="UTC")


class Tally:
    """Counts for the flows page, cheap after the first (``status_counts``,
    ``starts_per_day``)."""

    def __init__(self, db: sa.Engine, clock: Clock, live_seconds: float = 5.0) -> None:
        self.db = db
        self.clock = clock
        self.live_seconds = live_seconds
        self._lock = threading.Lock()
        self._settled: _Settled | None = None
        self._recounting = False
        self._counted = threading.Event()  # the first count of the settled runs is done
        self._live: tuple[float, pendulum.DateTime, Counts] | None = None
        self._refreshing = False

    # -- settled part ---------------------------------------------------------------

    def warm(self) -> None:
        """Count what is settled, in a background thread."""
        self._recounting = True
        threading.Thread(target=self._recount, name="flowkit-console-tally",
                         daemon=True).start()

    def _count_settled(self, conn: sa.Connection, mark: pendulum.DateTime) -> _Settled:
        runs = t.runs
        ended: Counts = {}
        _add(ended, conn.execute(
            sa.select(runs.c.flow, runs.c.status, sa.func.count())
            .where(runs.c.status.in_(ENDED), runs.c.updated_at <= mark)
            .group_by(runs.c.flow, runs.c.status)))
        return _Settled(mark, ended, self._count_days(conn, mark), self.clock.now())

    def _count_days(self, conn: sa.Connection, mark: pendulum.DateTime
                    ) -> dict[dt.date, dict[str, int]]:
        last = mark.date()  # days before this one are over
        first = last - dt.timedelta(days=DAYS)
        runs = t.runs
        day = _day_of(conn, runs.c.created_at).label("day")
        rows = conn.execute(
            sa.select(runs.c.flow, day, sa.func.count())
            .where(runs.c.created_at >= _midnight(first), runs.c.created_at < _midnight(last))
            .group_by(runs.c.flow, day))
        days: dict[dt.date, dict[str, int]] = {
            first + dt.timedelta(days=i): {} for i in range(DAYS)}
        for flow, when, count in rows:
            days.setdefault(_as_date(when), {})[flow] = int(count)
        return days

    def _recount(self) -> None:
        try:
            mark = self.clock.now() - MARGIN
            with database.reading(self.db) as conn:
                settled = self._count_settled(conn, mark)
            with self._lock:
                self._settled = settled
        except Exception:  # the next request counts synchronously, and says why if not
            log.exception("the console could not count the runs")
        finally:
            self._recounting = False
            self._counted.set()

    def _advance(self, conn: sa.Connection) -> _Settled:
        """The settled counts, moved up to now less ``MARGIN``."""
        if self._settled is None and self._recounting:
            self._counted.wait(timeout=60)  # rather than count it all twice at once
        with self._lock:
            mark = self.clock.now() - MARGIN
            settled = self._settled
            if settled is None:
                settled = self._settled = self._count_settled(conn, mark)
            elif mark > settled.mark:
                runs = t.runs
                _add(settled.ended, conn.execute(
                    sa.select(runs.c.flow, runs.c.status, sa.func.count())
                    .where(runs.c.status.in_(ENDED), runs.c.updated_at > settled.mark,
                           runs.c.updated_at <= mark)
                    .group_by(runs.c.flow, runs.c.status)))
                if mark.date() != settled.mark.date():
                    settled.days = self._count_days(conn, mark)
                settled.mark = mark
            if self.clock.now() - settled.counted_at > RECOUNT and not self._recounting:
                self.warm()
            return _Settled(settled.mark, {f: dict(c) for f, c in settled.ended.items()},
                            dict(settled.days), settled.counted_at)

    # -- what the pages ask -------------------------------------------------------------

    def _count_live(self, conn: sa.Connection) -> Counts:
        settled = self._advance(conn)
        runs = t.runs
        counts = settled.ended
        _add(counts, conn.execute(
            sa.select(runs.c.flow, runs.c.status, sa.func.count())
            .where(runs.c.status.in_(ENDED), runs.c.updated_at > settled.mark)
            .group_by(runs.c.flow, runs.c.status)))
        _add(counts, conn.execute(
            sa.select(runs.c.flow, runs.c.status, sa.func.count())
            .where(runs.c.status.in_(RESTING)).group_by(runs.c.flow, runs.c.status)))
        return counts

    def _refresh(self) -> None:
        try:
            with database.reading(self.db) as conn:
                self._live = (time.monotonic(), self.clock.now(), self._count_live(conn))
        except Exception:
            log.exception("the console could not count the runs")
        finally:
            self._refreshing = False

    def status_counts(self, conn: sa.Connection) -> tuple[Counts, pendulum.DateTime]:
        """flow -> status -> how many runs, and as of when.

        Exact when counted; a count up to ``live_seconds`` old is served as it is, and
        one up to a minute old too while a fresh one is counted in the background (the
        runs resting somewhere, counted live, are most of a count's cost)."""
        live = self._live
        age = time.monotonic() - live[0] if live else STALE_SECONDS + 1
        if live is not None and self.live_seconds > 0 and age <= STALE_SECONDS:
            if age > self.live_seconds and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="flowkit-console-counts",
                                 daemon=True).start()
            return {f: dict(c) for f, c in live[2].items()}, live[1]
        at = self.clock.now()
        counts = self._count_live(conn)
        self._live = (time.monotonic(), at, counts)
        return {f: dict(c) for f, c in counts.items()}, at

    def starts_per_day(self, conn: sa.Connection, today: dt.date) -> dict[str, list[int]]:
        """flow -> runs started on each of the last 30 days (UTC) up to ``today``."""
        settled = self._advance(conn)
        first = today - dt.timedelta(days=DAYS - 1)
        days = dict(settled.days)
        runs = t.runs
        day = _day_of(conn, runs.c.created_at).label("day")
        since = _midnight(settled.mark.date())
        recent: dict[dt.date, dict[str, int]] = defaultdict(dict)
        for flow, when, count in conn.execute(
                sa.select(runs.c.flow, day, sa.func.count())
                .where(runs.c.created_at >= since).group_by(runs.c.flow, day)):
            recent[_as_date(when)][flow] = int(count)
        days.update(recent)
        out: dict[str, list[int]] = defaultdict(lambda: [0] * DAYS)
        for when, flows in days.items():
            index = (when - first).days
            if 0 <= index < DAYS:
                for flow, count in flows.items():
                    out[flow][index] += count
        return dict(out)

"""The platform: what built-in actions change and what branch questions ask.

``Platform`` is the protocol an adapter implements (docs/lms/adapters.md shows one for
a school's HTTP API). ``SqlPlatform`` is the built-in one: tables in flowkit's own
database (``flowkit.lms.tables``), fed by the events flowkit routes, and written in the
same transaction as the step whose action changes them.

The engine binds a platform to each batch: ``platform.bind(conn, now)`` gives the
object actions and questions use for that transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Protocol

import pendulum
import sqlalchemy as sa

from flowkit.addresses import optional_email
from flowkit.lms import events
from flowkit.lms import tables as t
from flowkit.store import database
from flowkit.store.bulk import insert_rows
from flowkit.store.schema import runs, users


class Platform(Protocol):
    """What a bound platform offers for one transaction."""

    # questions (branch conditions, exit predicates)
    def units_completed(self, user: str, course: str) -> int: ...
    def is_enrolled(self, user: str, course: str) -> bool: ...
    def has_tag(self, user: str, tag: str) -> bool: ...
    def last_visit(self, user: str, course: str | None = None) -> pendulum.DateTime | None: ...
    def course_exists(self, course: str) -> bool: ...
    def course_price(self, course: str) -> Decimal | None: ...
    def user_name(self, user: str) -> str | None: ...

    # actions (each idempotent on ``key``)
    def enroll(self, user: str, course: str, *, key: str, payment: Decimal | None,
               invoice: bool) -> bool: ...
    def add_tag(self, user: str, tag: str, *, key: str) -> bool: ...
    def add_to_space(self, user: str, space: str, *, key: str) -> bool: ...
    def send_email(self, user: str, to: str | None, *, template: str, subject: str,
                   body: str, key: str) -> bool: ...
    def notify(self, user: str, text: str, *, key: str) -> bool: ...
    def message(self, user: str, text: str, *, key: str, kind: str = "message",
                track: str | None = None, button: str | None = None) -> bool: ...
    def invite(self, user: str, track: str, *, key: str, message: str, button: str,
               confirmation: str | None, reenroll: bool) -> bool: ...
    def started_track(self, user: str, track: str) -> bool: ...

    # the event feed
    def observe(self, events: Iterable[Mapping[str, Any]]) -> None: ...


class SqlPlatform:
    """The built-in platform: its tables, in flowkit's database."""

    def check_event(self, name: str, payload: Mapping[str, Any]) -> None:
        """Refuse an event of the school's vocabulary that lacks a required field, and
        any event whose ``email`` (or ``*_email``) field is not one valid address."""
        events.check(name, payload)
        for field, value in payload.items():
            if field == "email" or field.endswith("_email"):
                optional_email(value, where=f"event {name!r}, field {field!r}")

    def event_fields(self, name: str) -> Mapping[str, Any]:
        """What the boundary checks of event ``name``'s fields (``runtime.validation``)."""
        return events.fields(name)

    def bind(self, conn: sa.Connection, now: pendulum.DateTime) -> BoundSqlPlatform:
        return BoundSqlPlatform(conn, now)


class BoundSqlPlatform:
    """``SqlPlatform`` within one transaction."""

    def __init__(self, conn: sa.Connection, now: pendulum.DateTime) -> None:
        self.conn = conn
        self.now = now

    # -- questions ------------------------------------------------------------------

    def units_completed(self, user: str, course: str) -> int:
        query = (sa.select(sa.func.count()).select_from(t.units)
                 .where(t.units.c.user_id == user, t.units.c.course == course))
        return int(self.conn.execute(query).scalar_one())

    def is_enrolled(self, user: str, course: str) -> bool:
        query = sa.select(t.enrollments.c.course).where(
            t.enrollments.c.user_id == user, t.enrollments.c.course == course)
        return self.conn.execute(query).first() is not None

    def has_tag(self, user: str, tag: str) -> bool:
        query = sa.select(t.tags.c.tag).where(t.tags.c.user_id == user, t.tags.c.tag == tag)
        return self.conn.execute(query).first() is not None

    def last_visit(self, user: str, course: str | None = None) -> pendulum.DateTime | None:
        """When the user last visited the school (or the course), or signed in."""
        where = [t.visits.c.user_id == user]
        if course is not None:
            where.append(t.visits.c.course == course)
        value = self.conn.execute(sa.select(sa.func.max(t.visits.c.at)).where(*where)).scalar()
        return value

    def course_exists(self, course: str) -> bool:
        known = self.conn.execute(sa.select(sa.func.count()).select_from(t.courses)).scalar()
        if not known:
            return True  # no catalog loaded: every course is accepted
        query = sa.select(t.courses.c.slug).where(t.courses.c.slug == course)
        return self.conn.execute(query).first() is not None

    def course_price(self, course: str) -> Decimal | None:
        query = sa.select(t.courses.c.price).where(t.courses.c.slug == course)
        price: Decimal | None = self.conn.execute(query).scalar()
        return price

    def user_name(self, user: str) -> str | None:
        """A user's name (for ``{{ manager }}``), else their id; None if unknown."""
        row = self.conn.execute(sa.select(users.c.name).where(users.c.id == user)).first()
        if row is None:
            return None
        return str(row.name or user)

    def add_course(self, slug: str, title: str | None = None,
                   price: Decimal | float | None = None) -> None:
        """Put a course in the catalog (once there is a catalog, enroll() checks it)."""
        insert_rows(self.conn, t.courses, [{"slug": slug, "title": title or slug,
                                            "price": None if price is None else str(price)}],
                    conflict="update")

    # -- actions --------------------------------------------------------------------

    def enroll(self, user: str, course: str, *, key: str, payment: Decimal | None = None,
               invoice: bool = False) -> bool:
        new = bool(insert_rows(self.conn, t.enrollments, [
            {"user_id": user, "course": course, "at": self.now, "source": key}],
            conflict="ignore", returning="course"))
        if new and payment is not None:
            insert_rows(self.conn, t.payments, [{
                "key": key, "user_id": user, "course": course, "amount": str(payment),
                "at": self.now}], conflict="ignore")
        if new and invoice:
            number = f"INV-{self.now:%Y%m%d}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"
            insert_rows(self.conn, t.invoices, [{
                "key": key, "user_id": user, "course": course, "number": number,
                "at": self.now}], conflict="ignore")
        return new

    def add_tag(self, user: str, tag: str, *, key: str) -> bool:
        return bool(insert_rows(self.conn, t.tags, [{"user_id": user, "tag": tag,
                                                     "at": self.now}],
                                conflict="ignore", returning="tag"))

    def add_to_space(self, user: str, space: str, *, key: str) -> bool:
        return bool(insert_rows(self.conn, t.spaces, [{"user_id": user, "space": space,
                                                       "at": self.now}],
                                conflict="ignore", returning="space"))

    def send_email(self, user: str, to: str | None, *, template: str, subject: str,
                   body: str, key: str) -> bool:
        return bool(insert_rows(self.conn, t.emails, [{
            "key": key, "user_id": user, "to_address": to, "template": template,
            "subject": subject, "body": body, "at": self.now, "sent_at": None,
            "error": None}], conflict="ignore", returning="key"))

    def notify(self, user: str, text: str, *, key: str) -> bool:
        return bool(insert_rows(self.conn, t.notifications, [{
            "key": key, "user_id": user, "text": text, "at": self.now}],
            conflict="ignore", returning="key"))

    def message(self, user: str, text: str, *, key: str, kind: str = "message",
                track: str | None = None, button: str | None = None) -> bool:
        return bool(insert_rows(self.conn, t.messages, [{
            "key": key, "user_id": user, "kind": kind, "track": track, "text": text,
            "button": button, "at": self.now}], conflict="ignore", returning="key"))

    def invite(self, user: str, track: str, *, key: str, message: str, button: str,
               confirmation: str | None, reenroll: bool) -> bool:
        new = bool(insert_rows(self.conn, t.invitations, [{
            "key": key, "user_id": user, "track": track, "message": message,
            "button": button, "confirmation": confirmation, "reenroll": reenroll,
            "joined_at": None, "at": self.now}], conflict="ignore", returning="key"))
        if new:
            self.message(user, message, key=f"{key}:invitation", kind="invitation",
                         track=track, button=button)
        return new

    def started_track(self, user: str, track: str) -> bool:
        """Whether the user has ever started ``track``: a run of it exists, or an
        ``add_to_track`` added them to it (also earlier in this same transaction, before
        the track's run starts)."""
        query = sa.select(runs.c.id).where(runs.c.user_id == user, runs.c.flow == track)
        if self.conn.execute(query.limit(1)).first() is not None:
            return True
        added = sa.select(t.track_enrollments.c.key).where(
            t.track_enrollments.c.user_id == user, t.track_enrollments.c.track == track,
            t.track_enrollments.c.result == "added")
        return self.conn.execute(added.limit(1)).first() is not None

    def record_track(self, user: str, track: str, *, key: str, method: str, result: str,
                     reason: str | None = None, for_user: str | None = None,
                     from_flow: str | None = None, once: str | None = None) -> bool:
        """Record what an ``add_to_track`` did. With ``once`` (unique), only the first
        of several runs adding the same user to the same track gets the row, even on two
        workers at the same time (the second waits for the first's commit): False means
        another run holds it, and nothing was recorded."""
        if insert_rows(self.conn, t.track_enrollments, [{
                "key": key, "user_id": user, "track": track, "method": method,
                "result": result, "reason": reason, "for_user": for_user,
                "from_flow": from_flow, "once": once, "at": self.now}],
                conflict="ignore", returning="key"):
            return True
        return self.recorded_track(key) == result  # this step's own row, retried

    def recorded_track(self, key: str) -> str | None:
        """What the ``add_to_track`` of idempotency key ``key`` recorded, if it ran
        before (an attempt that failed after recording keeps its row)."""
        mine = sa.select(t.track_enrollments.c.result).where(t.track_enrollments.c.key == key)
        result: str | None = self.conn.execute(mine).scalar()
        return result

    def joining_reenrolls(self, user: str, track: str) -> bool:
        """Whether the user joined ``track`` just now through an invitation that asked
        for re-enrollment (a new instance even if they started it before)."""
        query = sa.select(t.invitations.c.key).where(
            t.invitations.c.user_id == user, t.invitations.c.track == track,
            t.invitations.c.joined_at == self.now, t.invitations.c.reenroll.is_(True))
        return self.conn.execute(query.limit(1)).first() is not None

    def _joined(self, user: str, track: str) -> None:
        """The user joined ``track``: their open invitations to it are accepted, and one
        confirmation is sent (the latest invitation's): joining is one enrollment,
        however many times they were invited."""
        query = (sa.select(t.invitations).where(
            t.invitations.c.user_id == user, t.invitations.c.track == track,
            t.invitations.c.joined_at.is_(None)).order_by(t.invitations.c.at,
                                                          t.invitations.c.key))
        open_ = self.conn.execute(query).all()
        if not open_:
            return
        self.conn.execute(sa.update(t.invitations).where(
            t.invitations.c.key.in_([row.key for row in open_])).values(joined_at=self.now))
        latest = open_[-1]
        if latest.confirmation:
            self.message(user, latest.confirmation, key=f"{latest.key}:confirmation",
                         kind="confirmation", track=track)

    # -- the event feed -------------------------------------------------------------

    def observe(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Keep the tables in step with what happened: enrollments, completed units and
        courses, visits and sign-ins, certificates."""
        rows: dict[sa.Table, list[dict[str, Any]]] = {}
        for event in events:
            user, name = event["user"], event["event"]
            course = event.get("course")
            if name == "user.enrolled" and course:
                rows.setdefault(t.enrollments, []).append(
                    {"user_id": user, "course": course, "at": self.now, "source": "event"})
            elif name == "unit.completed" and course:
                rows.setdefault(t.units, []).append(
                    {"user_id": user, "course": course, "unit": str(event.get("unit", "")),
                     "at": self.now})
            elif name == "course.completed" and course:
                rows.setdefault(t.completions, []).append(
                    {"user_id": user, "course": course, "at": self.now})
            elif name in ("user.visited", "user.signed_in"):
                self._visited(user, course or "")
            elif name == "track.joined" and event.get("track"):
                self._joined(user, str(event["track"]))
            elif name == "certificate.awarded":
                rows.setdefault(t.certificates, []).append({
                    "user_id": user, "certificate": str(event.get("certificate", "")),
                    "awarded_at": self.now, "expires_at": _moment(event.get("expires_at")),
                    "detail": dict(event)})
        for table, batch in rows.items():
            insert_rows(self.conn, table, _unique(table, batch), conflict="ignore")

    def _visited(self, user: str, course: str) -> None:
        insert_rows(self.conn, t.visits, [{"user_id": user, "course": course,
                                           "at": self.now}], conflict="update")

    # -- reading, for tests and tools -----------------------------------------------

    def rows(self, table: sa.Table, user: str) -> list[dict[str, Any]]:
        order = table.c.at if "at" in table.c else next(iter(table.primary_key.columns))
        query = sa.select(table).where(table.c.user_id == user).order_by(order)
        return [dict(r._mapping) for r in self.conn.execute(query)]


def _unique(table: sa.Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per primary key (a batch may carry the same fact twice)."""
    key = [c.name for c in table.primary_key.columns]
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(tuple(row[k] for k in key), row)
    return list(seen.values())


def _moment(value: object) -> pendulum.DateTime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return pendulum.instance(value)
    parsed = pendulum.parse(str(value), tz="UTC")
    if isinstance(parsed, pendulum.DateTime):
        return parsed
    if isinstance(parsed, pendulum.Date):
        return pendulum.datetime(parsed.year, parsed.month, parsed.day, tz="UTC")
    return None


class PlatformView:
    """What the built-in platform knows of a user, for tests and tools
    (``sim.platform``): each method opens its own short transaction."""

    def __init__(self, db: sa.Engine, platform: SqlPlatform, now: Any) -> None:
        self._db = db
        self._platform = platform
        self._now = now

    def _read(self, table: sa.Table, user: str) -> list[dict[str, Any]]:
        with database.reading(self._db) as conn:
            return self._platform.bind(conn, self._now()).rows(table, user)

    def enrollments(self, user: str) -> list[str]:
        return [r["course"] for r in self._read(t.enrollments, user)]

    def tags(self, user: str) -> list[str]:
        return [r["tag"] for r in self._read(t.tags, user)]

    def spaces(self, user: str) -> list[str]:
        return [r["space"] for r in self._read(t.spaces, user)]

    def payments(self, user: str) -> list[dict[str, Any]]:
        return self._read(t.payments, user)

    def invoices(self, user: str) -> list[dict[str, Any]]:
        return self._read(t.invoices, user)

    def emails(self, user: str) -> list[dict[str, Any]]:
        return self._read(t.emails, user)

    def notifications(self, user: str) -> list[str]:
        return [r["text"] for r in self._read(t.notifications, user)]

    def messages(self, user: str, kind: str | None = None) -> list[dict[str, Any]]:
        """In-app messages: kind "message", "invitation" (with its button) or
        "confirmation"."""
        return [r for r in self._read(t.messages, user) if kind is None or r["kind"] == kind]

    def invitations(self, user: str) -> list[dict[str, Any]]:
        return self._read(t.invitations, user)

    def track_enrollments(self, user: str) -> list[dict[str, Any]]:
        """What each ``add_to_track`` did for the user: track, result and reason."""
        return self._read(t.track_enrollments, user)

    def tracks(self, user: str) -> list[str]:
        """The tracks the user has started, oldest first (a re-enrollment twice)."""
        query = (sa.select(runs.c.flow).where(runs.c.user_id == user)
                 .where(runs.c.flow.in_(self._track_names())).order_by(runs.c.created_at))
        with database.reading(self._db) as conn:
            return [r[0] for r in conn.execute(query)]

    def _track_names(self) -> list[str]:
        from flowkit.store.schema import flow_versions

        with database.reading(self._db) as conn:
            return [r[0] for r in conn.execute(sa.select(flow_versions.c.flow).where(
                flow_versions.c.kind == "track").distinct())]

    def add_course(self, slug: str, title: str | None = None,
                   price: Decimal | float | None = None) -> None:
        with self._db.begin() as conn:
            self._platform.bind(conn, self._now()).add_course(slug, title, price)

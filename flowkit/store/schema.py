"""Every table flowkit keeps, in one SQLAlchemy schema (migrations: ``migrations/``).

The database is the source of truth: a run's position and locals, its timer and its
event wait, the event log, the history and the action ledger all live here. Redis only
carries ids.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.types.TypeDecorator[pendulum.DateTime]):
    """A moment, stored as naive UTC on every database and read back as pendulum UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else naive_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> pendulum.DateTime | None:
        return None if value is None else aware_utc(value)


def naive_utc(value: dt.datetime) -> dt.datetime:
    """An aware moment as the naive UTC datetime the tables store."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime, got {value!r}")
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"naive datetime {value!r}: flowkit stores aware moments")
    return dt.datetime(value.year, value.month, value.day, value.hour, value.minute,
                       value.second, value.microsecond) - offset


def aware_utc(value: dt.datetime) -> pendulum.DateTime:
    """A stored naive UTC datetime as a pendulum moment (the constructor is ~15 times
    faster than pendulum.instance, and this runs for every timestamp read)."""
    return pendulum.DateTime(value.year, value.month, value.day, value.hour, value.minute,
                             value.second, value.microsecond, tzinfo=pendulum.UTC)


Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

flow_versions = sa.Table(
    "flowkit_flow_versions", metadata,
    sa.Column("flow", sa.String(200), primary_key=True),
    sa.Column("version", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("ir", Json, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

users = sa.Table(
    "flowkit_users", metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(300)),
    sa.Column("email", sa.String(320)),
    sa.Column("manager", sa.String(200)),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("fields", Json, nullable=False),
)
sa.Index("ix_flowkit_users_lower_email", sa.func.lower(users.c.email))  # the console's search

runs = sa.Table(
    "flowkit_runs", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("flow", sa.String(200), nullable=False),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("user_id", sa.String(200), nullable=False),
    # waiting | running | completed | exited | failed | parked
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("step", sa.String(300)),
    sa.Column("locals", Json, nullable=False),
    sa.Column("visits", Json, nullable=False),
    sa.Column("trigger", Json, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # one more at each write of the row: a batch that computed outside SQLite's write
    # lock checks that the runs it read are still at the revisions it read
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
    sa.Index(None, "user_id", "flow"),
    sa.Index(None, "flow", "status"),
    sa.Index(None, "status", "updated_at"),
    sa.Index(None, "created_at", "flow"),  # the console's starts per day
)

# The console's runs resting at each step of a flow, counted and listed (partial: only
# the runs that rest somewhere, a small part of a big table).
_RESTING = ("waiting", "running", "parked", "failed")
sa.Index("ix_flowkit_runs_resting", runs.c.flow, runs.c.step, runs.c.updated_at, runs.c.status,
         postgresql_where=runs.c.status.in_(_RESTING), sqlite_where=runs.c.status.in_(_RESTING))
# The console's problems page: parked and failed runs counted by flow and step.
_PROBLEMS = ("parked", "failed")
sa.Index("ix_flowkit_runs_problems", runs.c.flow, runs.c.step, runs.c.status, runs.c.updated_at,
         postgresql_where=runs.c.status.in_(_PROBLEMS),
         sqlite_where=runs.c.status.in_(_PROBLEMS))

timers = sa.Table(
    "flowkit_timers", metadata,
    sa.Column("run_id", sa.String(36), sa.ForeignKey(runs.c.id, ondelete="CASCADE"),
              primary_key=True),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("step", sa.String(300), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # wait | timeout | retry | deferred
    # the order timers are claimed in, read straight off the index: timers set in one
    # batch share their due time, and sorting thousands of them per claim was S3's cost
    sa.Index(None, "due_at", "run_id"),
)

event_waits = sa.Table(
    "flowkit_event_waits", metadata,
    sa.Column("run_id", sa.String(36), sa.ForeignKey(runs.c.id, ondelete="CASCADE"),
              primary_key=True),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("event", sa.String(200), nullable=False),
    sa.Column("step", sa.String(300), nullable=False),
    sa.Index(None, "user_id", "event"),
)

events = sa.Table(
    "flowkit_events", metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    # Events are routed by shard, one router per shard at a time: a user's events
    # (always in one shard) are applied in order, and shards go in parallel.
    sa.Column("shard", sa.SmallInteger, nullable=False),
    sa.Column("routed", sa.Boolean, nullable=False, server_default=sa.false()),
    # Why the event was rejected instead of routed (it is marked routed), else NULL.
    sa.Column("error", sa.Text),
    sa.Index(None, "routed", "shard", "seq"),
    sa.Index(None, "user_id", "seq"),
)

# One row per transition of a run, its entries (started, action, branch, waiting, ...)
# as a JSON list: a transition writes one history row, however much it did.
history = sa.Table(
    "flowkit_history", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("entries", Json, nullable=False),
    sa.Index(None, "run_id", "id"),
)

actions = sa.Table(
    "flowkit_actions", metadata,
    # seq keeps the order actions ran in; key is the idempotency key of the step visit.
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("key", sa.String(400), nullable=False, unique=True),
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("flow", sa.String(200), nullable=False),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("step", sa.String(300), nullable=False),
    sa.Column("action", sa.String(200), nullable=False),
    sa.Column("args", Json, nullable=False),
    sa.Column("result", Json),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index(None, "run_id"),
    sa.Index(None, "user_id", "at"),
)

# Journey rules (flowkit.rules). Messages sent per user, channel and period (a day or a
# week in the user's timezone), counted by an atomic upsert so workers never overshoot.
message_counts = sa.Table(
    "flowkit_message_counts", metadata,
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("period", sa.String(32), primary_key=True),  # day:2026-03-02, week:...
    sa.Column("count", sa.Integer, nullable=False),
)

# Each message the rules deferred or dropped, with the rule and the reason.
rule_log = sa.Table(
    "flowkit_rule_log", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("flow", sa.String(200), nullable=False),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("step", sa.String(300), nullable=False),
    sa.Column("rule", sa.String(32), nullable=False),  # quiet_hours | frequency_cap
    sa.Column("outcome", sa.String(16), nullable=False),  # deferred | dropped
    sa.Column("until", UTCDateTime),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index(None, "flow", "at"),
)

# A run that reached its flow's goal: when, and by which event.
conversions = sa.Table(
    "flowkit_conversions", metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("flow", sa.String(200), nullable=False),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("goal", sa.String(200), nullable=False),
    sa.Column("event_key", sa.String(200), nullable=False),
    sa.Column("converted_at", UTCDateTime, nullable=False),
    sa.Index(None, "flow"),
)

# The events API's bearer keys, stored as SHA-256 hashes (``flowkit keys``): several
# live at once so a key is rotated by adding the new one before revoking the old.
api_keys = sa.Table(
    "flowkit_api_keys", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),  # shown in listings, not secret
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)

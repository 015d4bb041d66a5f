"""The built-in SQL platform's tables: what the school knows about its learners.

They live beside flowkit's own tables (same metadata, same migrations) and are written
in the same transactions as the runs whose actions change them, so an action's effect
commits exactly once with its step. Each row an action writes carries the action's
idempotency key, unique: an action that runs again writes nothing new.
"""

from __future__ import annotations

import sqlalchemy as sa

from flowkit.store.schema import Json, UTCDateTime, metadata


def _keyed(name: str, *columns: sa.Column[object] | sa.Index) -> sa.Table:
    return sa.Table(
        name, metadata,
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("user_id", sa.String(200), nullable=False, index=True),
        *columns,
        sa.Column("at", UTCDateTime, nullable=False),
    )


courses = sa.Table(
    "lms_courses", metadata,
    sa.Column("slug", sa.String(200), primary_key=True),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("price", sa.Numeric(12, 2)),
)

enrollments = sa.Table(
    "lms_enrollments", metadata,
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("course", sa.String(200), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("source", sa.String(400), nullable=False),  # an action's key, or "event"
)

payments = _keyed("lms_payments", sa.Column("course", sa.String(200), nullable=False),
                  sa.Column("amount", sa.Numeric(12, 2)))
invoices = _keyed("lms_invoices", sa.Column("course", sa.String(200), nullable=False),
                  sa.Column("number", sa.String(40), nullable=False, unique=True))

tags = sa.Table(
    "lms_tags", metadata,
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("tag", sa.String(200), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
)

spaces = sa.Table(
    "lms_space_members", metadata,
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("space", sa.String(200), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
)

emails = _keyed(
    "lms_emails",  # the outbox: delivered by SMTP when SMTP_URL is set
    sa.Column("to_address", sa.String(320)),
    sa.Column("template", sa.String(200), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("error", sa.Text),
)

notifications = _keyed("lms_notifications", sa.Column("text", sa.Text, nullable=False))

units = sa.Table(
    "lms_unit_completions", metadata,
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("course", sa.String(200), primary_key=True),
    sa.Column("unit", sa.String(200), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
)

completions = sa.Table(
    "lms_course_completions", metadata,
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("course", sa.String(200), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
)

visits = sa.Table(
    "lms_visits", metadata,  # the last visit, of the school ("") or of a course
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("course", sa.String(200), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
)

certificates = sa.Table(
    "lms_certificates", metadata,
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("certificate", sa.String(200), primary_key=True),
    sa.Column("awarded_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime),
    sa.Column("detail", Json, nullable=False),
)

invitations = _keyed(
    "lms_track_invitations",  # manual enrollment: the user joins by clicking the button
    sa.Column("track", sa.String(200), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("button", sa.String(200), nullable=False),
    sa.Column("confirmation", sa.Text),
    sa.Column("reenroll", sa.Boolean, nullable=False),
    sa.Column("joined_at", UTCDateTime),
)

track_enrollments = _keyed(
    "lms_track_enrollments",  # every add_to_track: what it did to whom, and why
    sa.Column("track", sa.String(200), nullable=False),
    sa.Column("method", sa.String(20), nullable=False),  # automatic | manual
    sa.Column("result", sa.String(20), nullable=False),  # added | invited | skipped
    sa.Column("reason", sa.Text),
    sa.Column("for_user", sa.String(200)),  # the report, when a manager was added
    sa.Column("from_flow", sa.String(200)),
    # "<result>:<user>:<track>" while re-enrollment is off: unique, so two runs (in one
    # batch or on two workers) cannot both add or invite a user to the same track
    sa.Column("once", sa.String(500), unique=True),
)

messages = _keyed(
    "lms_messages",  # in-app messages: track messages, invitations' texts, confirmations
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("track", sa.String(200)),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("button", sa.String(200)),
)

"""The journey rules around an action: quiet hours and frequency caps, applied to each
message (an action with a ``channel``) just before it runs.

``admit`` answers ``Permit`` (send it; the caps it counted against are in it, released
again if the action fails), ``Defer`` (rest at the step on a durable timer and try
again then), ``Drop`` (skip it, recorded) or ``Parked`` (the rules leave no time at
all). The counts live in ``flowkit_message_counts`` and are taken by one conditional
upsert per cap, so workers racing for a user's last slot never both get it: the loser's
upsert waits for the winner's row and sees its count.
"""

from __future__ import annotations

from typing import Any

import attrs
import pendulum
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from flowkit.dsl.flow import Flow
from flowkit.machine import NeedsAction, Parked
from flowkit.rules.policy import FrequencyCap, QuietHours
from flowkit.store import RunRow
from flowkit.store import schema as t

CountKey = tuple[str, str, str]  # user, channel, period


@attrs.frozen
class Permit:
    """Send the message; ``counted`` are the cap counts it took."""

    counted: tuple[CountKey, ...] = ()


@attrs.frozen
class Defer:
    until: pendulum.DateTime
    rule: str
    reason: str


@attrs.frozen
class Drop:
    rule: str
    reason: str


Verdict = Permit | Defer | Drop | Parked
SEND = Permit()


def admit(batch: Any, flow: Flow, row: RunRow, need: NeedsAction, timezone: str
          ) -> Verdict:
    """What the rules say about the action ``need`` asks for, now (see the module)."""
    channel = need.call.action.channel
    if channel is None or flow.rules.transactional or need.call.transactional:
        return SEND
    now: pendulum.DateTime = batch.now
    quiet = flow.rules.quiet(batch.rt.rules)
    if quiet is not None:
        allowed = quiet.next_allowed(now, timezone)
        if allowed is None:
            return Parked(f"quiet hours ({quiet.describe()}) leave no time to send "
                          f"{need.call.action.name!r}; fix the policy, then "
                          f"`flowkit runs retry {row.id}`")
        if allowed > now:
            return Defer(allowed, "quiet_hours", f"deferred to {_when(now, allowed, timezone)}"
                         " by quiet hours")
    caps = batch.rt.rules.caps_for(channel)
    if not caps:
        return SEND
    return _count(batch, flow, row.user_id, channel, caps, quiet, timezone)


def _count(batch: Any, flow: Flow, user_id: str, channel: str,
           caps: tuple[FrequencyCap, ...], quiet: QuietHours | None, timezone: str
           ) -> Verdict:
    now: pendulum.DateTime = batch.now
    local = now.in_timezone(timezone)
    policy = flow.rules.when_over_cap
    counted: list[CountKey] = []
    for cap in caps:
        key = (user_id, channel, cap.period(local))
        if take(batch.conn, key, None if policy == "send" else cap.limit):
            counted.append(key)
            continue
        release(batch.conn, counted)
        if policy == "drop":
            return Drop("frequency_cap", f"dropped by frequency cap ({cap.describe()})")
        until = cap.next_period(local)
        if quiet is not None:
            until = quiet.next_allowed(until, timezone) or until
        return Defer(until, "frequency_cap",
                     f"deferred to {_when(now, until, timezone)} by frequency cap "
                     f"({cap.describe()})")
    return Permit(tuple(counted))


def take(conn: sa.Connection, key: CountKey, limit: int | None) -> bool:
    """Count one message against ``key`` unless it already holds ``limit``; whether it
    was counted. One statement, atomic on PostgreSQL and SQLite."""
    table = t.message_counts
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table).values(user_id=key[0], channel=key[1], period=key[2],
                                          count=1)
    upsert = insert.on_conflict_do_update(
        index_elements=["user_id", "channel", "period"],
        set_={"count": table.c.count + 1},
        where=None if limit is None else table.c.count < limit,
    ).returning(table.c.count)
    return conn.execute(upsert).first() is not None


def release(conn: sa.Connection, counted: list[CountKey] | tuple[CountKey, ...]) -> None:
    """Give back the counts of a message that was not sent after all."""
    table = t.message_counts
    for user_id, channel, period in counted:
        conn.execute(table.update().where(
            table.c.user_id == user_id, table.c.channel == channel,
            table.c.period == period).values(count=table.c.count - 1))


def log(batch: Any, row: RunRow, step: str, verdict: Defer | Drop) -> None:
    """Record a deferred or dropped message in the rule log (read by ``flowkit report``)."""
    batch.conn.execute(t.rule_log.insert().values(
        run_id=row.id, flow=row.flow, user_id=row.user_id, step=step, rule=verdict.rule,
        outcome="deferred" if isinstance(verdict, Defer) else "dropped",
        until=verdict.until if isinstance(verdict, Defer) else None,
        reason=verdict.reason, at=batch.now))


def _when(now: pendulum.DateTime, until: pendulum.DateTime, timezone: str) -> str:
    """``08:00 Europe/Paris``, with the day when it is not within the next day."""
    local = until.in_timezone(timezone)
    day = "" if until - now < pendulum.duration(days=1) else f"{local.format('dddd D MMMM')} "
    return f"{day}{local.format('HH:mm')} {timezone}"

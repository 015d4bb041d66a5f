"""The journey rules around an action: quiet hours and frequency caps, applied to each
message (an action with a ``channel``) just before it runs.

``admit`` answers ``Permit`` (send it; the caps it counted against are in it, released
again if the action fails), ``Defer`` (rest at the step on a durable timer and try
again then), ``Drop`` (skip it, recorded) or ``Parked`` (the rules leave no time at
all). The counts live in ``flowkit_message_counts``, taken so that workers racing for a
user's last slot never both get it (``flowkit.rules.counts``).
"""

from __future__ import annotations

from typing import Any

import attrs
import pendulum

from flowkit.dsl.flow import Flow
from flowkit.machine import NeedsAction, Parked
from flowkit.rules import counts
from flowkit.rules.counts import CountKey
from flowkit.rules.policy import FrequencyCap, QuietHours
from flowkit.store import RunRow
from flowkit.store import schema as t


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


class BatchRules:
    """The rules' state in one batch: the users' local times now, and the cap counter
    (made at the first capped message; it writes its counts before the batch commits)."""

    def __init__(self, batch: Any) -> None:
        self.batch = batch
        self.locals: dict[str, pendulum.DateTime] = {}
        self._counter: counts.Counter | None = None

    def local(self, timezone: str) -> pendulum.DateTime:
        found = self.locals.get(timezone)
        if found is None:
            found = self.locals[timezone] = self.batch.now.in_timezone(timezone)
        return found

    def counter(self, caps: tuple[FrequencyCap, ...]) -> counts.Counter:
        if self._counter is None:
            batch = self.batch

            def scope() -> list[CountKey]:
                return [(user.id, cap.channel, cap.period(self.local(user.timezone)))
                        for user in batch.users.values() for cap in caps]

            self._counter = counts.counter_for(batch.conn, scope, batch.careful)
            batch.before_commit.append(self._counter.flush)
        return self._counter


def _state(batch: Any) -> BatchRules:
    if batch.rules_state is None:
        batch.rules_state = BatchRules(batch)
    state: BatchRules = batch.rules_state
    return state


def admit(batch: Any, flow: Flow, row: RunRow, need: NeedsAction, timezone: str
          ) -> Verdict:
    """What the rules say about the action ``need`` asks for, now (see the module)."""
    channel = need.call.action.channel
    if channel is None or flow.rules.transactional or need.call.transactional:
        return SEND
    now: pendulum.DateTime = batch.now
    quiet = flow.rules.quiet(batch.rt.rules)
    state = _state(batch)
    if quiet is not None and not quiet.allows(state.local(timezone)):
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
    return _count(batch, state, flow, row.user_id, channel, caps, quiet, timezone)


def _count(batch: Any, state: BatchRules, flow: Flow, user_id: str, channel: str,
           caps: tuple[FrequencyCap, ...], quiet: QuietHours | None, timezone: str
           ) -> Verdict:
    now: pendulum.DateTime = batch.now
    local = state.local(timezone)
    policy = flow.rules.when_over_cap
    counter = state.counter(batch.rt.rules.caps)
    counted: list[CountKey] = []
    for cap in caps:
        key = (user_id, channel, cap.period(local))
        if counter.take(key, None if policy == "send" else cap.limit):
            counted.append(key)
            continue
        counter.release(counted)
        if policy == "drop":
            return Drop("frequency_cap", f"dropped by frequency cap ({cap.describe()})")
        until = cap.next_period(local)
        if quiet is not None:
            until = quiet.next_allowed(until, timezone) or until
        return Defer(until, "frequency_cap",
                     f"deferred to {_when(now, until, timezone)} by frequency cap "
                     f"({cap.describe()})")
    return Permit(tuple(counted))


def release(batch: Any, counted: tuple[CountKey, ...]) -> None:
    """Give back the counts of a message that was not sent after all (it failed)."""
    if counted:
        _state(batch).counter(batch.rt.rules.caps).release(counted)


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

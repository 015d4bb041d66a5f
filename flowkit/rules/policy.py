"""Journey rules as values: quiet hours, frequency caps, goals and a flow's own options.

These are plain frozen values with the time arithmetic they need (the next allowed
moment, the period a message counts in), and no I/O: the engine applies them around
actions (``flowkit.rules.gate``), routing records goals (``flowkit.rules.goals``), and
``flowkit check`` reads them (``flowkit.rules.checks``). See docs/journey-rules.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import attrs
import pendulum

from flowkit.errors import DefinitionError

Period = Literal["day", "week"]
Priority = Literal["low", "normal", "high"]
OverCap = Literal["defer", "drop"]
CHANNELS = ("email", "notification", "message")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _minutes(text: str, name: str) -> int:
    match = _TIME.match(text) if isinstance(text, str) else None
    if match is None:
        raise DefinitionError(f"QuietHours({name}=...) is a time of day as 'HH:MM', "
                              f"got {text!r}")
    return int(match[1]) * 60 + int(match[2])


@attrs.frozen
class QuietHours:
    """Messages go out only between ``send_after`` and ``send_before`` in the user's own
    timezone (``"08:00"``, ``"21:00"``; a window such as 22:00-06:00 wraps past
    midnight), and with ``weekdays_only`` only Monday to Friday. A message due outside
    is deferred to the next allowed moment."""

    send_after: str = "08:00"
    send_before: str = "21:00"
    weekdays_only: bool = False
    start: int = attrs.field(init=False, repr=False)
    end: int = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "start", _minutes(self.send_after, "send_after"))
        object.__setattr__(self, "end", _minutes(self.send_before, "send_before"))

    @property
    def leaves_no_time(self) -> bool:
        """Whether no moment of the week is allowed (an empty window)."""
        return self.start == self.end

    def describe(self) -> str:
        days = ", Monday to Friday" if self.weekdays_only else ""
        return f"messages {self.send_after}-{self.send_before}{days}"

    def allows(self, local: pendulum.DateTime) -> bool:
        """Whether a message may go out at ``local`` (a moment in the user's timezone)."""
        if self.weekdays_only and local.isoweekday() > 5:
            return False
        minute = local.hour * 60 + local.minute
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def next_allowed(self, moment: pendulum.DateTime, timezone: str
                     ) -> pendulum.DateTime | None:
        """The first allowed moment at or after ``moment`` for a user in ``timezone``
        (in UTC); ``None`` when the window leaves no time at all."""
        if self.leaves_no_time:
            return None
        local = moment.in_timezone(timezone)
        if self.allows(local):
            return moment
        hour, minute = divmod(self.start, 60)
        for offset in range(9):
            day = local.add(days=offset)
            for h, m in ((0, 0), (hour, minute)):
                candidate = pendulum.datetime(day.year, day.month, day.day, h, m,
                                              tz=timezone)
                if candidate > local and self.allows(candidate):
                    return candidate.in_timezone("UTC")
        return None  # pragma: no cover - a window with time in it is met within a week


@attrs.frozen
class FrequencyCap:
    """At most ``limit`` messages on ``channel`` (email, notification, message) per user
    per ``per`` (a calendar day or a Monday-to-Sunday week in the user's timezone),
    counted across every flow."""

    channel: str = attrs.field()
    limit: int = attrs.field()
    per: Period = "day"

    @channel.validator
    def _channel(self, _: object, value: str) -> None:
        if value not in CHANNELS:
            raise DefinitionError(f"FrequencyCap(channel=...) is one of "
                                  f"{', '.join(CHANNELS)}, got {value!r}")

    @limit.validator
    def _limit(self, _: object, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise DefinitionError(f"FrequencyCap(limit=...) is a whole number of at least "
                                  f"1, got {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.per not in ("day", "week"):
            raise DefinitionError(f"FrequencyCap(per=...) is 'day' or 'week', "
                                  f"got {self.per!r}")

    def describe(self) -> str:
        return f"{self.limit} {self.channel} per {self.per}"

    def period(self, local: pendulum.DateTime) -> str:
        """The key of the period ``local`` falls in: ``day:2026-03-02``."""
        day = dt.date(local.year, local.month, local.day)
        if self.per == "week":
            day -= dt.timedelta(days=day.weekday())
        return f"{self.per}:{day.isoformat()}"

    def next_period(self, local: pendulum.DateTime) -> pendulum.DateTime:
        """When the period after the one ``local`` falls in starts (in UTC)."""
        start = local.start_of("day").add(days=1)
        if self.per == "week":
            start = start.add(days=(8 - start.isoweekday()) % 7)
        return pendulum.datetime(start.year, start.month, start.day,
                                 tz=local.timezone_name).in_timezone("UTC")


@attrs.frozen
class Rules:
    """The project-wide journey rules: quiet hours and frequency caps for every flow.

    ``Engine(rules=Rules(QuietHours("08:00", "21:00"), caps=[FrequencyCap("email", 2)]))``,
    or a module named by ``FLOWKIT_RULES`` (``package.module:name``), or a ``rules`` value
    in ``journey_rules.py`` beside ``automations/``.
    """

    quiet_hours: QuietHours | None = None
    caps: tuple[FrequencyCap, ...] = attrs.field(default=(), converter=tuple)
    _by_channel: dict[str, tuple[FrequencyCap, ...]] = attrs.field(
        init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_by_channel", {
            channel: tuple(c for c in self.caps if c.channel == channel)
            for channel in CHANNELS})

    def caps_for(self, channel: str) -> tuple[FrequencyCap, ...]:
        return self._by_channel.get(channel, ())


GoalWhere = Callable[[dict[str, Any]], bool]


@attrs.frozen
class Goal:
    """What a flow is for: ``event`` arriving for the run's user (with ``same`` payload
    fields as the trigger event's, and ``where`` holding), within ``within`` of the run's
    start. ``ends_run`` ends the run when it converts, as an exit would."""

    event: str
    same: tuple[str, ...] = ()
    where: GoalWhere | None = attrs.field(default=None, eq=False)
    within: dt.timedelta | None = None
    ends_run: bool = False

    def matches(self, trigger: Mapping[str, Any], event: dict[str, Any]) -> bool:
        if any(event.get(field) != trigger.get(field) for field in self.same):
            return False
        return self.where is None or bool(self.where(event))

    def describe(self) -> str:
        same = f" with the same {', '.join(self.same)}" if self.same else ""
        within = f" within {_duration_text(self.within)}" if self.within else ""
        return f"{self.event}{same}{within}"


def _duration_text(delta: dt.timedelta) -> str:
    if delta.seconds == 0 and delta.microseconds == 0:
        return f"{delta.days} days"
    return str(delta)


INHERIT: Literal["project"] = "project"


@attrs.frozen
class FlowRules:
    """A flow's own journey options (set with ``@journey`` and ``@goal``).

    ``quiet_hours``: the project's (``"project"``), the flow's own, or ``None`` for none.
    ``transactional``: receipts and password resets are exempt from quiet hours and caps.
    ``priority``: ``"high"`` messages count towards caps but are not held by them,
    ``"normal"`` ones over a cap are deferred to the next period, ``"low"`` ones dropped;
    ``over_cap`` says ``"defer"`` or ``"drop"`` outright.
    """

    quiet_hours: QuietHours | Literal["project"] | None = INHERIT
    transactional: bool = False
    priority: Priority = "normal"
    over_cap: OverCap | None = None
    goal: Goal | None = None

    def declaration(self, condition: Callable[[Any], str]) -> list[str]:
        """The lines these options add to the flow's declaration (and so its version and
        ``flowkit diff``); none when every option is the default. ``condition`` reads a
        goal's ``where`` as text."""
        lines = []
        if self.goal is not None:
            goal = self.goal
            where = f" where {condition(goal.where)}" if goal.where is not None else ""
            ends = " ends the run" if goal.ends_run else ""
            lines.append(f"goal {goal.describe()}{where}{ends}")
        if self.quiet_hours is None:
            lines.append("no quiet hours")
        elif self.quiet_hours != INHERIT:
            lines.append(f"quiet hours {self.quiet_hours.describe()}")
        if self.transactional:
            lines.append("transactional")
        if self.priority != "normal":
            lines.append(f"priority {self.priority}")
        if self.over_cap is not None:
            lines.append(f"over a cap {self.over_cap}")
        return lines

    def quiet(self, project: Rules) -> QuietHours | None:
        if self.quiet_hours == INHERIT:
            return project.quiet_hours
        return self.quiet_hours

    @property
    def when_over_cap(self) -> OverCap | Literal["send"]:
        if self.over_cap is not None:
            return self.over_cap
        return _OVER_CAP[self.priority]


_OVER_CAP: dict[str, OverCap | Literal["send"]] = {
    "high": "send", "normal": "defer", "low": "drop"}


def check_choice(value: object, options: Sequence[str], what: str) -> None:
    if value not in options:
        raise DefinitionError(f"{what} is one of {', '.join(map(repr, options))}, "
                              f"got {value!r}")

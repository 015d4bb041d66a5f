"""``flowkit check`` on the journey rules (docs/journey-rules.md): quiet hours that
leave no time to send (``quiet-hours``), and a flow that alone can send a user more
messages in a day (or a week) than a frequency cap allows (``frequency-cap``), both warnings: the
rules still hold at run time (such messages are deferred, or the run parked)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs

from flowkit.compiler.callees import lookup
from flowkit.dsl.flow import Flow
from flowkit.errors import ConfigurationError
from flowkit.review._check_calls import DAY
from flowkit.review._check_finding import Finding, def_line, finding
from flowkit.review._check_paths import _flow_rate
from flowkit.rules.loading import project_rules
from flowkit.rules.policy import Rules


def journey_rules(flows: Sequence[Flow], rules: Rules | None = None) -> Iterator[Finding]:
    """The findings on ``flows`` under ``rules`` (default: the project's)."""
    if rules is None:
        try:
            rules = project_rules()
        except ConfigurationError as error:
            yield Finding("error", "config", "journey_rules.py", 1, "-", str(error),
                          "define rules = Rules(...) from flowkit.rules")
            return
    if rules.quiet_hours is not None and rules.quiet_hours.leaves_no_time:
        yield Finding("warning", "quiet-hours", "journey_rules.py", 1, "-",
                      f"the project's quiet hours ({rules.quiet_hours.describe()}) leave "
                      "no time to send: every message would park its run",
                      "give send_after and send_before different times")
    for flow in flows:
        yield from _flow_findings(flow, rules)


def _flow_findings(flow: Flow, rules: Rules) -> Iterator[Finding]:
    own = flow.rules.quiet_hours
    if own is not None and own != "project" and own.leaves_no_time:
        yield finding(flow, def_line(flow), "warning", "quiet-hours",
                      f"the flow's quiet hours ({own.describe()}) leave no time to send",
                      "give send_after and send_before different times")
    if flow.rules.transactional:
        return
    for cap in rules.caps:
        sends = frozenset(s.callee for s in flow.ir.steps if s.kind == "action" and getattr(
            lookup(flow.program.fn, s.callee), "channel", None) == cap.channel)
        days = 1 if cap.per == "day" else 7
        for found in _flow_rate(flow, cap.limit, sends, days * DAY) if sends else ():
            said = found.message.replace("the limit is", "the cap is")
            if cap.per == "week":
                said = said.replace("within a day", "within a week").replace(
                    "no wait of a day or more", "no wait of a week or more")
            yield attrs.evolve(
                found, severity="warning", check="frequency-cap",
                message=f"alone can exceed the frequency cap ({cap.describe()}): {said}",
                hint=f"space the messages with await wait(days={days}), or the cap "
                     "defers (or drops) the extra ones")

"""Journey rules: quiet hours, frequency caps across flows, goals and split tests.

The values authors and projects write live here; the engine side is in
``flowkit.rules.gate`` (around actions), ``flowkit.rules.goals`` (conversions),
``flowkit.rules.report`` and ``flowkit.rules.checks``. See docs/journey-rules.md.
"""

from flowkit.rules.policy import FlowRules, FrequencyCap, Goal, QuietHours, Rules

__all__ = ["FlowRules", "FrequencyCap", "Goal", "QuietHours", "Rules"]

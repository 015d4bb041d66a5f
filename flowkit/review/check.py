"""``flowkit check``: the mistakes a review should catch, found before anything runs.

The checks read the flows' step machines, their decorators and the project's email
templates; they run nothing but the imports that define the flows (and the ``where``
of a ``track.joined`` trigger, asked which tracks it follows). Each finding has a
severity, a place (``file:line``), the flow, what is wrong and how to fix it:

- ``track-cycle`` (error): an ``add_to_track`` that closes an enrollment cycle
  (A → B → A, A → B → C → A), also through an automation a ``track.joined`` starts.
- ``track-destination`` (error): a track adding users to itself, or any flow adding
  users to a track that is not there or not active.
- ``unknown-event`` (warning; an error when one edit away from a known event): a
  trigger, an event exit or a ``wait_for`` naming an event nobody sends.
- ``email-template``, ``placeholder`` (error): a ``send_email`` of a template that is
  not there; a placeholder a message uses but is not given.
- ``unreachable`` (warning): steps no path from the start reaches.
- ``message-rate`` (error): a flow that can message a user more than N times a day.
- ``quiet-hours``, ``frequency-cap`` (warning): the project's or a flow's quiet hours
  leave no time to send; a flow alone can exceed a daily frequency cap.
- ``duplicate-name`` (error): two flows with one name.
- ``import``, ``config`` (error): a module that does not import or a flow that does not
  compile; a ``[tool.flowkit]`` table that cannot be read.

docs/review-check.md says what each check assumes.
"""

from __future__ import annotations

import tomllib
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from flowkit.dsl.flow import Flow
from flowkit.errors import CompileError, UnknownFlowError
from flowkit.lms import emails
from flowkit.review._check_finding import Finding, Severity, shown
from flowkit.review._check_paths import message_rate, unreachable_steps
from flowkit.review._check_rules import journey_rules
from flowkit.review._check_texts import email_templates, known_events, unknown_events
from flowkit.review._check_tracks import duplicate_names, track_cycles, track_destinations
from flowkit.runtime.discovery import find_flows

__all__ = ["Finding", "Options", "Report", "Severity", "check", "check_flows", "load"]


@attrs.frozen
class Options:
    """``max_messages_per_day``: the most messages a flow may send a user in a day;
    ``emails``: the templates' folder (default: $FLOWKIT_EMAILS, else ``emails/``);
    ``config``: the pyproject.toml whose ``[tool.flowkit] events`` lists the events the
    app sends besides the school's (``None``: none)."""

    max_messages_per_day: int = 3
    emails: Path | None = None
    config: Path | None = Path("pyproject.toml")


@attrs.frozen
class Report:
    """The flows checked and what was found, errors and warnings sorted by place."""

    flows: tuple[Flow, ...] = attrs.field(repr=False)
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"flows": len(self.flows), "errors": self.errors, "warnings": self.warnings,
                "findings": [f.to_dict() for f in self.findings]}


def check(paths: Sequence[str | Path] = (), options: Options | None = None) -> Report:
    """Load the flows of ``paths`` (module names, .py files or folders; default:
    automations/ and tracks/) and check them together."""
    flows, findings = load(paths)
    findings += check_flows(flows, options or Options())
    return Report(tuple(flows), tuple(sorted(findings, key=_order)))


def check_flows(flows: Sequence[Flow], options: Options) -> list[Finding]:
    """Every finding on ``flows``, taken as the whole project."""
    configured, findings = _configured_events(options.config)
    findings += [
        *duplicate_names(flows),
        *track_destinations(flows),
        *track_cycles(flows),
        *unknown_events(flows, known_events(flows, configured)),
        *email_templates(flows, options.emails or emails.folder()),
        *unreachable_steps(flows),
        *message_rate(flows, options.max_messages_per_day),
        *journey_rules(flows),
    ]
    return sorted(findings, key=_order)


def _order(finding: Finding) -> tuple[str, int, str, str]:
    return finding.file, finding.line, finding.check, finding.message


def _configured_events(config: Path | None) -> tuple[set[str], list[Finding]]:
    """The events ``[tool.flowkit] events = [...]`` lists in ``config``."""
    if config is None or not config.is_file():
        return set(), []
    text = config.read_text(encoding="utf-8")
    try:
        events = tomllib.loads(text).get("tool", {}).get("flowkit", {}).get("events", [])
    except tomllib.TOMLDecodeError as error:
        events, problem = None, f"cannot read {config}: {error}"
    else:
        problem = f"[tool.flowkit] events must be a list of event names, not {events!r}"
    if isinstance(events, list) and all(isinstance(e, str) for e in events):
        return set(events), []
    line = next((n for n, s in enumerate(text.splitlines(), 1)
                 if s.strip().startswith("events")), 1)
    return set(), [Finding("error", "config", shown(str(config)), line, "-", problem,
                           'write events = ["app.event", ...] under [tool.flowkit]')]


# -- loading ---------------------------------------------------------------------------

def load(paths: Sequence[str | Path] = ()) -> tuple[list[Flow], list[Finding]]:
    """The flows of ``paths`` with their companions, each once, and as findings what
    could not be loaded: a module that does not import is one finding, a flow that does
    not compile another, and every other flow is still loaded. Unlike
    ``flowkit.runtime.discovery.load_flows`` it neither requires unique names nor
    checks track destinations: those are findings here."""
    flows, problems = find_flows(list(paths) or None)
    findings = [_import_finding(p.source, p.error) for p in problems]
    for flow in flows:
        try:
            flow.program.check_late_names()
        except CompileError as error:
            findings.append(_compile_finding(error))
    return flows, findings


def _import_finding(target: str, error: BaseException) -> Finding:
    if isinstance(error, CompileError):
        return _compile_finding(error)
    file, line = target, 1
    if isinstance(error, SyntaxError) and error.filename:
        file, line = error.filename, error.lineno or 1
    elif target.endswith(".py"):
        frames = [f.lineno for f in traceback.extract_tb(error.__traceback__)
                  if Path(f.filename).resolve() == Path(target).resolve()]
        line = frames[-1] or 1 if frames else 1
    missing = isinstance(error, UnknownFlowError)
    hint = ("give a module name, a .py file or a folder of flows" if missing
            else "fix the module so that it imports")
    module = Path(target).stem if target.endswith(".py") else target
    return Finding("error", "import", shown(file), line, module,
                   f"cannot import: {type(error).__name__}: {error}", hint)


def _compile_finding(error: CompileError) -> Finding:
    return Finding("error", "import", shown(error.file), error.line, error.flow,
                   error.message, error.hint or "fix the flow so that it compiles")

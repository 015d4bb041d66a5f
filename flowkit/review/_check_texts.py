"""Checks on the names and texts flows use: events, email templates and placeholders.

An event is known when the school defines it (``flowkit.lms.events.REQUIRED``), an
action a loaded flow calls sends it (``run.emit``/``run.emit_for`` with a literal or
constant name: ``user.inactive`` from the inactivity watchers), or the project lists it
in pyproject.toml under ``[tool.flowkit] events``.

The texts checked are the parameters an action declares as templates
(``@action(templates=...)``: ``send_message``'s and ``send_notification``'s ``text``,
``add_to_track``'s ``invitation`` and ``confirmation``, a custom action's own). The
compiler has already refused such a text computed at run time (data is never a
template; ``flowkit check`` reports that as the flow's compile error, at the call).
Every message is given ``{{ user }}``, ``{{ manager }}``, ``{{ email }}`` and
``{{ event }}``; ``{{ course }}`` when each of the flow's trigger events must carry a
course; ``send_email`` and an action that takes ``**values`` also their keyword
arguments.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path

import jinja2
import jinja2.meta

from flowkit.compiler.callees import dotted, lookup
from flowkit.dsl.action import Action
from flowkit.dsl.flow import Flow
from flowkit.ir import Step
from flowkit.lms import emails
from flowkit.lms.events import REQUIRED
from flowkit.lms.rendering import text_sandbox
from flowkit.review._check_calls import callee, keywords, text
from flowkit.review._check_finding import Finding, decorator_line, finding, near

PROVIDED = frozenset({"user", "manager", "email", "event"})


def known_events(flows: Sequence[Flow], configured: set[str]) -> set[str]:
    """The school's events, those the flows' actions send, and ``configured``."""
    actions = {lookup(flow.program.fn, step.callee)
               for flow in flows for step in flow.ir.steps if step.kind == "action"}
    sent = {e for a in actions if isinstance(a, Action) for e in _emitted_by(a)}
    return set(REQUIRED) | sent | configured


@functools.cache
def _emitted_by(action: Action) -> frozenset[str]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(action.fn)))
    except (OSError, TypeError, SyntaxError):
        return frozenset()
    names = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        position = {"emit": 0, "emit_for": 1}.get(node.func.attr)
        arg = None if position is None else _argument_at(node, position)
        name = dotted(arg) if arg is not None else None
        found = lookup(action.fn, name) if name else getattr(arg, "value", None)
        if isinstance(found, str):
            names.add(found)
    return frozenset(names)


def _argument_at(node: ast.Call, position: int) -> ast.expr | None:
    named = [k.value for k in node.keywords if k.arg == "event"]
    return named[0] if named else node.args[position] if position < len(node.args) else None


def _references(flow: Flow) -> Iterator[tuple[int, str, str]]:
    """(line, event, where) of each event the flow names."""
    for trigger in flow.triggers:
        yield decorator_line(flow, trigger.event), trigger.event, "trigger"
    for exit_ in flow.event_exits:
        yield decorator_line(flow, exit_.event), exit_.event, "exit"
    for step in flow.ir.steps:
        event = text(flow, step, 0, "event") if step.kind == "wait_for" else None
        if event is not None:
            yield step.line, event, "wait_for"


def unknown_events(flows: Sequence[Flow], known: set[str]) -> Iterator[Finding]:
    """A warning for each event nobody sends; an error when it is one edit away from a
    known event (a typo)."""
    for flow in flows:
        for line, event, where in _references(flow):
            if event in known:
                continue
            close = near(event, known)
            if close is not None:
                yield finding(flow, line, "error", "unknown-event",
                              f"unknown event {event!r} in a {where}; did you mean "
                              f"{close!r}?", f"write {close!r}")
            else:
                yield finding(flow, line, "warning", "unknown-event",
                              f"unknown event {event!r} in a {where}: neither the school, "
                              "an action nor the project's config sends it",
                              "if the app sends it, list it in pyproject.toml under "
                              "[tool.flowkit] events")


def _takes_values(flow: Flow, step: Step) -> bool:
    if callee(step) == "send_email":
        return True
    found = lookup(flow.program.fn, step.callee)
    return isinstance(found, Action) and any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in found.signature.parameters.values())


def _template_texts(flow: Flow, step: Step) -> Iterator[tuple[str, str]]:
    """(parameter, text) of each template the step's action is given as a literal."""
    found = lookup(flow.program.fn, step.callee) if step.kind == "action" else None
    if not isinstance(found, Action):
        return
    for name in found.templates:
        position = found.positional.index(name) if name in found.positional else -1
        given = text(flow, step, position, name)
        if given is not None:
            yield name, given


def _provided(flow: Flow, step: Step) -> frozenset[str] | None:
    """The placeholders the step's message is given; None when it cannot be told."""
    course = bool(flow.triggers) and all("course" in REQUIRED.get(t.event, ())
                                         for t in flow.triggers)
    given = keywords(step) if _takes_values(flow, step) else set()
    return None if given is None else PROVIDED | given | ({"course"} if course else set())


def _placeholders(source: str) -> set[str]:
    env = text_sandbox()  # the globals the renderer gives, so check and send agree
    return set(jinja2.meta.find_undeclared_variables(env.parse(source))) - set(env.globals)


def email_templates(flows: Sequence[Flow], root: Path) -> Iterator[Finding]:
    """An error for each ``send_email`` of a template not in ``root``, and for each
    placeholder a message uses that it is not given."""
    known = emails.names(root) if root.is_dir() else []
    for flow in flows:
        for step in flow.ir.steps:
            if callee(step) == "send_email":
                yield from _email(flow, step, root, known)
            for keyword, found in _template_texts(flow, step):
                yield from _text(flow, step, found, keyword)


def _email(flow: Flow, step: Step, root: Path, known: list[str]) -> Iterator[Finding]:
    name = text(flow, step, 0, "template")
    if name is None:
        return
    if name not in known:
        close = near(name, known, most=2)
        yield finding(flow, step.line, "error", "email-template",
                      f"no email template {name!r} in {root}/"
                      + (f"; did you mean {close!r}?" if close else ""),
                      f"add {root}/{name}.txt (or .html), or send an existing template")
        return
    path = next(p for p in (root / f"{name}.html", root / f"{name}.txt") if p.exists())
    try:
        used = _placeholders(path.read_text(encoding="utf-8"))
    except jinja2.TemplateSyntaxError as error:
        yield finding(flow, step.line, "error", "email-template",
                      f"email template {path}:{error.lineno}: {error.message}",
                      "fix the template's Jinja2 syntax")
        return
    provided = _provided(flow, step)
    missing = sorted(used - provided) if provided is not None else []
    if missing:
        yield finding(flow, step.line, "error", "placeholder",
                      f"email template {name!r} uses {_braced(missing)}, which this "
                      "send_email does not give it",
                      f"pass send_email({name!r}, {missing[0]}=...), or remove the "
                      f"placeholder from {path}")


def _text(flow: Flow, step: Step, found: str, keyword: str) -> Iterator[Finding]:
    try:
        used = _placeholders(found)
    except jinja2.TemplateSyntaxError as error:
        yield finding(flow, step.line, "error", "placeholder",
                      f"{callee(step)}'s {keyword}: {error.message}", "fix its Jinja2 syntax")
        return
    provided = _provided(flow, step)
    missing = sorted(used - provided) if provided is not None else []
    if missing:
        yield finding(flow, step.line, "error", "placeholder",
                      f"{callee(step)}'s {keyword} uses {_braced(missing)}, which it is "
                      "not given", f"use only {_braced(sorted(provided or ()))}")


def _braced(names: Sequence[str]) -> str:
    return ", ".join(f"{{{{ {n} }}}}" for n in names)

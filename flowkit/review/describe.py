"""Readable text for diagrams and docs: what a trigger or exit tests, how long a wait
lasts, what a ``wait_for`` waits for.

Conditions are read from source: a ``where=lambda event: ...`` shows as its body, a
function whose body is one ``return`` as the returned expression, with the values of its
closure variables filled in (so ``@on_inactive(days=14)`` reads ``event.get('days') ==
14 and ...`` rather than ``matches(...)``). Whatever cannot be read shows as ``...``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Any

from flowkit.compiler.conditions import condition_text
from flowkit.dsl.flow import EventExit, Exit, Flow, Trigger

MAX_LABEL = 80
_UNITS = ("days", "hours", "minutes", "seconds")
Literal = str | int | float | bool | None
_LITERALS = (str, int, float, bool, type(None))


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- conditions ------------------------------------------------------------------


def condition(fn: Callable[..., Any]) -> str:
    """The condition a ``where=`` or state-exit function tests, as source text."""
    return shorten(condition_text(fn))


def trigger_text(trigger: Trigger) -> str:
    where = f" where {condition(trigger.where)}" if trigger.where is not None else ""
    return f"on {trigger.event}{where}"


def track_trigger_text(flow: Flow) -> str:
    """A track has no ``@on``: it starts on the ``track.joined`` event that names it."""
    inactive = " (inactive: nobody is added)" if not flow.active else ""
    return f"on track.joined where track == {flow.name!r}{inactive}"


def start_texts(flow: Flow) -> list[str]:
    """What starts a run of ``flow``, one line per trigger."""
    texts = [trigger_text(t) for t in flow.triggers]
    if flow.kind == "track" and not texts:
        texts.append(track_trigger_text(flow))
    return texts


def exit_text(exit_: Exit) -> str:
    if isinstance(exit_, EventExit):
        same = f" (same {', '.join(exit_.same)})" if exit_.same else ""
        where = f" where {condition(exit_.where)}" if exit_.where is not None else ""
        return f"exit when {exit_.event}{same}{where}"
    return f"exit when {condition(exit_.predicate)}"


def rules_texts(flow: Flow) -> list[str]:
    """The flow's own journey rules, one line each: its goal, quiet hours, priority."""
    rules, lines = flow.rules, []
    if rules.goal is not None:
        ends = " (ends the run)" if rules.goal.ends_run else ""
        lines.append(f"goal: {rules.goal.describe()}{ends}")
    if rules.transactional:
        lines.append("transactional: no quiet hours or caps")
    elif rules.quiet_hours is None:
        lines.append("no quiet hours")
    elif rules.quiet_hours != "project":
        lines.append(f"quiet hours: {rules.quiet_hours.describe()}")
    if rules.when_over_cap != "defer" and not rules.transactional:
        lines.append(f"over a cap: {rules.when_over_cap}")
    return lines


# -- calls -------------------------------------------------------------------------


def _call(text: str) -> ast.Call | None:
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    return node if isinstance(node, ast.Call) else None


def _arguments(call: ast.Call, positional: Sequence[str]) -> dict[str, ast.expr] | None:
    """The call's arguments by parameter name; ``None`` when ``*args``/``**kwargs`` hide
    them."""
    if any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) > len(positional):
        return None
    named = dict(zip(positional, call.args, strict=False))
    for keyword in call.keywords:
        if keyword.arg is None:
            return None
        named[keyword.arg] = keyword.value
    return named


def _amount(name: str, expr: ast.expr) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int | float) \
            and not isinstance(expr.value, bool):
        if expr.value == 0:
            return None
        unit = name[:-1] if expr.value == 1 else name
        return f"{expr.value:g} {unit}"
    return f"{name}={ast.unparse(expr)}"  # `days=n`: "n days" would misread a name


def duration_text(units: dict[str, ast.expr]) -> str:
    """``{"days": 2, "hours": 1}`` as ``2 days 1 hour``."""
    parts = [_amount(name, units[name]) for name in _UNITS if name in units]
    return " ".join(p for p in parts if p)


def _timeout_text(expr: ast.expr) -> str:
    if isinstance(expr, ast.Dict) and all(isinstance(k, ast.Constant) and k.value in _UNITS
                                          for k in expr.keys):
        units = {str(k.value): v for k, v in zip(expr.keys, expr.values, strict=True)
                 if isinstance(k, ast.Constant)}
        return duration_text(units) or ast.unparse(expr)
    if isinstance(expr, ast.Call) and not expr.args and expr.keywords \
            and all(k.arg in _UNITS for k in expr.keywords):  # timedelta(days=3)
        return duration_text({str(k.arg): k.value for k in expr.keywords}) or ast.unparse(expr)
    return ast.unparse(expr)


def wait_text(call_text: str) -> str:
    """``wait(days=2)`` as ``wait 2 days``; ``wait(until=x)`` as ``wait until x``."""
    call = _call(call_text)
    args = _arguments(call, _UNITS) if call is not None else None
    if args is None:
        return shorten(call_text)
    if "until" in args:
        return shorten(f"wait until {ast.unparse(args['until'])}")
    return shorten(f"wait {duration_text(args)}") if duration_text(args) else shorten(call_text)


def wait_for_text(call_text: str) -> str:
    """``wait_for('user.visited', timeout={'days': 3})`` as ``wait for user.visited (up
    to 3 days)``."""
    call = _call(call_text)
    args = _arguments(call, ("event", "timeout", "where")) if call is not None else None
    if args is None or "event" not in args:
        return shorten(call_text)
    event = args["event"]
    name = event.value if isinstance(event, ast.Constant) else None
    text = f"wait for {name if isinstance(name, str) else ast.unparse(event)}"
    where = args.get("where")
    if isinstance(where, ast.Lambda):
        text += f" where {shorten(ast.unparse(where.body), 60)}"
    elif where is not None and not (isinstance(where, ast.Constant) and where.value is None):
        text += f" where {ast.unparse(where)}(event)"
    timeout = args.get("timeout")
    if timeout is not None and not (isinstance(timeout, ast.Constant) and timeout.value is None):
        text += f" (up to {_timeout_text(timeout)})"
    return shorten(text, MAX_LABEL + 20)


def branch_label(call_text: str, fallback: str) -> str:
    """A branch's label: its first argument, a string."""
    call = _call(call_text)
    args = _arguments(call, ("label", "condition")) if call is not None else None
    label = (args or {}).get("label")
    if isinstance(label, ast.Constant) and isinstance(label.value, str):
        return label.value
    return fallback


def split_arms(call_text: str) -> dict[str, str]:
    """A split's arms and their weights as written: ``{"a": "50", "b": "50"}``."""
    call = _call(call_text)
    if call is None:
        return {}
    return {k.arg: ast.unparse(k.value) for k in call.keywords
            if k.arg is not None and k.arg != "id"}


def split_text(call_text: str, fallback: str) -> str:
    """``split "subject line": a 50 / b 50``."""
    arms = " / ".join(f"{arm} {weight}" for arm, weight in split_arms(call_text).items())
    return f'split "{branch_label(call_text, fallback)}": {arms}'


def for_loop_text(setup_code: str, body_code: str, items: str) -> str | None:
    """``for x in <iterable>``, read back from the compiler's hidden-list statements:
    ``<items> = list(<iterable>)`` before the loop and ``x = <items>[...]`` in it."""
    iterable = target = None
    for code, want in ((setup_code, "setup"), (body_code, "body")):
        try:
            statements = ast.parse(code).body
        except SyntaxError:
            return None
        for stmt in statements:
            if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
                continue
            value = stmt.value
            if want == "setup" and ast.unparse(stmt.targets[0]) == items \
                    and isinstance(value, ast.Call) and len(value.args) == 1:
                iterable = ast.unparse(value.args[0])
            elif want == "body" and isinstance(value, ast.Subscript) \
                    and ast.unparse(value.value) == items:
                target = ast.unparse(stmt.targets[0])
    if iterable is None or target is None:
        return None
    return shorten(f"for {target} in {iterable}")

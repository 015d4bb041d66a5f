"""What a step's call says, read from its source text (``Step.call``) without running it.

An argument is known when it is a literal, or a name (dotted or not) of a value the
flow's module or closure defines and the flow does not rebind: ``add_to_track(NEXT)``
with ``NEXT = "week-1"`` at the top of the module names week-1.
"""

from __future__ import annotations

import ast

from flowkit.compiler.callees import MISSING, dotted, lookup
from flowkit.dsl.flow import Flow
from flowkit.ir import Step

DAY = 86400.0
_UNITS = {"weeks": 7 * DAY, "days": DAY, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0}
_LITERAL_ERRORS = (ValueError, TypeError, SyntaxError, MemoryError, RecursionError)


def callee(step: Step) -> str:
    """The name the step's callee is called by, without its module (``lms.send_email``
    is ``send_email``)."""
    return step.callee.rsplit(".", 1)[-1]


def call(step: Step) -> ast.Call | None:
    try:
        node = ast.parse(step.call, mode="eval").body
    except SyntaxError:
        return None
    return node if isinstance(node, ast.Call) else None


def argument(node: ast.Call, position: int, keyword: str) -> ast.expr | None:
    """The argument given for a parameter, by ``keyword`` or at ``position`` (-1 for a
    keyword-only parameter)."""
    for kw in node.keywords:
        if kw.arg == keyword:
            return kw.value
    before = node.args[:position + 1]
    if 0 <= position < len(node.args) and not any(isinstance(a, ast.Starred) for a in before):
        return node.args[position]
    return None


def value(flow: Flow, node: ast.expr | None) -> object:
    """The value of an argument when it can be told, else ``MISSING``."""
    if node is None:
        return MISSING
    name = dotted(node)
    if name is not None:
        head = name.split(".")[0]
        if head in flow.ir.locals or head == flow.program.run_param:
            return MISSING
        return lookup(flow.program.fn, name)
    try:
        return ast.literal_eval(node)
    except _LITERAL_ERRORS:
        return MISSING


def text(flow: Flow, step: Step, position: int, keyword: str) -> str | None:
    """A string argument of the step's call, when it can be told."""
    node = call(step)
    found = value(flow, argument(node, position, keyword)) if node else MISSING
    return found if isinstance(found, str) else None


def keywords(step: Step) -> set[str] | None:
    """The keyword arguments of the step's call; ``None`` when some are ``**`` unpacked."""
    node = call(step)
    if node is None or any(k.arg is None for k in node.keywords):
        return None
    return {k.arg for k in node.keywords if k.arg is not None}


def constant(test: str) -> object:
    """The value of a jump's test when it is a literal (``while True``), else MISSING."""
    try:
        return ast.literal_eval(test)
    except _LITERAL_ERRORS:
        return MISSING


def seconds(flow: Flow, step: Step) -> float:
    """How long a wait lets pass, when its duration can be told (a ``wait_for``: its
    timeout, the longest it waits); 0 when it cannot (``until=``, computed values)."""
    node = call(step)
    if node is None:
        return 0.0
    parts: dict[str, object] = {}
    if step.kind == "wait":
        if any(k.arg in (None, "until") for k in node.keywords):
            return 0.0
        parts = {unit: value(flow, argument(node, n, unit))
                 for n, unit in enumerate(("days", "hours", "minutes", "seconds"))}
    elif step.kind == "wait_for":
        timeout = argument(node, 1, "timeout")
        given = value(flow, timeout)
        if isinstance(given, dict):
            parts = given
        elif isinstance(timeout, ast.Call) and (dotted(timeout.func) or "").endswith("timedelta"):
            parts = {k.arg or "**": value(flow, k.value) for k in timeout.keywords}
    total = 0.0
    for unit, amount in parts.items():
        if amount is MISSING:
            continue
        if unit not in _UNITS or not isinstance(amount, int | float) or isinstance(amount, bool):
            return 0.0
        total += amount * _UNITS[unit]
    return total

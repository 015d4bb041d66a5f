"""Data is never a template: the check that a template text is written in the flow.

An action declares which of its parameters carry a template
(``@action(templates=("text",))``: ``send_notification``'s and ``send_message``'s
``text``, ``add_to_track``'s ``invitation`` and ``confirmation``). The text a flow
passes there must be written in its source: a string literal, a constant of the
module (a name the flow does not assign, holding a string when the flow compiles),
``None``, or a conditional choosing between such texts. Anything computed at run time
(an f-string with values, ``format``, ``+``, a local variable, an attribute of the run)
would let the user's own input be read as a template, so it is a ``CompileError`` at
the call, whose hint rewrites the text with placeholders: ``f"Hello
{run.event['nick']}"`` becomes ``"Hello {{ event.nick }}"``, and values the sandbox
fills in are never evaluated.
"""

from __future__ import annotations

import ast
import inspect

from flowkit.compiler.callees import MISSING, dotted, lookup, parameters
from flowkit.compiler.source import Source, bound_names
from flowkit.dsl.action import Action

# What the run's placeholders are called in a template, by the expression in the flow.
_RUN_PLACEHOLDERS = {"user.name": "user", "user.id": "user", "user.email": "email",
                     "user": "user"}


def check_template_arguments(source: Source) -> None:
    """Raise a ``CompileError`` at each awaited action call that passes a template
    parameter text computed at run time."""
    local = frozenset(bound_names(source.func))
    run_param = _run_param(source)
    for node in ast.walk(source.func):
        if not (isinstance(node, ast.Await) and isinstance(node.value, ast.Call)):
            continue
        name = dotted(node.value.func)
        value = lookup(source.fn, name) if name else MISSING
        if isinstance(value, Action) and value.templates:
            _check_call(source, node.value, name or value.name, value, local, run_param)


def _run_param(source: Source) -> str | None:
    args = source.func.args.posonlyargs + source.func.args.args
    return args[0].arg if args else None


def _check_call(source: Source, call: ast.Call, name: str, action: Action,
                local: frozenset[str], run_param: str | None) -> None:
    params = parameters(action) or []
    for template in action.templates:
        given = _argument(call, params, template)
        if given is None:
            continue
        bad = _computed(source, given, local)
        if bad is not None:
            raise source.error(
                bad, f"{name}'s {template} is a template, and this text is computed when "
                "the flow runs, so data in it would be read as a template",
                hint=_hint(bad, name, template, run_param))


def _argument(call: ast.Call, params: list[inspect.Parameter], template: str) -> ast.expr | None:
    """The expression ``call`` passes for parameter ``template``; a ``*``/``**``
    unpacking that may pass it is returned as itself."""
    for keyword in call.keywords:
        if keyword.arg == template:
            return keyword.value
    names = [p.name for p in params
             if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                           inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    position = names.index(template) if template in names else None
    for index, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            return arg if position is not None and index <= position else None
        if index == position:
            return arg
    return next((k.value for k in call.keywords if k.arg is None), None)


def _computed(source: Source, node: ast.expr, local: frozenset[str]) -> ast.expr | None:
    """The part of ``node`` computed at run time, or None when it is written in the
    source."""
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str)):
        return None
    if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in node.values):
        return None
    if isinstance(node, ast.IfExp):
        return _computed(source, node.body, local) or _computed(source, node.orelse, local)
    name = dotted(node) if isinstance(node, ast.Name | ast.Attribute) else None
    if name is not None and name.split(".")[0] not in local:
        value = lookup(source.fn, name)
        if value is None or isinstance(value, str):
            return None
    return node


def _hint(node: ast.expr, action: str, template: str, run_param: str | None) -> str:
    """How to write the text with placeholders instead."""
    if isinstance(node, ast.JoinedStr):
        text = "".join(_as_template(part, run_param) for part in node.values)
        return (f"write it with placeholders, `{action}({text!r})`: the sandbox fills in "
                "the values, and never reads them as a template")
    return (f"write the {template} in the flow as a literal with placeholders, e.g. "
            f"`{action}(\"Hello {{{{ event.nick }}}}\")`; {{{{ user }}}}, {{{{ email }}}}, "
            "{{ event.<field> }} are given, and other values are keyword arguments where "
            "the action takes them")


def _as_template(part: ast.expr, run_param: str | None) -> str:
    if isinstance(part, ast.Constant):
        return str(part.value)
    if isinstance(part, ast.FormattedValue):
        return f"{{{{ {_placeholder(part.value, run_param)} }}}}"
    return "{{ value }}"


def _placeholder(node: ast.expr, run_param: str | None) -> str:
    """``run.event['nick']`` is ``event.nick``; ``run.user.name`` is ``user``; anything
    else is a value to pass by name."""
    path: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            path.insert(0, node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, str):
            path.insert(0, node.slice.value)
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "get" and node.args \
                and isinstance(node.args[0], ast.Constant):
            path.insert(0, str(node.args[0].value))
            node = node.func.value
        else:
            break
    if isinstance(node, ast.Name) and node.id == run_param and path:
        dotted_path = ".".join(path)
        if path[0] == "event" and all(p.isidentifier() for p in path):
            return dotted_path
        if dotted_path in _RUN_PLACEHOLDERS:
            return _RUN_PLACEHOLDERS[dotted_path]
    if isinstance(node, ast.Name) and not path:
        return node.id
    return "value"

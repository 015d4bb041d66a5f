"""What a call in a flow calls.

A called name is looked up as the flow would see it: its closure, then its module's
globals, then builtins. The value found says what kind of step an awaited call is (an
action or a primitive) and which parameters the call binds its arguments to. A name not
yet defined when the flow compiles is kept as a ``LateName``, checked when the flow is
loaded.
"""

from __future__ import annotations

import ast
import builtins
import inspect
from collections.abc import Callable
from typing import Any, cast

import attrs

from flowkit.compiler.source import Source
from flowkit.dsl.action import Action
from flowkit.dsl.primitives import PRIMITIVES
from flowkit.errors import CompileError
from flowkit.ir import StepKind

MISSING = object()  # what `lookup` finds for a name not (yet) defined
SLEEPS = {("time", "sleep"), ("asyncio", "sleep")}


@attrs.frozen
class LateName:
    """A called name not yet defined when the flow compiled, checked when it is loaded.

    ``awaited`` calls were taken for actions; ``first`` is the literal first argument
    their step id was given (``None`` when it has none), and ``call`` the call, so the
    action's signature can confirm it.
    """

    name: str
    line: int
    column: int
    awaited: bool
    first: str | None = None
    call: ast.Call | None = attrs.field(default=None, eq=False, repr=False)


def dotted(node: ast.expr) -> str | None:
    """The name a call is made by, dotted (``crm.sync``), or ``None`` for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def lookup(fn: Callable[..., Any], name: str) -> object:
    """The value of a dotted name as ``fn`` sees it now, or ``MISSING``."""
    head, *rest = name.split(".")
    value: object = MISSING
    closure = fn.__closure__ or ()
    for var, cell in zip(fn.__code__.co_freevars, closure, strict=True):
        if var == head:
            try:
                value = cell.cell_contents
            except ValueError:
                return MISSING
    if value is MISSING:
        value = fn.__globals__.get(head, MISSING)
    if value is MISSING:
        value = getattr(builtins, head, MISSING)
    for attr in rest:
        if value is MISSING:
            return MISSING
        value = getattr(value, attr, MISSING)
    return value


def kind_of(value: object) -> StepKind | None:
    """The kind of step an awaited call of ``value`` is; ``None`` if it is not a step."""
    if isinstance(value, Action):
        return "action"
    try:
        kind = PRIMITIVES.get(value)
    except TypeError:  # unhashable
        return None
    return kind  # type: ignore[return-value]


def parameters(value: object) -> list[inspect.Parameter] | None:
    """The parameters a call of an action or primitive binds its arguments to (without
    ``id``, which the compiler reads, and an action's ``run``); ``None`` if unknown."""
    if isinstance(value, Action):
        params = list(value.signature.parameters.values())
        if value.takes_run:
            params = [p for p in params if p.name != "run"]
    elif kind_of(value) is not None:
        params = list(inspect.signature(cast(Callable[..., Any], value)).parameters.values())
    else:
        return None
    return [p for p in params if p.name != "id"]


def resolve(source: Source, node: ast.Await) -> tuple[ast.Call, str, object, StepKind]:
    """What an awaited call calls: (call, callee as written, value, step kind).

    A name not yet defined is taken for an action, and its value is ``MISSING``.
    """
    call = node.value
    if not isinstance(call, ast.Call):
        raise source.error(node, f"`await {ast.unparse(call)}` is not a call of a flowkit "
                           "primitive or action",
                           hint="await wait(...), wait_for(...), branch(...) or an @action")
    callee = dotted(call.func)
    if callee is None:
        raise source.error(node, f"cannot tell what `await {ast.unparse(call)}` calls",
                           hint="call the action or primitive by its name")
    value = lookup(source.fn, callee)
    if value is MISSING:  # checked when the flow is loaded
        return call, callee, value, "action"
    kind = kind_of(value)
    if kind is None:
        raise not_awaitable(callee, source.name, source.file, node.lineno, node.col_offset)
    return call, callee, value, kind


def not_awaitable(name: str, flow: str, file: str, line: int, column: int) -> CompileError:
    """The error for ``await name(...)`` where ``name`` is no action or primitive."""
    if (name.split(".")[0], name.rsplit(".", 1)[-1]) in SLEEPS:
        return CompileError(
            f"`await {name}(...)` would hold a worker for the whole delay",
            flow=flow, file=file, line=line, column=column,
            hint="use `await wait(seconds=...)`, a durable wait that costs a row, not a worker",
        )
    return CompileError(
        f"`await {name}(...)`: {name} is not a flowkit primitive or action",
        flow=flow, file=file, line=line, column=column,
        hint="await only wait, wait_for, branch or a function decorated with @action",
    )

"""How a step's id is chosen (see docs/step-ids.md).

A step takes its id from its call: a pinned ``id="..."``, a branch's label, or an
automatic id made of the name the callee is called by and its literal first argument
(``send_email:welcome``), or of a wait's duration as written (``wait:2d``). Pinned ids,
labels and the first of each automatic id are claimed before any step is numbered;
repeats of an automatic id are numbered in source order (``#2``, ``#3``, ...), skipping
every claimed id, and two claims on one id are a compile error.
"""

from __future__ import annotations

import ast
import inspect
from typing import Literal

import attrs

from flowkit.compiler.callees import parameters, resolve
from flowkit.compiler.source import Source, walk_scope
from flowkit.errors import CompileError

Role = Literal["pinned", "label", "auto"]

_UNITS = (("days", "d"), ("hours", "h"), ("minutes", "m"), ("seconds", "s"))
SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


@attrs.frozen
class Claim:
    """A step that takes an id as it is: pinned, a branch label, or the first step with
    a given automatic id."""

    node: ast.Await
    role: Role

    def describe(self, step_id: str) -> str:
        if self.role == "label":
            return f"the branch labelled {step_id!r} on line {self.node.lineno}"
        assert isinstance(self.node.value, ast.Call)
        return f"step `{ast.unparse(without_id(self.node.value))}` on line {self.node.lineno}"


class StepIds:
    """The ids of one flow's steps: ``claim`` them all first, then ``take`` each step's
    id as the step is compiled, in source order."""

    def __init__(self, source: Source) -> None:
        self.source = source
        # The ids steps take as they are (found before lowering, so numbered ids can
        # avoid them), and the ids given so far.
        self.claims: dict[str, list[Claim]] = {}
        self.numbered: dict[str, int] = {}
        self.given: set[str] = set()

    def base(self, node: ast.Await) -> tuple[str, Role]:
        """The id a step takes from its call, before numbering (see docs/step-ids.md)."""
        call, callee, value, kind = resolve(self.source, node)
        pinned = next((k.value for k in call.keywords if k.arg == "id"), None)
        if pinned is not None:
            if not (isinstance(pinned, ast.Constant) and isinstance(pinned.value, str)
                    and pinned.value):
                raise self.source.error(pinned, "a step id must be a non-empty string literal")
            return pinned.value, "pinned"
        if kind in ("branch", "split"):
            label = first_argument(call, parameters(value))
            if not (isinstance(label, ast.Constant) and isinstance(label.value, str)
                    and label.value):
                example = '"completed a unit?", ...' if kind == "branch" else \
                    '"subject line", a=50, b=50'
                raise self.source.error(call, f"a {kind} label must be a string literal",
                                        hint=f'write `await {kind}({example})`')
            return label.value, "label"
        if kind == "wait":
            return "wait:" + describe_wait(call), "auto"
        # An action or wait_for: the name it is called by, whatever the action calls
        # itself, so that an id never depends on where or how the action is defined.
        name = callee.rsplit(".", 1)[-1]
        first = literal(first_argument(call, parameters(value)))
        return (name if first is None else f"{name}:{first}"), "auto"

    def claim(self) -> None:
        """Find the ids steps take as they are, before any step is numbered."""
        seen: set[str] = set()
        awaits = sorted((n for n in walk_scope(self.source.func) if isinstance(n, ast.Await)),
                        key=lambda n: (n.lineno, n.col_offset))
        for node in awaits:
            try:
                step_id, role = self.base(node)
            except CompileError:
                continue  # raised again, in source order, when the step is compiled
            if role == "auto":
                if step_id in seen:
                    continue  # a repeat: numbered
                seen.add(step_id)
            self.claims.setdefault(step_id, []).append(Claim(node, role))

    def take(self, node: ast.Await) -> str:
        """The id of the step ``node``, compiled now: as claimed, or the next number."""
        base, _ = self.base(node)
        claims = self.claims.get(base, [])
        mine = next((c for c in claims if c.node is node), None)
        if mine is None:  # a repeat of an automatic id: the next free number
            number = self.numbered.get(base, 1)
            step_id = base
            while step_id in self.claims or step_id in self.given:
                number += 1
                step_id = f"{base}#{number}"
            self.numbered[base] = number
        else:
            step_id = base
            if claims[0] is not mine:
                raise self._clash(base, claims[0], mine)
        self.given.add(step_id)
        return step_id

    def _clash(self, step_id: str, first: Claim, second: Claim) -> CompileError:
        error = self.source.error
        at = second.node.value
        other = first.describe(step_id)
        if first.role == second.role == "label":
            return error(at, f"two branches are labelled {step_id!r}",
                         hint="a branch's label is its id: make each label unique")
        if second.role == "label":
            return error(at, f"branch labelled {step_id!r}: the id {step_id!r} is "
                         f"already used by {other}",
                         hint="a branch's label is its id: choose another label")
        if first.role == "label":
            return error(at, f"the id {step_id!r} is already used by {other}",
                         hint='pin another id with id="...", or change the label')
        if first.role == second.role:
            return error(at, f"two steps have the id {step_id!r}",
                         hint="pinned ids must be unique within a flow")
        return error(at, f"two steps have the id {step_id!r}: this one and {other}",
                     hint='pin another id on one of them with id="..."')


def without_id(call: ast.Call) -> ast.Call:
    """The call without its pinned ``id=``, as the step runs it."""
    return ast.copy_location(
        ast.Call(func=call.func, args=call.args,
                 keywords=[k for k in call.keywords if k.arg != "id"]), call)


def first_argument(call: ast.Call, params: list[inspect.Parameter] | None) -> ast.expr | None:
    """The expression a call passes to the callee's first parameter, by position or by
    keyword. With no signature (a name not yet defined), the first positional argument,
    else the first keyword argument."""
    args = call.args
    named = [k for k in call.keywords if k.arg is not None and k.arg != "id"]
    if params is None:
        if args:
            return None if isinstance(args[0], ast.Starred) else args[0]
        return named[0].value if named else None
    if not params or params[0].kind is inspect.Parameter.VAR_KEYWORD:
        return None
    first = params[0]
    if args and first.kind is not inspect.Parameter.KEYWORD_ONLY:
        return None if isinstance(args[0], ast.Starred) else args[0]
    if first.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
        return next((k.value for k in named if k.arg == first.name), None)
    return None


def literal(node: ast.expr | None) -> str | None:
    """A string or number literal as it goes into a step id; ``None`` for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float) \
            and not isinstance(node.value, bool):
        return f"{node.value}"
    return None


def durations(call: ast.Call) -> dict[str, ast.expr]:
    """A wait's duration arguments by unit, positional or keyword."""
    values = dict(zip(SECONDS, call.args, strict=False))
    values.update({k.arg: k.value for k in call.keywords if k.arg in SECONDS})
    return values


def describe_wait(call: ast.Call) -> str:
    """A wait's duration as its id shows it: ``2d``, ``1h30m``, ``until`` or ``dynamic``."""
    if any(k.arg == "until" for k in call.keywords):
        return "until"
    values = durations(call)
    parts = []
    for unit, suffix in _UNITS:
        node = values.get(unit)
        if node is None:
            continue
        if not (isinstance(node, ast.Constant) and isinstance(node.value, int | float)):
            return "dynamic"
        parts.append(f"{node.value:g}{suffix}")
    return "".join(parts) or "0s"

"""The condition a ``where=`` or state-exit function tests, read back from its source.

A ``where=lambda event: ...`` reads as its body, a function whose body is one ``return``
as the returned expression, with the values of its closure variables filled in (so
``@on_inactive(days=14)`` reads ``event.get('days') == 14 and ...`` rather than
``matches(...)``). Any other function reads as ``name(...)``, and a lambda whose source
cannot be found as ``...``. The diagrams show this text and a flow's version covers it.
"""

from __future__ import annotations

import ast
import copy
import functools
import linecache
from collections.abc import Callable
from types import CodeType
from typing import Any

Literal = str | int | float | bool | None
_LITERALS = (str, int, float, bool, type(None))


def condition_text(fn: Callable[..., Any]) -> str:
    """What ``fn`` tests, as one line of source text."""
    expr = _expression(fn)
    if expr is not None:
        return " ".join(ast.unparse(expr).split())
    name = getattr(fn, "__name__", "<lambda>")
    return "..." if name == "<lambda>" else f"{name}(...)"


def _expression(fn: Callable[..., Any]) -> ast.expr | None:
    code = getattr(fn, "__code__", None)
    if not isinstance(code, CodeType):
        return None
    linecache.checkcache(code.co_filename)
    tree = _parse("".join(linecache.getlines(code.co_filename)))
    if tree is None:
        return None
    expr = _lambda_body(tree, code) if code.co_name == "<lambda>" else _returned(tree, code)
    if expr is None:
        return None
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) \
            and expr.func.id == "bool" and len(expr.args) == 1 and not expr.keywords:
        expr = expr.args[0]  # `return bool(x)` reads as x
    closure = dict(zip(code.co_freevars, getattr(fn, "__closure__", None) or (), strict=True))
    values: dict[str, Literal] = {}
    for name, cell in closure.items():
        try:
            value = cell.cell_contents
        except ValueError:  # not yet set
            continue
        if isinstance(value, _LITERALS):
            values[name] = value
    # The tree is cached: fill in a copy.
    return _FillIn(values).visit(copy.deepcopy(expr)) if values else expr


@functools.lru_cache(maxsize=64)
def _parse(source: str) -> ast.Module | None:
    if not source:
        return None
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def _lambda_body(tree: ast.Module, code: CodeType) -> ast.expr | None:
    params = list(code.co_varnames[: code.co_argcount])
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)
             and n.lineno == code.co_firstlineno and [a.arg for a in n.args.args] == params]
    if len(found) > 1:
        # Several lambdas on one line: the one whose body holds the code's first spot.
        spots = [(line, col) for line, _, col, end in code.co_positions()
                 if line is not None and col is not None and end]
        if spots:
            spot = spots[0]
            found = [n for n in found if (n.body.lineno, n.body.col_offset) <= spot
                     <= (n.body.end_lineno or n.body.lineno, n.body.end_col_offset or 0)]
    return found[0].body if len(found) == 1 else None


def _returned(tree: ast.Module, code: CodeType) -> ast.expr | None:
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) \
                or node.name != code.co_name:
            continue
        lines = {node.lineno, *(d.lineno for d in node.decorator_list)}
        if code.co_firstlineno not in lines:
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
            return body[0].value
        return None
    return None


class _FillIn(ast.NodeTransformer):
    def __init__(self, values: dict[str, Literal]) -> None:
        self.values = values

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if isinstance(node.ctx, ast.Load) and node.id in self.values:
            return ast.copy_location(ast.Constant(self.values[node.id]), node)
        return node

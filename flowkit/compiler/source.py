"""A flow's source as the compiler reads it.

``read_source`` parses a flow's ``async def`` with its real line and column numbers into a
``Source``, which locates compile errors in it. The walks over the tree stay inside the
flow's own scope: its awaits, its local names, and nothing of the functions, lambdas and
classes defined in it.
"""

from __future__ import annotations

import ast
import inspect
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from flowkit.errors import CompileError, DefinitionError

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@attrs.frozen(eq=False)
class Source:
    """A flow being compiled: its function, the function's parsed ``async def``, the
    flow's name and the file it is defined in."""

    fn: Callable[..., Any] = attrs.field(repr=False)
    func: ast.AsyncFunctionDef = attrs.field(repr=False)
    name: str
    file: str

    def error(self, node: ast.AST, message: str, hint: str = "") -> CompileError:
        """A ``CompileError`` located at ``node`` (at the ``def`` if it has no line)."""
        return CompileError(
            message, flow=self.name, file=self.file,
            line=getattr(node, "lineno", self.func.lineno),
            column=getattr(node, "col_offset", 0), hint=hint,
        )


def read_source(fn: Callable[..., Any], name: str) -> Source:
    """Read and parse the source of ``fn``, the ``async def`` of the flow ``name``."""
    try:
        lines, first_line = inspect.getsourcelines(fn)
        file = inspect.getsourcefile(fn) or "<unknown>"
    except (OSError, TypeError) as error:
        raise DefinitionError(
            f"cannot read the source of flow {name!r} ({error}); flows must be defined "
            "in a file"
        ) from error
    return Source(fn=fn, func=_parse_function("".join(lines), first_line), name=name,
                  file=file)


def _parse_function(source: str, first_line: int) -> ast.AsyncFunctionDef:
    """Parse a function's source, keeping its real line and column numbers.

    The source of a flow defined inside a function or class is indented. It is parsed as
    the body of an ``if True:`` rather than dedented as text, which would also change
    the continuation lines of multi-line string literals.
    """
    indented = source[:1].isspace()
    tree = ast.parse("if True:\n" + source if indented else source)
    ast.increment_lineno(tree, first_line - (2 if indented else 1))
    top = tree.body[0]
    func = top.body[0] if indented and isinstance(top, ast.If) else top
    assert isinstance(func, ast.AsyncFunctionDef)
    return func


def walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below ``node`` that belongs to the same function scope."""
    for child in ast.iter_child_nodes(node):
        yield child
        if not isinstance(child, SCOPES):
            yield from walk_scope(child)


def first_await(node: ast.AST) -> ast.Await | None:
    """The first await in ``node`` or below it, in the same function scope."""
    return next((n for n in itertools.chain([node], walk_scope(node))
                 if isinstance(n, ast.Await)), None)


def has_await(node: ast.AST) -> bool:
    return first_await(node) is not None


def bound_names(func: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[str]:
    """The function's parameters and local variables, in order of first binding."""
    args = func.args
    params = [*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg]
    names: dict[str, None] = {arg.arg: None for arg in params if arg is not None}
    for node in walk_scope(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names[node.id] = None
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] = None
        elif isinstance(node, ast.alias):
            names[(node.asname or node.name).split(".")[0]] = None
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            names[node.name] = None
    return list(names)

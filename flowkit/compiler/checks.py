"""The checks that reject what a flow cannot resume, before its body is lowered.

A flow takes one parameter, the run. No ``await`` may stand in a try or with block, a
comprehension, a nested function or lambda, or a ``match``; no ``async for``/``async
with``, ``yield``, ``global`` or ``nonlocal``; no ``time.sleep``/``asyncio.sleep``; no
call of an action or primitive left unawaited. A wait's literal duration must be
positive. A template parameter is given text written in the flow (``texts``). Each
check raises a ``CompileError`` located at the offending node.
"""

from __future__ import annotations

import ast

from flowkit.compiler.callees import MISSING, SLEEPS, LateName, dotted, kind_of, lookup
from flowkit.compiler.source import COMPREHENSIONS, Source, bound_names, has_await
from flowkit.compiler.step_ids import SECONDS, durations
from flowkit.compiler.texts import check_template_arguments

_CONTEXT_HINTS = {
    "a try block": "move the await out of the try; put the code that may fail in an @action",
    "a with block": "move the await out of the with block",
    "a comprehension": "use a for loop over a list",
    "a nested function": "awaits belong in the flow itself; make the helper an @action",
    "a lambda": "awaits belong in the flow itself",
}


def check_signature(source: Source) -> str | None:
    """Check that the flow takes one parameter at most; return its name (the run's)."""
    func = source.func
    args = func.args
    positional = args.posonlyargs + args.args
    if args.vararg or args.kwarg or args.kwonlyargs or len(positional) > 1:
        raise source.error(
            func, "a flow takes one parameter, the run",
            hint=f"write `async def {func.name}(run):`",
        )
    return positional[0].arg if positional else None


def check_body(source: Source) -> list[LateName]:
    """Check the whole body of the flow, in the functions defined in it too.

    Returns the called names not yet defined, checked when the flow is loaded.
    """
    checker = _Checker(source)
    checker.nodes(source.func, None, helper=False, local=frozenset(bound_names(source.func)))
    check_template_arguments(source)
    return checker.late


def check_duration(source: Source, call: ast.Call) -> None:
    """Reject a wait whose duration, written as literals, is not positive."""
    total = _literal_duration(call)
    if total is not None and total <= 0:
        raise source.error(call, "a wait needs a positive duration",
                           hint="write e.g. `await wait(days=1)`; to go on at once, "
                           "leave the wait out")


class _Checker:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.awaited = {id(n.value) for n in ast.walk(source.func) if isinstance(n, ast.Await)}
        self.late: list[LateName] = []

    def nodes(self, parent: ast.AST, context: str | None, helper: bool,
              local: frozenset[str]) -> None:
        """Reject what cannot be resumed, wherever it stands in the body.

        ``context`` names the construct an await may not stand in; ``helper`` is true
        inside a function defined in the flow, which runs as ordinary Python: it may
        yield or call ``time.sleep``, as only the flow's own scope is suspended.
        ``local`` holds the names that are local variables where ``parent`` stands.
        """
        error = self.source.error
        for node in ast.iter_child_nodes(parent):
            if isinstance(node, ast.Nonlocal) or (isinstance(node, ast.Global) and not helper):
                raise error(
                    node, f"`{type(node).__name__.lower()}` in a flow cannot be resumed",
                    hint="keep state in local variables; they are saved across waits",
                )
            if isinstance(node, ast.Global):
                # A function defined in a flow runs against the namespace of one resume,
                # which holds a copy of the module's globals: `global` would change the copy.
                raise error(
                    node, "`global` in a function defined in a flow cannot change the "
                    "module's variable: the function runs against a copy of the module's names",
                    hint="return the value from the function and keep it in a local variable",
                )
            if isinstance(node, ast.Yield | ast.YieldFrom) and not helper:
                raise error(node, "a flow cannot yield", hint="use `await wait_for(...)`")
            if isinstance(node, ast.Call):
                self.call(node, helper, local)
            if isinstance(node, ast.Await) and context is not None:
                raise error(node, f"`await` inside {context} cannot be resumed",
                            hint=_CONTEXT_HINTS[context])
            if isinstance(node, ast.AsyncFor):
                raise error(node, "`async for` cannot be resumed in a flow",
                            hint="consume the async iterator in an @action that returns "
                            "a list, and use a plain for over a list")
            if isinstance(node, ast.AsyncWith):
                raise error(node, "`async with` cannot be resumed in a flow",
                            hint="move the `async with` and the code it guards into an "
                            "@action")
            inner, inner_helper, inner_local = context, helper, local
            if isinstance(node, ast.Try | ast.TryStar):
                inner = inner or "a try block"
            elif isinstance(node, ast.With):
                inner = inner or "a with block"
            elif isinstance(node, COMPREHENSIONS):
                inner = "a comprehension"
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                inner = "a lambda" if isinstance(node, ast.Lambda) else "a nested function"
                inner_helper, inner_local = True, local | set(bound_names(node))
            elif isinstance(node, ast.Match) and has_await(node):
                raise error(node, "`match` with an await inside cannot be resumed",
                            hint="write it as if/elif")
            self.nodes(node, inner, inner_helper, inner_local)

    def call(self, call: ast.Call, helper: bool, local: frozenset[str]) -> None:
        """Reject a sleep in the flow's own scope and a step called without ``await``."""
        name = dotted(call.func)
        if name is None:
            return
        head = name.split(".")
        resolved = lookup(self.source.fn, name)
        if not helper and ((head[0], head[-1]) in SLEEPS or _is_sleep(resolved)):
            raise self.source.error(
                call, f"`{name}(...)` blocks a worker for the whole delay",
                hint="use `await wait(seconds=...)`: a durable wait costs a row",
            )
        if id(call) in self.awaited or head[0] in local:
            return
        if kind_of(resolved) is not None:
            raise self.source.error(call, f"`{name}(...)` is not awaited, so it does nothing",
                                    hint=f"write `await {name}(...)`")
        if resolved is MISSING:  # perhaps an action defined further down
            self.late.append(LateName(name, call.lineno, call.col_offset, awaited=False))


def _is_sleep(value: object) -> bool:
    import asyncio
    import time

    return value is time.sleep or value is asyncio.sleep


def _literal_duration(call: ast.Call) -> float | None:
    """A wait's duration in seconds when every part of it is a number literal."""
    if "until" in {k.arg for k in call.keywords} or any(k.arg is None for k in call.keywords) \
            or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    total = 0.0
    for unit, node in durations(call).items():
        try:
            value = ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError):
            return None
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        total += value * SECONDS[unit]
    return total

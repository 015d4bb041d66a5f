"""Compile a flow's ``async def`` into a resumable step machine (see docs/compiler.md).

Code between awaits stays Python: runs of statements with no await become ``Exec``
nodes compiled once with ``compile()``. A control construct that contains an await is
lowered to ``JumpIf``/``Jump`` nodes whose tests are compiled expressions; a ``for``
over a list with an await inside keeps its list and index as hidden locals. Each awaited
call becomes a ``Step`` with a stable id (see docs/step-ids.md). Whatever cannot be made
resumable is a ``CompileError`` naming file, line and column.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import itertools
from collections.abc import Callable, Iterator
from types import CodeType
from typing import Any, Literal, cast

import attrs

from flowkit.dsl.action import Action
from flowkit.dsl.primitives import PRIMITIVES
from flowkit.errors import CompileError, DefinitionError
from flowkit.ir import End, Exec, FlowIR, Jump, JumpIf, Node, Step, StepKind

RESULT = "__fk_result"  # holds an awaited call's result until it is assigned
TEST = "__fk_test"  # holds an awaited branch's answer until the jump reads it
_SLEEPS = {("time", "sleep"), ("asyncio", "sleep")}


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


@attrs.frozen(eq=False)
class Program:
    """A compiled flow: its IR plus the code objects that execute it."""

    ir: FlowIR
    code: tuple[CodeType | None, ...] = attrs.field(repr=False)
    assign: tuple[CodeType | None, ...] = attrs.field(repr=False)
    run_param: str | None
    fn: Callable[..., Any] = attrs.field(repr=False)
    late_names: tuple[LateName, ...] = attrs.field(repr=False)
    file: str

    def namespace(self, local_values: dict[str, Any], run: object) -> dict[str, Any]:
        """The dict one resume executes against: module globals, closure, locals, run."""
        ns = dict(self.fn.__globals__)
        closure = self.fn.__closure__
        if closure:
            for name, cell in zip(self.fn.__code__.co_freevars, closure, strict=True):
                with contextlib.suppress(ValueError):  # an enclosing variable not yet set
                    ns[name] = cell.cell_contents
        ns.update(local_values)
        if self.run_param:
            ns[self.run_param] = run
        return ns

    def check_late_names(self) -> None:
        """Check the called names that were not yet defined when the flow compiled."""
        for late in self.late_names:
            self._check_late(late, _lookup(self.fn, late.name))

    def _check_late(self, late: LateName, value: object) -> None:
        def error(message: str, hint: str) -> CompileError:
            return CompileError(message, flow=self.ir.name, file=self.file, line=late.line,
                                column=late.column, hint=hint)

        if not late.awaited:
            if _kind_of(value) is not None:
                raise error(f"`{late.name}(...)` is not awaited, so it does nothing",
                            f"write `await {late.name}(...)`")
            return
        if value is _MISSING:
            raise error(f"`await {late.name}(...)`: {late.name} is not defined",
                        "import the action or primitive into the flow's module")
        if _kind_of(value) is None:
            raise _not_awaitable(late.name, self.ir.name, self.file, late.line, late.column)
        if not isinstance(value, Action):
            raise error(f"`await {late.name}(...)`: the primitive {late.name} was imported "
                        "after the flow, so the flow took it for an action",
                        "import flowkit's primitives at the top of the module")
        assert late.call is not None
        first = _literal(_first_argument(late.call, _parameters(value)))
        if first != late.first:
            raise error(
                f"the step id of `await {late.name}(...)` was made without the action's "
                f"signature, as {late.name} is defined after the flow: it took {late.first!r} "
                f"for the first argument, which is {first!r}",
                "define or import the action above the flow, or pass its first argument "
                "by position",
            )


def compile_function(fn: Callable[..., Any], name: str) -> Program:
    """Compile ``fn`` (an ``async def``) into a ``Program`` named ``name``."""
    # An `async def` with a `yield` in it is an async generator: the compiler names the
    # yield as the problem, with its location.
    if not (inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)):
        raise DefinitionError(
            f"{getattr(fn, '__qualname__', fn)!r} is not an `async def`: flows are "
            "async functions so that their steps can be awaited"
        )
    try:
        lines, first_line = inspect.getsourcelines(fn)
        file = inspect.getsourcefile(fn) or "<unknown>"
    except (OSError, TypeError) as error:
        raise DefinitionError(
            f"cannot read the source of flow {name!r} ({error}); flows must be defined "
            "in a file"
        ) from error
    func = _parse_function("".join(lines), first_line)
    return _Compiler(fn, func, name, file).compile()


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


_MISSING = object()


def _lookup(fn: Callable[..., Any], dotted: str) -> object:
    head, *rest = dotted.split(".")
    value: object = _MISSING
    closure = fn.__closure__ or ()
    for var, cell in zip(fn.__code__.co_freevars, closure, strict=True):
        if var == head:
            try:
                value = cell.cell_contents
            except ValueError:
                return _MISSING
    if value is _MISSING:
        value = fn.__globals__.get(head, _MISSING)
    if value is _MISSING:
        import builtins

        value = getattr(builtins, head, _MISSING)
    for attr in rest:
        if value is _MISSING:
            return _MISSING
        value = getattr(value, attr, _MISSING)
    return value


def _kind_of(value: object) -> StepKind | None:
    if isinstance(value, Action):
        return "action"
    try:
        kind = PRIMITIVES.get(value)
    except TypeError:  # unhashable
        return None
    return kind  # type: ignore[return-value]


def _not_awaitable(name: str, flow: str, file: str, line: int, column: int) -> CompileError:
    if (name.split(".")[0], name.rsplit(".", 1)[-1]) in _SLEEPS:
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


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below ``node`` that belongs to the same function scope."""
    for child in ast.iter_child_nodes(node):
        yield child
        if not isinstance(child, _SCOPES):
            yield from _walk_scope(child)


def _first_await(node: ast.AST) -> ast.Await | None:
    """The first await in ``node`` or below it, in the same function scope."""
    return next((n for n in itertools.chain([node], _walk_scope(node))
                 if isinstance(n, ast.Await)), None)


def _has_await(node: ast.AST) -> bool:
    return _first_await(node) is not None


def _escape(stmt: ast.stmt) -> ast.Return | ast.Break | ast.Continue | None:
    """The first ``return`` in ``stmt``, or ``break``/``continue`` of a loop outside it."""

    def visit(node: ast.AST, in_loop: bool) -> ast.Return | ast.Break | ast.Continue | None:
        if isinstance(node, _SCOPES):
            return None
        if isinstance(node, ast.Return):
            return node
        if isinstance(node, ast.Break | ast.Continue):
            return None if in_loop else node
        if isinstance(node, ast.For | ast.AsyncFor | ast.While):
            # A loop's `else` runs outside the loop as far as break/continue go.
            found = (visit(s, True) for s in node.body)
            rest = (visit(s, in_loop) for s in node.orelse)
            return next((n for n in itertools.chain(found, rest) if n), None)
        return next((n for n in (visit(c, in_loop) for c in ast.iter_child_nodes(node))
                     if n), None)

    return visit(stmt, False)


def _bound_names(func: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[str]:
    """The function's parameters and local variables, in order of first binding."""
    args = func.args
    params = [*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg]
    names: dict[str, None] = {arg.arg: None for arg in params if arg is not None}
    for node in _walk_scope(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names[node.id] = None
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] = None
        elif isinstance(node, ast.alias):
            names[(node.asname or node.name).split(".")[0]] = None
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            names[node.name] = None
    return list(names)


class _Label:
    __slots__ = ("index",)

    def __init__(self) -> None:
        self.index: int | None = None


@attrs.define
class _Loop:
    head: _Label
    exit: _Label


Role = Literal["pinned", "label", "auto"]


@attrs.frozen
class _Claim:
    """A step that takes an id as it is: pinned, a branch label, or the first step with
    a given automatic id."""

    node: ast.Await
    role: Role

    def describe(self, step_id: str) -> str:
        if self.role == "label":
            return f"the branch labelled {step_id!r} on line {self.node.lineno}"
        assert isinstance(self.node.value, ast.Call)
        return f"step `{ast.unparse(_without_id(self.node.value))}` on line {self.node.lineno}"


def _without_id(call: ast.Call) -> ast.Call:
    return ast.copy_location(
        ast.Call(func=call.func, args=call.args,
                 keywords=[k for k in call.keywords if k.arg != "id"]), call)


class _Compiler:
    def __init__(
        self, fn: Callable[..., Any], func: ast.AsyncFunctionDef, name: str, file: str
    ) -> None:
        self.fn = fn
        self.func = func
        self.name = name
        self.file = file
        # Pending nodes: IR fields with _Label targets, resolved at the end.
        self.nodes: list[tuple[type[Node], dict[str, Any], list[ast.stmt] | ast.expr | None]] = []
        self.loops: list[_Loop] = []
        self.awaited = {id(n.value) for n in ast.walk(func) if isinstance(n, ast.Await)}
        # Step ids: the ids steps take as they are (found before lowering, so numbered
        # ids can avoid them), and the ids given so far.
        self.claims: dict[str, list[_Claim]] = {}
        self.numbered: dict[str, int] = {}
        self.given: set[str] = set()
        self.hidden: list[str] = []
        self.late: list[LateName] = []
        self.pending_plain: list[ast.stmt] = []

    # -- errors ---------------------------------------------------------------

    def error(self, node: ast.AST, message: str, hint: str = "") -> CompileError:
        return CompileError(
            message, flow=self.name, file=self.file,
            line=getattr(node, "lineno", self.func.lineno),
            column=getattr(node, "col_offset", 0), hint=hint,
        )

    # -- entry ----------------------------------------------------------------

    def compile(self) -> Program:
        run_param = self._check_signature()
        self._check_nodes(self.func, None, helper=False, local=frozenset(_bound_names(self.func)))
        self._claim_ids()
        body = self.func.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]  # the docstring
        self._block(body)
        self._flush()
        self._emit(End, {"value": None, "line": self.func.end_lineno or self.func.lineno})
        local_names = [n for n in _bound_names(self.func) if n != run_param] + self.hidden
        return self._finish(run_param, local_names)

    def _check_signature(self) -> str | None:
        args = self.func.args
        positional = args.posonlyargs + args.args
        if args.vararg or args.kwarg or args.kwonlyargs or len(positional) > 1:
            raise self.error(
                self.func, "a flow takes one parameter, the run",
                hint=f"write `async def {self.func.name}(run):`",
            )
        return positional[0].arg if positional else None

    def _check_nodes(self, parent: ast.AST, context: str | None, helper: bool,
                     local: frozenset[str]) -> None:
        """Reject what cannot be resumed, wherever it stands in the body.

        ``context`` names the construct an await may not stand in; ``helper`` is true
        inside a function defined in the flow, which runs as ordinary Python: it may
        yield or call ``time.sleep``, as only the flow's own scope is suspended.
        ``local`` holds the names that are local variables where ``parent`` stands.
        """
        for node in ast.iter_child_nodes(parent):
            if isinstance(node, ast.Nonlocal) or (isinstance(node, ast.Global) and not helper):
                raise self.error(
                    node, f"`{type(node).__name__.lower()}` in a flow cannot be resumed",
                    hint="keep state in local variables; they are saved across waits",
                )
            if isinstance(node, ast.Global):
                # A function defined in a flow runs against the namespace of one resume,
                # which holds a copy of the module's globals: `global` would change the copy.
                raise self.error(
                    node, "`global` in a function defined in a flow cannot change the "
                    "module's variable: the function runs against a copy of the module's names",
                    hint="return the value from the function and keep it in a local variable",
                )
            if isinstance(node, ast.Yield | ast.YieldFrom) and not helper:
                raise self.error(node, "a flow cannot yield", hint="use `await wait_for(...)`")
            if isinstance(node, ast.Call):
                self._check_call(node, helper, local)
            if isinstance(node, ast.Await) and context is not None:
                raise self.error(node, f"`await` inside {context} cannot be resumed",
                                 hint=_CONTEXT_HINTS[context])
            if isinstance(node, ast.AsyncFor):
                raise self.error(node, "`async for` cannot be resumed in a flow",
                                 hint="consume the async iterator in an @action that returns "
                                 "a list, and use a plain for over a list")
            if isinstance(node, ast.AsyncWith):
                raise self.error(node, "`async with` cannot be resumed in a flow",
                                 hint="move the `async with` and the code it guards into an "
                                 "@action")
            inner, inner_helper, inner_local = context, helper, local
            if isinstance(node, ast.Try | ast.TryStar):
                inner = inner or "a try block"
            elif isinstance(node, ast.With):
                inner = inner or "a with block"
            elif isinstance(node, _COMPREHENSIONS):
                inner = "a comprehension"
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                inner = "a lambda" if isinstance(node, ast.Lambda) else "a nested function"
                inner_helper, inner_local = True, local | set(_bound_names(node))
            elif isinstance(node, ast.Match) and _has_await(node):
                raise self.error(node, "`match` with an await inside cannot be resumed",
                                 hint="write it as if/elif")
            self._check_nodes(node, inner, inner_helper, inner_local)

    def _check_call(self, call: ast.Call, helper: bool, local: frozenset[str]) -> None:
        dotted = _dotted(call.func)
        if dotted is None:
            return
        head = dotted.split(".")
        resolved = _lookup(self.fn, dotted)
        if not helper and ((head[0], head[-1]) in _SLEEPS or _is_sleep(resolved)):
            raise self.error(
                call, f"`{dotted}(...)` blocks a worker for the whole delay",
                hint="use `await wait(seconds=...)`: a durable wait costs a row",
            )
        if id(call) in self.awaited or head[0] in local:
            return
        if _kind_of(resolved) is not None:
            raise self.error(call, f"`{dotted}(...)` is not awaited, so it does nothing",
                             hint=f"write `await {dotted}(...)`")
        if resolved is _MISSING:  # perhaps an action defined further down
            self.late.append(LateName(dotted, call.lineno, call.col_offset, awaited=False))

    # -- emission -------------------------------------------------------------

    def _emit(self, kind: type[Node], fields: dict[str, Any],
              source: list[ast.stmt] | ast.expr | None = None) -> int:
        self.nodes.append((kind, fields, source))
        return len(self.nodes) - 1

    def _mark(self, label: _Label) -> None:
        self._flush()
        label.index = len(self.nodes)

    def _flush(self) -> None:
        if self.pending_plain:
            stmts = self.pending_plain
            self.pending_plain = []
            code = "\n".join(ast.unparse(s) for s in stmts)
            self._emit(Exec, {"code": code, "line": stmts[0].lineno}, stmts)

    def _jump(self, label: _Label) -> None:
        self._flush()
        self._emit(Jump, {"to": label})

    def _jump_if(self, test: ast.expr, then: _Label, orelse: _Label) -> None:
        self._flush()
        self._emit(JumpIf, {"test": ast.unparse(test), "then": then, "orelse": orelse,
                            "line": test.lineno}, test)

    # -- statements -----------------------------------------------------------

    def _block(self, stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            self._statement(stmt)

    def _statement(self, stmt: ast.stmt) -> None:
        if not _has_await(stmt) and _escape(stmt) is None:
            self.pending_plain.append(stmt)
            return
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Await):
            self._await(stmt.value, target=None)
        elif isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Await):
            self._no_await_in(*stmt.targets)
            targets = " = ".join(ast.unparse(t) for t in stmt.targets)
            self._await(stmt.value, target=targets)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.value, ast.Await):
            self._no_await_in(stmt.target)
            self._await(stmt.value, target=ast.unparse(stmt.target))
        elif isinstance(stmt, ast.Return):
            self._return(stmt)
        elif isinstance(stmt, ast.If):
            self._if(stmt)
        elif isinstance(stmt, ast.While):
            self._while(stmt)
        elif isinstance(stmt, ast.For):
            self._for(stmt)
        elif isinstance(stmt, ast.Break):
            self._jump(self._loop(stmt).exit)
        elif isinstance(stmt, ast.Continue):
            self._jump(self._loop(stmt).head)
        else:
            self._no_await_in(stmt)
            raise self._trapped_escape(stmt)

    def _trapped_escape(self, stmt: ast.stmt) -> CompileError:
        """The error for a try, with or match with no await that returns, breaks or
        continues out of itself: the block stays one piece of plain Python, which cannot
        end the flow or jump in the loop around it."""
        escape = _escape(stmt)
        assert escape is not None
        keyword = type(escape).__name__.lower()
        place = "a match block" if isinstance(stmt, ast.Match) else \
            "a with block" if isinstance(stmt, ast.With) else "a try block"
        return self.error(
            escape, f"`{keyword}` inside {place} cannot leave it: the block runs as one "
            "compiled segment of plain Python",
            hint="set a variable in the block and test it after the block, e.g. "
            "`stop = True` inside, then `if stop: " + keyword + "` after it",
        )

    def _loop(self, stmt: ast.stmt) -> _Loop:
        if not self.loops:  # Python itself rejects this; kept for a clear message
            raise self.error(stmt, f"`{ast.unparse(stmt)}` outside a loop")
        return self.loops[-1]

    def _no_await_in(self, *nodes: ast.AST) -> None:
        for node in nodes:
            found = _first_await(node)
            if found is not None:
                raise self._misplaced(found)

    def _misplaced(self, node: ast.AST) -> CompileError:
        return self.error(
            node, "`await` must stand alone: as a statement, the value of an assignment, "
            "a return, or the test of if/elif/while (optionally with `not`)",
            hint="assign the awaited result to a variable first: `x = await ...`",
        )

    def _test(self, test: ast.expr) -> ast.expr:
        """Emit the step for an awaited test; return the expression the jump reads."""
        negate = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
        inner = test.operand if isinstance(test, ast.UnaryOp) and negate else test
        if isinstance(inner, ast.Await):
            self._await(inner, target=TEST)
            read: ast.expr = ast.Name(TEST, ast.Load())
            if negate:
                read = ast.UnaryOp(ast.Not(), read)
            return ast.copy_location(read, test)
        self._no_await_in(test)
        return test

    def _return(self, stmt: ast.Return) -> None:
        value = stmt.value
        if isinstance(value, ast.Await):
            self._await(value, target=RESULT)
            value = ast.copy_location(ast.Name(RESULT, ast.Load()), value)
        elif value is not None:
            self._no_await_in(value)
        self._flush()
        self._emit(End, {"value": ast.unparse(value) if value else None,
                         "line": stmt.lineno}, value)

    def _if(self, stmt: ast.If) -> None:
        then, orelse, done = _Label(), _Label(), _Label()
        self._jump_if(self._test(stmt.test), then, orelse)
        self._mark(then)
        self._block(stmt.body)
        self._jump(done)
        self._mark(orelse)
        self._block(stmt.orelse)
        self._mark(done)

    def _while(self, stmt: ast.While) -> None:
        head, body, orelse, done = _Label(), _Label(), _Label(), _Label()
        self._mark(head)
        self._jump_if(self._test(stmt.test), body, orelse)
        self._mark(body)
        self.loops.append(_Loop(head=head, exit=done))
        self._block(stmt.body)
        self.loops.pop()
        self._jump(head)
        self._mark(orelse)
        self._block(stmt.orelse)
        self._mark(done)

    def _for(self, stmt: ast.For) -> None:
        self._no_await_in(stmt.target, stmt.iter)
        base = "".join(c if c.isalnum() else "_" for c in ast.unparse(stmt.target))
        items, index = f"__fk_items_{base}", f"__fk_index_{base}"
        while items in self.hidden:
            items, index = items + "_", index + "_"
        self.hidden += [items, index]
        head, body, orelse, done = _Label(), _Label(), _Label(), _Label()
        self._plain(f"{items} = list({ast.unparse(stmt.iter)})\n{index} = 0", stmt)
        self._mark(head)
        self._jump_if(ast.copy_location(
            ast.parse(f"{index} < len({items})", mode="eval").body, stmt), body, orelse)
        self._mark(body)
        self._plain(f"{ast.unparse(stmt.target)} = {items}[{index}]\n{index} += 1", stmt)
        self.loops.append(_Loop(head=head, exit=done))
        self._block(stmt.body)
        self.loops.pop()
        self._jump(head)
        self._mark(orelse)
        self._block(stmt.orelse)
        self._mark(done)

    def _plain(self, code: str, at: ast.stmt) -> None:
        for new in ast.parse(code).body:
            for node in ast.walk(new):
                if isinstance(node, ast.stmt | ast.expr):
                    ast.copy_location(node, at)
            self.pending_plain.append(new)

    # -- awaited calls --------------------------------------------------------

    def _resolve(self, node: ast.Await) -> tuple[ast.Call, str, object, StepKind]:
        """What an awaited call calls: (call, callee as written, value, step kind)."""
        call = node.value
        if not isinstance(call, ast.Call):
            raise self.error(node, f"`await {ast.unparse(call)}` is not a call of a flowkit "
                             "primitive or action",
                             hint="await wait(...), wait_for(...), branch(...) or an @action")
        callee = _dotted(call.func)
        if callee is None:
            raise self.error(node, f"cannot tell what `await {ast.unparse(call)}` calls",
                             hint="call the action or primitive by its name")
        value = _lookup(self.fn, callee)
        if value is _MISSING:  # checked when the flow is loaded
            return call, callee, value, "action"
        kind = _kind_of(value)
        if kind is None:
            raise _not_awaitable(callee, self.name, self.file, node.lineno, node.col_offset)
        return call, callee, value, kind

    def _await(self, node: ast.Await, target: str | None) -> None:
        call, callee, value, kind = self._resolve(node)
        self._no_await_in(call)
        if value is _MISSING:
            first = _first_argument(call, None)
            self.late.append(LateName(callee, node.lineno, node.col_offset, awaited=True,
                                      first=_literal(first), call=call))
        if kind == "wait":
            self._check_duration(call)
        step_id = self._step_id(node)
        stripped = _without_id(call)
        self._flush()
        self._emit(Step, {"id": step_id, "kind": kind, "callee": callee,
                          "call": ast.unparse(stripped), "target": target,
                          "line": node.lineno}, stripped)

    def _check_duration(self, call: ast.Call) -> None:
        total = _literal_duration(call)
        if total is not None and total <= 0:
            raise self.error(call, "a wait needs a positive duration",
                             hint="write e.g. `await wait(days=1)`; to go on at once, "
                             "leave the wait out")

    # -- step ids -------------------------------------------------------------

    def _base_id(self, node: ast.Await) -> tuple[str, Role]:
        """The id a step takes from its call, before numbering (see docs/step-ids.md)."""
        call, callee, value, kind = self._resolve(node)
        pinned = next((k.value for k in call.keywords if k.arg == "id"), None)
        if pinned is not None:
            if not (isinstance(pinned, ast.Constant) and isinstance(pinned.value, str)
                    and pinned.value):
                raise self.error(pinned, "a step id must be a non-empty string literal")
            return pinned.value, "pinned"
        if kind == "branch":
            label = _first_argument(call, _parameters(value))
            if not (isinstance(label, ast.Constant) and isinstance(label.value, str)
                    and label.value):
                raise self.error(call, "a branch label must be a string literal",
                                 hint='write `await branch("completed a unit?", ...)`')
            return label.value, "label"
        if kind == "wait":
            return "wait:" + _describe_wait(call), "auto"
        # An action or wait_for: the name it is called by, whatever the action calls
        # itself, so that an id never depends on where or how the action is defined.
        name = callee.rsplit(".", 1)[-1]
        first = _literal(_first_argument(call, _parameters(value)))
        return (name if first is None else f"{name}:{first}"), "auto"

    def _claim_ids(self) -> None:
        """Find the ids steps take as they are, before any step is numbered."""
        seen: set[str] = set()
        awaits = sorted((n for n in _walk_scope(self.func) if isinstance(n, ast.Await)),
                        key=lambda n: (n.lineno, n.col_offset))
        for node in awaits:
            try:
                step_id, role = self._base_id(node)
            except CompileError:
                continue  # raised again, in source order, when the step is compiled
            if role == "auto":
                if step_id in seen:
                    continue  # a repeat: numbered
                seen.add(step_id)
            self.claims.setdefault(step_id, []).append(_Claim(node, role))

    def _step_id(self, node: ast.Await) -> str:
        base, _ = self._base_id(node)
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

    def _clash(self, step_id: str, first: _Claim, second: _Claim) -> CompileError:
        at = second.node.value
        other = first.describe(step_id)
        if first.role == second.role == "label":
            return self.error(at, f"two branches are labelled {step_id!r}",
                              hint="a branch's label is its id: make each label unique")
        if second.role == "label":
            return self.error(at, f"branch labelled {step_id!r}: the id {step_id!r} is "
                              f"already used by {other}",
                              hint="a branch's label is its id: choose another label")
        if first.role == "label":
            return self.error(at, f"the id {step_id!r} is already used by {other}",
                              hint='pin another id with id="...", or change the label')
        if first.role == second.role:
            return self.error(at, f"two steps have the id {step_id!r}",
                              hint="pinned ids must be unique within a flow")
        return self.error(at, f"two steps have the id {step_id!r}: this one and {other}",
                          hint='pin another id on one of them with id="..."')

    # -- finishing ------------------------------------------------------------

    def _finish(self, run_param: str | None, local_names: list[str]) -> Program:
        nodes: list[Node] = []
        code: list[CodeType | None] = []
        assign: list[CodeType | None] = []
        for kind, fields, source in self.nodes:
            resolved = {k: (v.index if isinstance(v, _Label) else v) for k, v in fields.items()}
            nodes.append(cast(Any, kind)(**resolved))
            code.append(self._code_for(kind, source))
            target = resolved.get("target") if kind is Step else None
            assign.append(
                compile(f"{target} = {RESULT}", self.file, "exec") if target else None
            )
        ir = FlowIR(name=self.name, nodes=tuple(nodes), locals=tuple(local_names))
        return Program(ir=ir, code=tuple(code), assign=tuple(assign), run_param=run_param,
                       fn=self.fn, late_names=tuple(self.late), file=self.file)

    def _code_for(self, kind: type[Node], source: list[ast.stmt] | ast.expr | None
                  ) -> CodeType | None:
        if source is None:
            return None
        tree: ast.Module | ast.Expression
        if isinstance(source, list):
            tree = ast.Module(body=source, type_ignores=[])
        else:
            tree = ast.Expression(body=source)
        ast.fix_missing_locations(tree)
        try:
            return compile(tree, self.file, "exec" if isinstance(source, list) else "eval")
        except SyntaxError as error:  # whatever the checks above missed, still located
            raise CompileError(
                f"this code cannot run in a compiled flow: {error.msg}", flow=self.name,
                file=self.file, line=error.lineno or self.func.lineno,
                column=max((error.offset or 1) - 1, 0),
            ) from None


_CONTEXT_HINTS = {
    "a try block": "move the await out of the try; put the code that may fail in an @action",
    "a with block": "move the await out of the with block",
    "a comprehension": "use a for loop over a list",
    "a nested function": "awaits belong in the flow itself; make the helper an @action",
    "a lambda": "awaits belong in the flow itself",
}


def _is_sleep(value: object) -> bool:
    import asyncio
    import time

    return value is time.sleep or value is asyncio.sleep


def _parameters(value: object) -> list[inspect.Parameter] | None:
    """The parameters a call of an action or primitive binds its arguments to (without
    ``id``, which the compiler reads, and an action's ``run``); ``None`` if unknown."""
    if isinstance(value, Action):
        params = list(value.signature.parameters.values())
        if value.takes_run:
            params = [p for p in params if p.name != "run"]
    elif _kind_of(value) is not None:
        params = list(inspect.signature(cast(Callable[..., Any], value)).parameters.values())
    else:
        return None
    return [p for p in params if p.name != "id"]


def _first_argument(call: ast.Call, params: list[inspect.Parameter] | None) -> ast.expr | None:
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


def _literal(node: ast.expr | None) -> str | None:
    """A string or number literal as it goes into a step id; ``None`` for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float) \
            and not isinstance(node.value, bool):
        return f"{node.value}"
    return None


_UNITS = (("days", "d"), ("hours", "h"), ("minutes", "m"), ("seconds", "s"))
_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def _durations(call: ast.Call) -> dict[str, ast.expr]:
    """A wait's duration arguments by unit, positional or keyword."""
    values = dict(zip(_SECONDS, call.args, strict=False))
    values.update({k.arg: k.value for k in call.keywords if k.arg in _SECONDS})
    return values


def _literal_duration(call: ast.Call) -> float | None:
    """A wait's duration in seconds when every part of it is a number literal."""
    if "until" in {k.arg for k in call.keywords} or any(k.arg is None for k in call.keywords) \
            or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    total = 0.0
    for unit, node in _durations(call).items():
        try:
            value = ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError):
            return None
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        total += value * _SECONDS[unit]
    return total


def _describe_wait(call: ast.Call) -> str:
    if any(k.arg == "until" for k in call.keywords):
        return "until"
    values = _durations(call)
    parts = []
    for unit, suffix in _UNITS:
        node = values.get(unit)
        if node is None:
            continue
        if not (isinstance(node, ast.Constant) and isinstance(node.value, int | float)):
            return "dynamic"
        parts.append(f"{node.value:g}{suffix}")
    return "".join(parts) or "0s"

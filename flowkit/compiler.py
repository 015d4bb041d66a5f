"""Compile a flow's ``async def`` into a resumable step machine (see docs/compiler.md).

Code between awaits stays Python: runs of statements with no await become ``Exec``
nodes compiled once with ``compile()``. A control construct that contains an await is
lowered to ``JumpIf``/``Jump`` nodes whose tests are compiled expressions; a ``for``
over a list with an await inside keeps its list and index as hidden locals. Each awaited
call becomes a ``Step`` with a stable id. Whatever cannot be made resumable is a
``CompileError`` naming file, line and column.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import textwrap
from collections.abc import Callable, Iterator
from types import CodeType
from typing import Any, cast

import attrs

from flowkit.dsl.action import Action
from flowkit.dsl.primitives import PRIMITIVES
from flowkit.errors import CompileError, DefinitionError
from flowkit.ir import End, Exec, FlowIR, Jump, JumpIf, Node, Step, StepKind

RESULT = "__fk_result"  # holds an awaited call's result until it is assigned
TEST = "__fk_test"  # holds an awaited branch's answer until the jump reads it
_SLEEPS = {("time", "sleep"), ("asyncio", "sleep")}


@attrs.frozen(eq=False)
class Program:
    """A compiled flow: its IR plus the code objects that execute it."""

    ir: FlowIR
    code: tuple[CodeType | None, ...] = attrs.field(repr=False)
    assign: tuple[CodeType | None, ...] = attrs.field(repr=False)
    run_param: str | None
    fn: Callable[..., Any] = attrs.field(repr=False)
    late_names: tuple[tuple[str, int, int], ...] = attrs.field(repr=False)
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
        """Check the awaited names that were not yet defined when the flow compiled."""
        for name, line, column in self.late_names:
            value = _lookup(self.fn, name)
            if value is _MISSING:
                raise CompileError(
                    f"`await {name}(...)`: {name} is not defined",
                    flow=self.ir.name, file=self.file, line=line, column=column,
                    hint="import the action or primitive into the flow's module",
                )
            if _kind_of(value) is None:
                raise _not_awaitable(name, self.ir.name, self.file, line, column)


def compile_function(fn: Callable[..., Any], name: str) -> Program:
    """Compile ``fn`` (an ``async def``) into a ``Program`` named ``name``."""
    if not inspect.iscoroutinefunction(fn):
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
    source = "".join(lines)
    dedented = textwrap.dedent(source)
    indent = _indent_of(source) - _indent_of(dedented)
    tree = ast.parse(dedented)
    func = tree.body[0]
    assert isinstance(func, ast.AsyncFunctionDef)
    ast.increment_lineno(func, first_line - 1)
    for node in ast.walk(func):
        if isinstance(node, ast.stmt | ast.expr):
            node.col_offset += indent
            if node.end_col_offset is not None:
                node.end_col_offset += indent
    return _Compiler(fn, func, name, file).compile()


def _indent_of(text: str) -> int:
    for line in text.splitlines():
        if line.strip():
            return len(line) - len(line.lstrip())
    return 0


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


def _has_await(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Await) for n in _walk_scope(node))


def _escapes(stmt: ast.stmt) -> bool:
    """Whether ``stmt`` returns, or breaks/continues a loop outside itself."""

    def visit(node: ast.AST, in_loop: bool) -> bool:
        if isinstance(node, _SCOPES):
            return False
        if isinstance(node, ast.Return):
            return True
        if isinstance(node, ast.Break | ast.Continue):
            return not in_loop
        if isinstance(node, ast.For | ast.AsyncFor | ast.While):
            # A loop's `else` runs outside the loop as far as break/continue go.
            return any(visit(s, True) for s in node.body) or any(
                visit(s, in_loop) for s in node.orelse
            )
        return any(visit(child, in_loop) for child in ast.iter_child_nodes(node))

    return visit(stmt, False)


def _bound_names(func: ast.AsyncFunctionDef) -> list[str]:
    """The function's local variables, in order of first binding."""
    names: dict[str, None] = {}
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
        self.step_ids: dict[str, int] = {}
        self.branch_labels: set[str] = set()
        self.hidden: list[str] = []
        self.late: list[tuple[str, int, int]] = []
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
        self._check_unsupported()
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

    def _check_unsupported(self) -> None:
        """Reject what cannot be resumed, wherever it stands in the body."""
        self._check_nodes(self.func, context=None)

    def _check_nodes(self, parent: ast.AST, context: str | None) -> None:
        for node in ast.iter_child_nodes(parent):
            if isinstance(node, ast.Global | ast.Nonlocal):
                raise self.error(
                    node, f"`{type(node).__name__.lower()}` in a flow cannot be resumed",
                    hint="keep state in local variables; they are saved across waits",
                )
            if isinstance(node, ast.Yield | ast.YieldFrom):
                raise self.error(node, "a flow cannot yield", hint="use `await wait_for(...)`")
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                self._check_bare_call(node.value)
            if isinstance(node, ast.Call):
                dotted = _dotted(node.func)
                if dotted is not None:
                    head = dotted.split(".")
                    resolved = _lookup(self.fn, dotted)
                    if (head[0], head[-1]) in _SLEEPS or _is_sleep(resolved):
                        raise self.error(
                            node, f"`{dotted}(...)` blocks a worker for the whole delay",
                            hint="use `await wait(seconds=...)`: a durable wait costs a row",
                        )
            if isinstance(node, ast.Await) and context is not None:
                raise self.error(node, f"`await` inside {context} cannot be resumed",
                                 hint=_CONTEXT_HINTS[context])
            if isinstance(node, ast.AsyncFor | ast.AsyncWith):
                kind = "async for" if isinstance(node, ast.AsyncFor) else "async with"
                raise self.error(node, f"`{kind}` cannot be resumed in a flow",
                                 hint="use a plain for over a list, or move it into an @action")
            inner = context
            if isinstance(node, ast.Try | ast.TryStar):
                inner = inner or "a try block"
            elif isinstance(node, ast.With):
                inner = inner or "a with block"
            elif isinstance(node, _COMPREHENSIONS):
                inner = "a comprehension"
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = "a nested function"
            elif isinstance(node, ast.Lambda):
                inner = "a lambda"
            elif isinstance(node, ast.Match) and _has_await(node):
                raise self.error(node, "`match` with an await inside cannot be resumed",
                                 hint="write it as if/elif")
            self._check_nodes(node, inner)

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
        if not _has_await(stmt) and not _escapes(stmt):
            self.pending_plain.append(stmt)
            return
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Await):
            self._await(stmt.value, target=None)
        elif isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Await):
            targets = " = ".join(ast.unparse(t) for t in stmt.targets)
            self._await(stmt.value, target=targets)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.value, ast.Await):
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
            await_node = next(n for n in _walk_scope(stmt) if isinstance(n, ast.Await))
            raise self._misplaced(await_node)

    def _loop(self, stmt: ast.stmt) -> _Loop:
        if not self.loops:  # Python itself rejects this; kept for a clear message
            raise self.error(stmt, f"`{ast.unparse(stmt)}` outside a loop")
        return self.loops[-1]

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
        if _has_await(test):
            raise self._misplaced(next(n for n in _walk_scope(test)
                                       if isinstance(n, ast.Await)))
        return test

    def _return(self, stmt: ast.Return) -> None:
        value = stmt.value
        if isinstance(value, ast.Await):
            self._await(value, target=RESULT)
            value = ast.copy_location(ast.Name(RESULT, ast.Load()), value)
        elif value is not None and _has_await(value):
            raise self._misplaced(next(n for n in _walk_scope(value)
                                       if isinstance(n, ast.Await)))
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
        if _has_await(stmt.iter):
            raise self._misplaced(next(n for n in _walk_scope(stmt.iter)
                                       if isinstance(n, ast.Await)))
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

    def _check_bare_call(self, call: ast.Call) -> None:
        dotted = _dotted(call.func)
        if dotted and _kind_of(_lookup(self.fn, dotted)) is not None:
            raise self.error(call, f"`{dotted}(...)` is not awaited, so it does nothing",
                             hint=f"write `await {dotted}(...)`")

    def _await(self, node: ast.Await, target: str | None) -> None:
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
        kind: StepKind | None
        if value is _MISSING:
            self.late.append((callee, node.lineno, node.col_offset))
            kind = "action"
        else:
            kind = _kind_of(value)
            if kind is None:
                raise _not_awaitable(callee, self.name, self.file, node.lineno, node.col_offset)
        step_id = self._step_id(call, kind, callee, value)
        stripped = ast.copy_location(
            ast.Call(func=call.func, args=call.args,
                     keywords=[k for k in call.keywords if k.arg != "id"]), call)
        self._flush()
        self._emit(Step, {"id": step_id, "kind": kind, "callee": callee,
                          "call": ast.unparse(stripped), "target": target,
                          "line": node.lineno}, stripped)

    def _step_id(self, call: ast.Call, kind: StepKind, callee: str, value: object) -> str:
        pinned = next((k.value for k in call.keywords if k.arg == "id"), None)
        if pinned is not None:
            if not (isinstance(pinned, ast.Constant) and isinstance(pinned.value, str)
                    and pinned.value):
                raise self.error(pinned, "a step id must be a non-empty string literal")
            base = pinned.value
            if base in self.step_ids:
                raise self.error(call, f"two steps have the id {base!r}",
                                 hint="pinned ids must be unique within a flow")
            self.step_ids[base] = 1
            return base
        if kind == "branch":
            label = call.args[0] if call.args else None
            if not (isinstance(label, ast.Constant) and isinstance(label.value, str)
                    and label.value):
                raise self.error(call, "a branch label must be a string literal",
                                 hint='write `await branch("completed a unit?", ...)`')
            if label.value in self.branch_labels or label.value in self.step_ids:
                raise self.error(call, f"two branches are labelled {label.value!r}",
                                 hint="a branch's label is its id: make each label unique")
            self.branch_labels.add(label.value)
            self.step_ids[label.value] = 1
            return label.value
        if kind == "wait":
            base = "wait:" + _describe_wait(call)
        else:
            name = value.name if isinstance(value, Action) else callee.rsplit(".", 1)[-1]
            first = call.args[0] if call.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str | int | float) \
                    and not isinstance(first.value, bool):
                base = f"{name}:{first.value}"
            else:
                base = name
        seen = self.step_ids.get(base, 0)
        self.step_ids[base] = seen + 1
        return base if seen == 0 else f"{base}#{seen + 1}"

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
        if isinstance(source, list):
            module = ast.fix_missing_locations(ast.Module(body=source, type_ignores=[]))
            return compile(module, self.file, "exec")
        expr = ast.Expression(body=source)
        ast.fix_missing_locations(expr)
        return compile(expr, self.file, "eval")


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


_UNITS = (("days", "d"), ("hours", "h"), ("minutes", "m"), ("seconds", "s"))


def _describe_wait(call: ast.Call) -> str:
    keywords = {k.arg: k.value for k in call.keywords if k.arg and k.arg != "id"}
    if "until" in keywords:
        return "until"
    values = dict(zip(("days", "hours", "minutes", "seconds"), call.args, strict=False))
    values.update({k: v for k, v in keywords.items() if k in dict(_UNITS)})
    parts = []
    for unit, suffix in _UNITS:
        node = values.get(unit)
        if node is None:
            continue
        if not (isinstance(node, ast.Constant) and isinstance(node.value, int | float)):
            return "dynamic"
        parts.append(f"{node.value:g}{suffix}")
    return "".join(parts) or "0s"

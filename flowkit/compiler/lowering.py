"""Lower a flow's ``async def`` to a resumable step machine (see docs/compiler.md).

This module holds the entry point, ``compile_function``, its result, ``Program``, and the
lowering of the flow's statements to IR. Code between awaits stays Python: runs of
statements with no await become ``Exec`` nodes compiled once with ``compile()``. A control
construct that contains an await is lowered to ``JumpIf``/``Jump`` nodes whose tests are
compiled expressions; a ``for`` over a list with an await inside keeps its list and index
as hidden locals. Each awaited call becomes a ``Step``. Whatever cannot be made resumable
is a ``CompileError`` naming file, line and column.

Around it, in this package: ``source`` reads and parses the flow, ``checks`` rejects what
cannot be resumed before lowering, ``callees`` says what a call calls, and
``step_ids`` gives each step its stable id (see docs/step-ids.md).
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import itertools
import re
from collections.abc import Callable
from types import CodeType
from typing import Any, TypeVar, cast

import attrs

from flowkit.compiler.callees import (
    MISSING,
    LateName,
    kind_of,
    lookup,
    not_awaitable,
    parameters,
    resolve,
)
from flowkit.compiler.checks import check_body, check_duration, check_signature
from flowkit.compiler.source import SCOPES, Source, bound_names, first_await, has_await, read_source
from flowkit.compiler.step_ids import StepIds, first_argument, literal, without_id
from flowkit.dsl.action import Action
from flowkit.errors import CompileError, DefinitionError
from flowkit.ir import End, Exec, FlowIR, Jump, JumpIf, Node, Step

RESULT = "__fk_result"  # holds an awaited call's result until it is assigned
TEST = "__fk_test"  # holds an awaited branch's answer until the jump reads it
_T = TypeVar("_T", bound=ast.AST)

__all__ = ["RESULT", "TEST", "LateName", "Program", "compile_function"]


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
            self._check_late(late, lookup(self.fn, late.name))

    def _check_late(self, late: LateName, value: object) -> None:
        def error(message: str, hint: str) -> CompileError:
            return CompileError(message, flow=self.ir.name, file=self.file, line=late.line,
                                column=late.column, hint=hint)

        if not late.awaited:
            if kind_of(value) is not None:
                raise error(f"`{late.name}(...)` is not awaited, so it does nothing",
                            f"write `await {late.name}(...)`")
            return
        if value is MISSING:
            raise error(f"`await {late.name}(...)`: {late.name} is not defined",
                        "import the action or primitive into the flow's module")
        if kind_of(value) is None:
            raise not_awaitable(late.name, self.ir.name, self.file, late.line, late.column)
        if not isinstance(value, Action):
            raise error(f"`await {late.name}(...)`: the primitive {late.name} was imported "
                        "after the flow, so the flow took it for an action",
                        "import flowkit's primitives at the top of the module")
        assert late.call is not None
        first = literal(first_argument(late.call, parameters(value)))
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
    return _Compiler(read_source(fn, name)).compile()


def _escape(stmt: ast.stmt) -> ast.Return | ast.Break | ast.Continue | None:
    """The first ``return`` in ``stmt``, or ``break``/``continue`` of a loop outside it."""

    def visit(node: ast.AST, in_loop: bool) -> ast.Return | ast.Break | ast.Continue | None:
        if isinstance(node, SCOPES):
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


class _Label:
    __slots__ = ("index",)

    def __init__(self) -> None:
        self.index: int | None = None


_SLOT = re.compile(r"__fk_slot(\d+)_(items|index)")


@attrs.frozen
class _Slot:
    """A ``for`` loop's hidden locals, before they are named after the loop's first
    step (and its depth, as nested loops may share a first step)."""

    number: int
    depth: int
    first: int  # the index of the first node lowered for the loop
    last: int = -1  # the index after its last node, once lowered

    def names(self) -> tuple[str, str]:
        return f"__fk_slot{self.number}_items", f"__fk_slot{self.number}_index"


def _listed(segment: list[ast.stmt] | ast.expr) -> list[ast.AST]:
    return list(segment) if isinstance(segment, list) else [segment]


def _located(node: _T, at: ast.AST) -> _T:
    """``node`` with every node inside it at the place of ``at``, so that generated code
    reports the line of the statement it came from."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.stmt | ast.expr):
            ast.copy_location(inner, at)
    return node


@attrs.define
class _Loop:
    head: _Label
    exit: _Label


class _Compiler:
    """Lowers one flow's body to IR nodes, after the checks, with the steps' ids."""

    def __init__(self, source: Source) -> None:
        self.source = source
        # Pending nodes: IR fields with _Label targets, resolved at the end, and the code
        # each node executes (statements or an expression), compiled at the end.
        self.nodes: list[tuple[type[Node], dict[str, Any], list[ast.stmt] | ast.expr | None]] = []
        self.loops: list[_Loop] = []
        self.ids = StepIds(source)
        self.slots: list[_Slot] = []
        self.late: list[LateName] = []
        self.pending_plain: list[ast.stmt] = []

    # -- entry ----------------------------------------------------------------

    def compile(self) -> Program:
        func = self.source.func
        run_param = check_signature(self.source)
        self.late = check_body(self.source)
        self.ids.claim()
        body = func.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]  # the docstring
        self._block(body)
        self._flush()
        self._emit(End, {"value": None, "line": func.end_lineno or func.lineno})
        hidden = self._name_slots()
        local_names = [n for n in bound_names(func) if n != run_param]
        return self._finish(run_param, local_names + sorted(set(hidden.values())), hidden)

    # -- emission -------------------------------------------------------------

    def _emit(self, kind: type[Node], fields: dict[str, Any],
              segment: list[ast.stmt] | ast.expr | None = None) -> int:
        self.nodes.append((kind, fields, segment))
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
        if not has_await(stmt) and _escape(stmt) is None:
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
        return self.source.error(
            escape, f"`{keyword}` inside {place} cannot leave it: the block runs as one "
            "compiled segment of plain Python",
            hint="set a variable in the block and test it after the block, e.g. "
            "`stop = True` inside, then `if stop: " + keyword + "` after it",
        )

    def _loop(self, stmt: ast.stmt) -> _Loop:
        if not self.loops:  # Python itself rejects this; kept for a clear message
            raise self.source.error(stmt, f"`{ast.unparse(stmt)}` outside a loop")
        return self.loops[-1]

    def _no_await_in(self, *nodes: ast.AST) -> None:
        for node in nodes:
            found = first_await(node)
            if found is not None:
                raise self._misplaced(found)

    def _misplaced(self, node: ast.AST) -> CompileError:
        return self.source.error(
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
        self._loop_rest(stmt, head, orelse, done)

    def _for(self, stmt: ast.For) -> None:
        self._no_await_in(stmt.target, stmt.iter)
        # The hidden list and index are named after the loop, not the author's variable
        # (renaming it must not lose a waiting run's place): a slot now, renamed after
        # the first step inside the loop when the flow is finished.
        slot = _Slot(len(self.slots), depth=len(self.loops), first=len(self.nodes))
        self.slots.append(slot)
        items, index = slot.names()
        head, body, orelse, done = _Label(), _Label(), _Label(), _Label()
        self._plain(f"{items} = list({ast.unparse(stmt.iter)})\n{index} = 0", stmt)
        self._mark(head)
        self._jump_if(_located(ast.parse(f"{index} < len({items})", mode="eval").body,
                               stmt), body, orelse)
        self._mark(body)
        self._plain(f"{ast.unparse(stmt.target)} = {items}[{index}]\n{index} += 1", stmt)
        self._loop_rest(stmt, head, orelse, done)
        self.slots[slot.number] = attrs.evolve(slot, last=len(self.nodes))

    def _name_slots(self) -> dict[str, str]:
        """The hidden locals' final names, by slot name: ``__fk_items_<key>`` and
        ``__fk_index_<key>``, the key made of the loop's first step id (and its depth
        when nested)."""
        names: dict[str, str] = {}
        taken: set[str] = set()
        for slot in self.slots:
            first = next((f["id"] for kind, f, _ in self.nodes[slot.first:slot.last]
                          if kind is Step), None)
            key = "".join(c if c.isalnum() else "_" for c in first) if first \
                else f"loop{slot.number}"
            key = f"{key}_{slot.depth}" if slot.depth else key
            while key in taken:
                key += "_"
            taken.add(key)
            items, index = slot.names()
            names[items], names[index] = f"__fk_items_{key}", f"__fk_index_{key}"
        return names

    def _loop_rest(self, stmt: ast.While | ast.For, head: _Label, orelse: _Label,
                   done: _Label) -> None:
        """A loop's body (break: to ``done``, continue: to ``head``), the jump back,
        then its ``else``."""
        self.loops.append(_Loop(head=head, exit=done))
        self._block(stmt.body)
        self.loops.pop()
        self._jump(head)
        self._mark(orelse)
        self._block(stmt.orelse)
        self._mark(done)

    def _plain(self, code: str, at: ast.stmt) -> None:
        for new in ast.parse(code).body:
            self.pending_plain.append(_located(new, at))

    # -- awaited calls --------------------------------------------------------

    def _await(self, node: ast.Await, target: str | None) -> None:
        call, callee, value, kind = resolve(self.source, node)
        self._no_await_in(call)
        if value is MISSING:
            first = first_argument(call, None)
            self.late.append(LateName(callee, node.lineno, node.col_offset, awaited=True,
                                      first=literal(first), call=call))
        if kind == "wait":
            check_duration(self.source, call)
        step_id = self.ids.take(node)
        stripped = without_id(call)
        self._flush()
        self._emit(Step, {"id": step_id, "kind": kind, "callee": callee,
                          "call": ast.unparse(stripped), "target": target,
                          "line": node.lineno}, stripped)

    # -- finishing ------------------------------------------------------------

    def _finish(self, run_param: str | None, local_names: list[str],
                hidden: dict[str, str]) -> Program:
        nodes: list[Node] = []
        code: list[CodeType | None] = []
        assign: list[CodeType | None] = []

        def rename(value: Any) -> Any:
            if isinstance(value, _Label):
                return value.index
            if isinstance(value, str) and hidden:
                return _SLOT.sub(lambda m: hidden[m.group(0)], value)
            return value

        for kind, fields, segment in self.nodes:
            resolved = {k: rename(v) for k, v in fields.items()}
            if hidden and segment is not None:
                for name in (n for s in _listed(segment) for n in ast.walk(s)):
                    if isinstance(name, ast.Name) and name.id in hidden:
                        name.id = hidden[name.id]
            nodes.append(cast(Any, kind)(**resolved))
            code.append(self._code_for(kind, segment))
            target = resolved.get("target") if kind is Step else None
            assign.append(
                compile(f"{target} = {RESULT}", self.source.file, "exec") if target else None
            )
        ir = FlowIR(name=self.source.name, nodes=tuple(nodes), locals=tuple(local_names))
        return Program(ir=ir, code=tuple(code), assign=tuple(assign), run_param=run_param,
                       fn=self.source.fn, late_names=tuple(self.late), file=self.source.file)

    def _code_for(self, kind: type[Node], segment: list[ast.stmt] | ast.expr | None
                  ) -> CodeType | None:
        if segment is None:
            return None
        tree: ast.Module | ast.Expression
        if isinstance(segment, list):
            tree = ast.Module(body=segment, type_ignores=[])
        else:
            tree = ast.Expression(body=segment)
        ast.fix_missing_locations(tree)
        source = self.source
        try:
            return compile(tree, source.file, "exec" if isinstance(segment, list) else "eval")
        except SyntaxError as error:  # whatever the checks above missed, still located
            raise CompileError(
                f"this code cannot run in a compiled flow: {error.msg}", flow=source.name,
                file=source.file, line=error.lineno or source.func.lineno,
                column=max((error.offset or 1) - 1, 0),
            ) from None

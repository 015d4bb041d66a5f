"""Checks on the paths through one flow's step machine: steps no path reaches, and how
many messages a path can send a user in a day.

Control falls through from node ``i`` to ``i + 1``, a ``Jump`` goes to its target, a
``JumpIf`` both ways (one way when its test is a literal, as in ``while True``), and an
``End`` stops.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import TypeVar

from flowkit.compiler.callees import MISSING
from flowkit.dsl.flow import Flow
from flowkit.ir import End, Jump, JumpIf, Node, Step
from flowkit.review._check_calls import DAY, callee, constant, seconds
from flowkit.review._check_finding import Finding, finding

MESSAGES = frozenset({"send_email", "send_notification", "send_message"})
N = TypeVar("N", bound=Hashable)


def successors(nodes: Sequence[Node], i: int) -> list[int]:
    """Where control may go after node ``i``."""
    node = nodes[i]
    if isinstance(node, End):
        return []
    if isinstance(node, Jump):
        return [node.to]
    if isinstance(node, JumpIf):
        test = constant(node.test)
        if test is MISSING:
            return [node.then, node.orelse]
        return [node.then if test else node.orelse]
    return [i + 1] if i + 1 < len(nodes) else []


def reachable(nodes: Sequence[Node]) -> set[int]:
    """The nodes some path from node 0 reaches."""
    seen: set[int] = set()
    pending = [0] if nodes else []
    while pending:
        i = pending.pop()
        if i not in seen:
            seen.add(i)
            pending.extend(successors(nodes, i))
    return seen


def components(nodes: Iterable[N], following: Callable[[N], Iterable[N]]) -> list[list[N]]:
    """The strongly connected components of a graph (Tarjan's, without recursion), each
    listed after every component it leads to."""
    index: dict[N, int] = {}
    low: dict[N, int] = {}
    stack: list[N] = []
    on_stack: set[N] = set()
    out: list[list[N]] = []

    def enter(node: N) -> tuple[N, Iterator[N]]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        return node, iter(following(node))

    for root in nodes:
        if root in index:
            continue
        work = [enter(root)]
        while work:
            node, pending = work[-1]
            for nxt in pending:
                if nxt not in index:
                    work.append(enter(nxt))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    cut = len(stack) - stack[::-1].index(node) - 1
                    out.append(stack[cut:])
                    on_stack.difference_update(stack[cut:])
                    del stack[cut:]
    return out


def unreachable_steps(flows: Sequence[Flow]) -> Iterator[Finding]:
    """A warning for each run of steps that no path from the start reaches."""
    for flow in flows:
        seen = reachable(flow.ir.nodes)
        runs: list[list[Step]] = [[]]
        for i, node in enumerate(flow.ir.nodes):
            if i in seen and runs[-1]:
                runs.append([])
            elif i not in seen and isinstance(node, Step):
                runs[-1].append(node)
        for run in filter(None, runs):
            more = f" (nor can the {len(run) - 1} after it)" if len(run) > 1 else ""
            yield finding(flow, run[0].line, "warning", "unreachable",
                          f"step {run[0].id!r} can never run{more}: no path from the "
                          "start reaches it",
                          "remove it, or move it before the return or endless loop above it")


def message_rate(flows: Sequence[Flow], limit: int) -> Iterator[Finding]:
    """An error for each flow that can send a user more than ``limit`` messages between
    two waits of a day or more (shorter waits count as no time), or any number of them
    in a loop without such a wait."""
    for flow in flows:
        yield from _flow_rate(flow, limit)


def _flow_rate(flow: Flow, limit: int, sends: frozenset[str] = MESSAGES,
               period: float = DAY) -> Iterator[Finding]:
    nodes = flow.ir.nodes
    seen = reachable(nodes)
    steps = {i: n for i, n in enumerate(nodes) if isinstance(n, Step) and i in seen}
    resets = {i for i, step in steps.items() if seconds(flow, step) >= period}
    inside = seen - resets
    messages = {i for i in inside if i in steps and callee(steps[i]) in sends}
    if not messages:
        return

    def following(i: int) -> list[int]:
        return [j for j in successors(nodes, i) if j in inside]

    parts = components(sorted(inside), following)
    looping = [c for c in parts if (len(c) > 1 or c[0] in following(c[0])) and messages & set(c)]
    for part in looping:
        first = steps[min(messages & set(part))]
        yield finding(flow, first.line, "error", "message-rate",
                      f"{callee(first)} is in a loop with no wait of a day or more: the "
                      "flow can message a user without limit",
                      "wait a day or more in the loop (await wait(days=1)), or send once "
                      "after it")
    if looping:
        return
    # The messages on the heaviest path from each node, taking each component after
    # those it leads to.
    heaviest: dict[int, list[int]] = {}
    for part in parts:
        members = set(part)
        tail = max((heaviest[j] for i in part for j in following(i) if j not in members),
                   key=len, default=[])
        for i in part:
            heaviest[i] = [*sorted(members & messages), *tail]
    starts = ({0} | {j for r in resets for j in successors(nodes, r)}) & inside
    worst = max((heaviest[s] for s in starts), key=len, default=[])
    if len(worst) > limit:
        lines = ", ".join(str(steps[i].line) for i in worst)
        yield finding(flow, steps[worst[limit]].line, "error", "message-rate",
                      f"can send a user {len(worst)} messages within a day (lines {lines}); "
                      f"the limit is {limit}",
                      "space them with await wait(days=1), send fewer, or raise "
                      "--max-messages-per-day")

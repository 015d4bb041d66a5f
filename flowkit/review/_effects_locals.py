"""Locals a waiting run will not have: the new code reads a variable (a renamed one,
say) that the old version never saved, before anything assigns it.

From the step a run rests at, every path through the new step machine is followed with
the set of such variables assigned so far; a read of one not yet assigned is where the
run will be parked (``NameError`` on a saved local, see ``flowkit.machine``).
"""

from __future__ import annotations

import ast
import functools

from flowkit.ir import End, Exec, FlowIR, JumpIf, Node, Step
from flowkit.review._check_paths import successors


def missing_reads(old: FlowIR, new: FlowIR, start: list[int]) -> list[tuple[str, int]]:
    """``(name, line)`` of the first read of each variable the old version did not save
    and nothing assigned before it, on some path from the nodes ``start``."""
    fresh = frozenset(n for n in new.locals if n not in old.locals and not n.startswith("__fk_"))
    if not fresh:
        return []
    found: dict[str, int] = {}
    seen: set[tuple[int, frozenset[str]]] = set()
    pending = [(i, frozenset[str]()) for i in start if i < len(new.nodes)]
    while pending:
        i, assigned = pending.pop()
        if (i, assigned) in seen:
            continue
        seen.add((i, assigned))
        node = new.nodes[i]
        for reads, writes in _effects(node):
            for name in (reads & fresh) - assigned:
                found.setdefault(name, getattr(node, "line", 0))
            assigned = assigned | (writes & fresh)
        pending.extend((j, assigned) for j in successors(new.nodes, i))
    return sorted(found.items(), key=lambda item: (item[1], item[0]))


def _effects(node: Node) -> list[tuple[frozenset[str], frozenset[str]]]:
    """What ``node`` reads and then writes, statement by statement."""
    if isinstance(node, Exec):
        return [_names(ast.unparse(s)) for s in _statements(node.code)]
    if isinstance(node, JumpIf):
        return [_names(node.test)]
    if isinstance(node, Step):
        reads, _ = _names(node.call)
        writes = _names(f"{node.target} = None")[1] if node.target else frozenset()
        return [(reads, frozenset()), (frozenset(), writes)]
    if isinstance(node, End) and node.value:
        return [_names(node.value)]
    return []


@functools.lru_cache(maxsize=1024)
def _statements(code: str) -> tuple[ast.stmt, ...]:
    return tuple(ast.parse(code).body)


@functools.lru_cache(maxsize=4096)
def _names(code: str) -> tuple[frozenset[str], frozenset[str]]:
    tree = ast.parse(code)
    loads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Load)}
    stores = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Store | ast.Del)}
    return frozenset(loads), frozenset(stores)

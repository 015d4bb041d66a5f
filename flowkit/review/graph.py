"""A flow as a diagram: nodes and edges read from its step machine (see docs/review.md).

What a reviewer sees: the trigger(s); each action with its call; each wait with its
duration; each ``wait_for`` with its event and timeout; each branch as a decision with
its label and yes/no edges; each plain ``if``/``while`` condition as a decision labelled
with its test, and a ``for`` as ``for x in ...`` with next/done edges; the ends; and a
note listing the exits. ``Exec`` nodes (plain Python between awaits) and ``Jump`` nodes
are collapsed: an edge goes straight to the next node a reviewer sees.

Node ids are stable across edits elsewhere in a flow: a step's node is named after its
step id (``s_send_email_welcome``), a condition after its text, an end after its value,
so a diagram's diff shows what changed and little else. Ids are ASCII letters, digits and
underscores, valid in Mermaid and DOT.
"""

from __future__ import annotations

import re
from typing import Literal

import attrs

from flowkit.compiler import RESULT, TEST
from flowkit.dsl.flow import Flow
from flowkit.ir import End, Exec, Jump, JumpIf, Node, Step
from flowkit.review import describe

Shape = Literal["trigger", "action", "wait", "decision", "end", "note"]
_FOR_TEST = re.compile(r"^__fk_index_(\w+) < len\(__fk_items_\1\)$")
_ARM_TEST = re.compile(r"""^(\w+) == ['"](\w+)['"]$""")
_LOOPS_FOREVER = -1  # a cycle of collapsed nodes, with no step in it


@attrs.frozen
class GraphNode:
    """One box of the diagram; ``step`` is the IR step id it shows, if any."""

    id: str
    shape: Shape
    label: str
    step: str | None = None


@attrs.frozen
class GraphEdge:
    source: str
    target: str
    label: str = ""


@attrs.frozen
class Graph:
    """A flow's diagram, ready for a renderer (``flowkit.review.mermaid``, ``.dot``)."""

    name: str
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]

    def node(self, node_id: str) -> GraphNode:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)


def build_graph(flow: Flow) -> Graph:
    """The diagram of ``flow``: what starts it, its reachable steps, its exits."""
    return _Builder(flow).build()


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:40].rstrip("_")
    return slug or "x"


def _event_of(start_text: str) -> str:
    return start_text.split(" where ")[0].removeprefix("on ")


class _Ids:
    """Unique node ids, in the order they are asked for."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, base: str) -> str:
        candidate, n = base, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{base}_{n}"
        self.taken.add(candidate)
        return candidate


_Successor = tuple[int, str]  # (IR index of the next visible node, edge label)


class _Builder:
    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.ir: tuple[Node, ...] = flow.ir.nodes
        self.ids = _Ids()
        # Ends that return the same value are one node: the first of them.
        self.ends: dict[str | None, int] = {}
        for i, node in enumerate(self.ir):
            if isinstance(node, End):
                self.ends.setdefault(node.value, i)

    def build(self) -> Graph:
        nodes: list[GraphNode] = []
        edges: list[GraphEdge] = []
        self.ids.taken.add("exits")
        starts = [GraphNode(self.ids.take("t_" + _slug(_event_of(text))), "trigger", text)
                  for text in describe.start_texts(self.flow)]
        nodes += starts

        successors = self._reachable(self._resolve(0))
        ids = {i: self.ids.take(self._base_id(i)) for i in sorted(successors)}
        nodes += [self._node(i, ids[i]) for i in sorted(successors)]
        first = ids[self._resolve(0)]
        edges += [GraphEdge(start.id, first) for start in starts]
        for i in sorted(successors):
            edges += [GraphEdge(ids[i], ids[j], label) for j, label in successors[i]]

        exits = [describe.exit_text(e) for e in self.flow.exits]
        exits += describe.rules_texts(self.flow)
        if exits:
            nodes.append(GraphNode("exits", "note", "\n".join(exits)))
        return Graph(self.flow.name, tuple(nodes), tuple(edges))

    # -- walking the IR ---------------------------------------------------------

    def _resolve(self, i: int) -> int:
        """The first node a reviewer sees from IR index ``i`` on."""
        seen: set[int] = set()
        while i not in seen and 0 <= i < len(self.ir):
            seen.add(i)
            node = self.ir[i]
            if isinstance(node, Exec):
                i += 1
            elif isinstance(node, Jump):
                i = node.to
            elif isinstance(node, JumpIf) and node.test in ("True", "False"):
                i = node.then if node.test == "True" else node.orelse  # `while True:`
            elif isinstance(node, End):
                return self.ends[node.value]
            else:
                return i
        return _LOOPS_FOREVER

    def _reachable(self, start: int) -> dict[int, list[_Successor]]:
        successors: dict[int, list[_Successor]] = {}
        stack = [start]
        while stack:
            i = stack.pop()
            if i in successors:
                continue
            successors[i] = self._successors(i)
            stack += [j for j, _ in reversed(successors[i]) if j not in successors]
        return successors

    def _test_jump(self, i: int) -> tuple[int, int] | None:
        """For a step whose result an ``if``/``while`` tests at once: (yes, no) targets."""
        step, after = self.ir[i], self.ir[i + 1] if i + 1 < len(self.ir) else None
        if not isinstance(step, Step) or step.target != TEST or not isinstance(after, JumpIf):
            return None
        if after.test == TEST:
            return after.then, after.orelse
        if after.test == f"not {TEST}":
            return after.orelse, after.then
        return None

    def _successors(self, i: int) -> list[_Successor]:
        if i == _LOOPS_FOREVER:
            return []
        node = self.ir[i]
        if isinstance(node, Step):
            yes_no = self._test_jump(i)
            if node.kind == "branch" and yes_no is not None:
                return [(self._resolve(yes_no[0]), "yes"), (self._resolve(yes_no[1]), "no")]
            if node.kind == "split":
                return self._split_arms(i, node)
            return [(self._resolve(i + 1), "")]
        if isinstance(node, JumpIf):
            yes, no = (node.then, node.orelse) if node.test != f"not {TEST}" \
                else (node.orelse, node.then)
            labels = ("next", "done") if _FOR_TEST.match(node.test) else ("yes", "no")
            return [(self._resolve(yes), labels[0]), (self._resolve(no), labels[1])]
        return []

    def _split_arms(self, i: int, step: Step) -> list[_Successor]:
        """A split's edges, one per arm: the ``if arm == "a": ... elif arm == "b"`` that
        tests its result at once is drawn as the split's own edges, as a branch's is."""
        arms = list(describe.split_arms(step.call))
        out: list[_Successor] = []
        j = self._resolve(i + 1)
        while 0 <= j < len(self.ir) and isinstance(self.ir[j], JumpIf):
            jump = self.ir[j]
            assert isinstance(jump, JumpIf)
            match = _ARM_TEST.match(jump.test)
            if step.target is None or match is None or match[1] != step.target \
                    or match[2] not in arms:
                break
            out.append((self._resolve(jump.then), match[2]))
            arms.remove(match[2])
            j = self._resolve(jump.orelse)
        return [*out, (j, " / ".join(arms) if out else "")]

    # -- what each node shows ----------------------------------------------------

    def _base_id(self, i: int) -> str:
        if i == _LOOPS_FOREVER:
            return "e_loops_forever"
        node = self.ir[i]
        if isinstance(node, Step):
            return "s_" + _slug(node.id)
        if isinstance(node, JumpIf):
            condition = self._condition(i)
            if _FOR_TEST.match(node.test) and condition.startswith("for "):
                condition = condition.split(" in ")[0]
            return "c_" + _slug(condition)
        assert isinstance(node, End)
        return "e_" + _slug(node.value.replace(RESULT, "result") if node.value else "end")

    def _node(self, i: int, node_id: str) -> GraphNode:
        if i == _LOOPS_FOREVER:
            return GraphNode(node_id, "end", "loops forever")
        node = self.ir[i]
        if isinstance(node, Step):
            return GraphNode(node_id, *self._step(i, node), step=node.id)
        if isinstance(node, JumpIf):
            return GraphNode(node_id, "decision", self._condition(i))
        assert isinstance(node, End)
        value = node.value.replace(RESULT, "result") if node.value else None
        return GraphNode(node_id, "end", describe.shorten(f"return {value}") if value else "end")

    def _step(self, i: int, step: Step) -> tuple[Shape, str]:
        if step.kind == "branch":
            return "decision", describe.branch_label(step.call, step.id)
        if step.kind == "split":
            return "decision", describe.split_text(step.call, step.id)
        shape: Shape = "action"
        if step.kind == "wait":
            shape, label = "wait", describe.wait_text(step.call)
        elif step.kind == "wait_for":
            shape, label = "wait", describe.wait_for_text(step.call)
        else:
            label = describe.shorten(step.call)
        if step.target and not step.target.startswith("__fk_"):
            label = f"{step.target} = {label}"
        return shape, label

    def _condition(self, i: int) -> str:
        node = self.ir[i]
        assert isinstance(node, JumpIf)
        before = self.ir[i - 1] if i > 0 else None
        if node.test in (TEST, f"not {TEST}") and isinstance(before, Step):
            # `if await wait_for(...)` or `if await some_action(...)`: its result, tested
            return "event arrived?" if before.kind == "wait_for" else f"{before.callee} result?"
        loop = _FOR_TEST.match(node.test)
        body = self.ir[node.then] if 0 <= node.then < len(self.ir) else None
        if loop and isinstance(before, Exec) and isinstance(body, Exec):
            text = describe.for_loop_text(before.code, body.code, f"__fk_items_{loop[1]}")
            if text:
                return text
        return describe.shorten(node.test.replace(TEST, "result"))

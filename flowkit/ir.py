"""The step machine a flow compiles to: frozen, comparable, JSON round-trippable.

A flow is a list of nodes. Control falls through from node ``i`` to ``i + 1`` unless
the node is a ``Jump``, a ``JumpIf`` or an ``End``. Only ``Step`` nodes have stable ids:
they are the places a run can rest (a wait), act (an action) or decide (a branch), and
the ids are what persisted runs, history and diffs refer to. Node indexes are private to
one version of a flow.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar, Literal

import attrs

StepKind = Literal["action", "wait", "wait_for", "branch", "split"]


@attrs.frozen
class Exec:
    """Python statements with no await, run against the run's locals."""

    op: ClassVar[str] = "exec"
    code: str
    line: int


@attrs.frozen
class Step:
    """An awaited call: an action, a wait, a wait_for, a branch or a split.

    ``call`` is the call expression; ``target`` the assignment target of its result
    (``None`` when the result is dropped).
    """

    op: ClassVar[str] = "step"
    id: str
    kind: StepKind
    callee: str
    call: str
    target: str | None
    line: int


@attrs.frozen
class JumpIf:
    """Go to ``then`` when ``test`` is true, else to ``orelse``."""

    op: ClassVar[str] = "jump_if"
    test: str
    then: int
    orelse: int
    line: int


@attrs.frozen
class Jump:
    op: ClassVar[str] = "jump"
    to: int


@attrs.frozen
class End:
    """The flow returns (``value`` is the returned expression, if any)."""

    op: ClassVar[str] = "end"
    value: str | None
    line: int


Node = Exec | Step | JumpIf | Jump | End
_NODE_TYPES: dict[str, type[Node]] = {t.op: t for t in (Exec, Step, JumpIf, Jump, End)}


@attrs.frozen
class FlowIR:
    """One compiled version of a flow.

    ``declaration`` is what the flow's decorators say, one line each, sorted: its
    triggers (``on user.enrolled where ...``), exits (``exit when ...``) and options
    (``reentry after_exit``). The version covers it, so a changed trigger, exit or
    option is a new version as a changed step is.
    """

    name: str
    nodes: tuple[Node, ...]
    locals: tuple[str, ...]
    declaration: tuple[str, ...] = ()
    version: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "version",
                           _version(self.nodes, self.locals, self.declaration))

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(n for n in self.nodes if isinstance(n, Step))

    def step(self, step_id: str) -> Step:
        for node in self.nodes:
            if isinstance(node, Step) and node.id == step_id:
                return node
        raise KeyError(step_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "locals": list(self.locals),
            "declaration": list(self.declaration),
            "nodes": [_node_dict(n) for n in self.nodes],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlowIR:
        nodes = []
        for raw in data["nodes"]:
            fields = dict(raw)
            node_type = _NODE_TYPES[fields.pop("op")]
            nodes.append(node_type(**fields))
        return cls(name=data["name"], nodes=tuple(nodes), locals=tuple(data["locals"]),
                   declaration=tuple(data.get("declaration", ())))

    @classmethod
    def from_json(cls, text: str) -> FlowIR:
        return cls.from_dict(json.loads(text))


def _node_dict(node: Node) -> dict[str, Any]:
    return {"op": node.op, **attrs.asdict(node)}


def _version(nodes: tuple[Node, ...], local_names: tuple[str, ...],
             declaration: tuple[str, ...]) -> str:
    # Line numbers are left out: moving a flow down its file does not change what it does.
    body = [{k: v for k, v in _node_dict(n).items() if k != "line"} for n in nodes]
    parts: list[Any] = [body, list(local_names)]
    if declaration:  # a bare compiled function keeps the version it always had
        parts.append(list(declaration))
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]

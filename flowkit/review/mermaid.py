"""A diagram as a Mermaid flowchart, which GitHub renders in pull requests and Markdown.

Every label is quoted, so brackets, braces and parentheses in call text are plain text;
the characters a quoted label cannot hold as they are (``"``, ``#``, ``<``, ``>`` and the
backtick that would start a Markdown string) are written as Mermaid entity codes.
"""

from __future__ import annotations

from flowkit.review.graph import Graph, GraphNode

_SHAPES = {
    "trigger": ('(["', '"])'),  # stadium
    "action": ('["', '"]'),  # rectangle
    "wait": ('{{"', '"}}'),  # hexagon
    "decision": ('{"', '"}'),  # rhombus
    "end": ('(("', '"))'),  # circle
    "note": ('>"', '"]'),  # flag
}
_ESCAPES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "`": "#96;"}
_STYLES = (
    "classDef trigger fill:#e3f2fd,stroke:#1e88e5",
    "classDef wait fill:#f3e5f5,stroke:#8e24aa",
    "classDef note fill:#fff8c4,stroke:#c9a600",
)


def escape(text: str) -> str:
    """``text`` for inside a quoted Mermaid label (lines become ``<br>``)."""
    escaped = "".join(_ESCAPES.get(c, c) for c in text)
    return "<br>".join(escaped.split("\n"))


def _shape(node: GraphNode) -> tuple[str, str]:
    if node.shape == "end" and len(node.label) > 12:
        return _SHAPES["trigger"]  # a long return value: a stadium, not a huge circle
    return _SHAPES[node.shape]


def to_mermaid(graph: Graph) -> str:
    """The ``flowchart TD`` text of ``graph``, ending with a newline."""
    lines = ["flowchart TD"]
    for node in graph.nodes:
        opening, closing = _shape(node)
        lines.append(f"    {node.id}{opening}{escape(node.label)}{closing}")
    for edge in graph.edges:
        arrow = f"-->|{escape(edge.label)}|" if edge.label else "-->"
        lines.append(f"    {edge.source} {arrow} {edge.target}")
    used = {node.shape for node in graph.nodes}
    for style in _STYLES:
        name = style.split()[1]
        if name in used:
            members = ",".join(n.id for n in graph.nodes if n.shape == name)
            lines += [f"    {style}", f"    class {members} {name}"]
    return "\n".join(lines) + "\n"

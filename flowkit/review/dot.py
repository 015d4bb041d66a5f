"""A diagram as Graphviz DOT, and as SVG through Graphviz's ``dot`` program.

flowkit does not depend on Graphviz: DOT is plain text, and SVG needs ``dot`` on the
PATH only when it is asked for.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap

from flowkit.errors import GraphvizError
from flowkit.review.graph import Graph

_SHAPES = {
    "trigger": 'shape=oval, style=filled, fillcolor="#e3f2fd"',
    "action": "shape=box",
    "wait": 'shape=hexagon, style=filled, fillcolor="#f3e5f5"',
    "decision": "shape=diamond",
    "end": "shape=oval, peripheries=2",
    "note": 'shape=note, style=filled, fillcolor="#fff8c4"',
}
SVG_TIMEOUT = 60.0
WRAP = 40  # Graphviz does not wrap labels: lines longer than this are broken at spaces


def quote(text: str, wrap: int | None = None) -> str:
    """``text`` as a DOT string, with its lines centred (and broken at ``wrap``)."""
    if wrap:
        text = "\n".join(textwrap.fill(line, wrap, break_long_words=False,
                                         break_on_hyphens=False) or line
                           for line in text.split("\n"))
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'


def to_dot(graph: Graph) -> str:
    """The ``digraph`` text of ``graph``, ending with a newline."""
    lines = [
        f"digraph {quote(graph.name)} {{",
        "    rankdir=TB;",
        '    node [fontname="Helvetica", fontsize=11];',
        '    edge [fontname="Helvetica", fontsize=10];',
    ]
    for node in graph.nodes:
        lines.append(f"    {node.id} [label={quote(node.label, WRAP)}, {_SHAPES[node.shape]}];")
    for edge in graph.edges:
        label = f" [label={quote(edge.label)}]" if edge.label else ""
        lines.append(f"    {edge.source} -> {edge.target}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_svg(graph: Graph) -> str:
    """``graph`` drawn by Graphviz as SVG text; ``GraphvizError`` without ``dot``."""
    program = shutil.which("dot")
    if program is None:
        raise GraphvizError(
            "SVG needs Graphviz's `dot` program, which is not installed: install graphviz "
            "(apt-get install graphviz, brew install graphviz) or use --format mermaid or dot"
        )
    try:
        done = subprocess.run([program, "-Tsvg"], input=to_dot(graph), capture_output=True,
                              text=True, check=False, timeout=SVG_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GraphvizError(f"Graphviz's `dot` could not draw {graph.name!r}: {error}") \
            from error
    if done.returncode != 0:
        cause = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise GraphvizError(f"Graphviz's `dot` could not draw {graph.name!r}: {cause}")
    return done.stdout

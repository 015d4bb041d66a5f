"""A flow's diagram as SVG, drawn on the server from ``flowkit graph``'s model.

No JavaScript library and nothing fetched: the graph of ``flowkit.review.graph`` is laid
out in layers (each node one row below its lowest predecessor, loops drawn as edges back
up the right-hand side) and written as SVG markup. Each step's box carries a badge
(``data-step``) with the number of runs resting there, which the page's script updates,
and links to the list of those runs.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping

import attrs
from markupsafe import Markup, escape

from flowkit.review.graph import Graph, GraphEdge, GraphNode

CHAR_W, LINE_H, PAD = 7.2, 15, 10  # monospace 12px
WRAP = 34
ROW_GAP, COL_GAP, MARGIN, LANE = 48, 28, 16, 14


@attrs.define
class Box:
    node: GraphNode
    lines: list[str]
    w: float
    h: float
    x: float = 0.0  # centre
    y: float = 0.0  # top
    layer: int = 0


def _box(node: GraphNode) -> Box:
    lines = [piece for line in node.label.splitlines()
             for piece in (textwrap.wrap(line, WRAP) or [""])][:8]
    width = max(len(line) for line in lines) * CHAR_W + 2 * PAD + (16 if node.step else 0)
    extra = 24 if node.shape == "decision" else 0
    return Box(node, lines, max(width + extra, 90.0), len(lines) * LINE_H + 2 * PAD)


def _back_edges(graph: Graph, order: list[str]) -> set[tuple[str, str]]:
    """Edges that close a loop, found by a depth-first walk in the graph's order."""
    out: dict[str, list[str]] = {n: [] for n in order}
    for edge in graph.edges:
        out[edge.source].append(edge.target)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the walk's path, 2 done

    def visit(node: str) -> None:
        state[node] = 1
        for target in out[node]:
            if state.get(target) == 1:
                back.add((node, target))
            elif target not in state:
                visit(target)
        state[node] = 2

    for node in order:
        if node not in state:
            visit(node)
    return back


def _layers(graph: Graph, order: list[str], back: set[tuple[str, str]]) -> dict[str, int]:
    layer = dict.fromkeys(order, 0)
    forward = [e for e in graph.edges if (e.source, e.target) not in back]
    for _ in range(len(order)):  # longest path; the forward edges form a DAG
        changed = False
        for edge in forward:
            if layer[edge.target] < layer[edge.source] + 1:
                layer[edge.target] = layer[edge.source] + 1
                changed = True
        if not changed:
            break
    return layer


@attrs.define
class Layout:
    boxes: dict[str, Box]
    edges: list[GraphEdge]
    back: set[tuple[str, str]]
    width: float
    height: float
    note: Box | None


def layout(graph: Graph) -> Layout:
    """Where each box of ``graph`` goes."""
    nodes = [n for n in graph.nodes if n.shape != "note"]
    order = [n.id for n in nodes]
    back = _back_edges(graph, order)
    layer = _layers(graph, order, back)
    boxes = {n.id: _box(n) for n in nodes}
    rows: dict[int, list[Box]] = {}
    for node_id in order:
        boxes[node_id].layer = layer[node_id]
        rows.setdefault(layer[node_id], []).append(boxes[node_id])
    parents: dict[str, list[str]] = {n: [] for n in order}
    for edge in graph.edges:
        if (edge.source, edge.target) not in back:
            parents[edge.target].append(edge.source)
    widest = max((sum(b.w for b in row) + COL_GAP * (len(row) - 1) for row in rows.values()),
                 default=0.0)
    y = float(MARGIN)
    for index in sorted(rows):
        row = rows[index]
        if index:
            row.sort(key=lambda b: sum(boxes[p].x for p in parents[b.node.id])
                     / max(len(parents[b.node.id]), 1))
        x = MARGIN + (widest - sum(b.w for b in row) - COL_GAP * (len(row) - 1)) / 2
        for box in row:
            box.x, box.y = x + box.w / 2, y
            x += box.w + COL_GAP
        y += max(b.h for b in row) + ROW_GAP
    width = MARGIN * 2 + widest + LANE * (len(back) + 1)
    note = next((_box(n) for n in graph.nodes if n.shape == "note"), None)
    if note is not None:
        note.x, note.y = width + note.w / 2, MARGIN
        width += note.w + MARGIN
    height = max(y - ROW_GAP + MARGIN, (note.h + 2 * MARGIN) if note else 0)
    return Layout(boxes, list(graph.edges), back, width, height, note)


# -- drawing ----------------------------------------------------------------------

def _shape(box: Box) -> str:
    left, top, w, h = box.x - box.w / 2, box.y, box.w, box.h
    shape = box.node.shape
    if shape == "decision":
        d = 12
        points = [(left, top + h / 2), (left + d, top), (left + w - d, top),
                  (left + w, top + h / 2), (left + w - d, top + h), (left + d, top + h)]
        return '<polygon points="{}"/>'.format(" ".join(f"{px:.1f},{py:.1f}" for px, py in points))
    radius = h / 2 if shape in ("trigger", "end") else 4
    return (f'<rect x="{left:.1f}" y="{top:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'rx="{radius:.1f}"/>')


def _text(box: Box) -> str:
    x = box.x - (8 if box.node.step else 0)
    spans = "".join(f'<tspan x="{x:.1f}" dy="{LINE_H if i else 0}">{escape(line)}</tspan>'
                    for i, line in enumerate(box.lines))
    first = box.y + PAD + LINE_H * 0.75
    return f'<text x="{x:.1f}" y="{first:.1f}" text-anchor="middle">{spans}</text>'


def _badge(box: Box, count: Mapping[str, int]) -> str:
    total = sum(count.values())
    problem = any(count.get(s) for s in ("parked", "failed"))
    classes = "count" + (" zero" if not total else "") + (" problem" if problem else "")
    title = ", ".join(f"{n} {s}" for s, n in sorted(count.items()) if n) or "no runs here"
    x, y = box.x + box.w / 2, box.y
    return (f'<g class="{classes}" data-step="{escape(box.node.step or "")}">'
            f'<title>{escape(title)}</title>'
            f'<rect x="{x - 22:.1f}" y="{y - 9:.1f}" width="40" height="18" rx="9"/>'
            f'<text x="{x - 2:.1f}" y="{y + 4:.1f}" text-anchor="middle">{total}</text></g>')


def _node(box: Box, counts: Mapping[str, Mapping[str, int]],
          link: Callable[[str], str], selected: str | None) -> str:
    step = box.node.step
    classes = f"node {box.node.shape}" + (" selected" if step and step == selected else "")
    body = _shape(box) + _text(box)
    if step:
        body += _badge(box, counts.get(step, {}))
        body = (f'<a href="{escape(link(step))}" data-step-link="{escape(step)}">'
                f'<title>{escape(step)}</title>{body}</a>')
    return f'<g class="{classes}" id="n-{escape(box.node.id)}">{body}</g>'


def _edge(edge: GraphEdge, lay: Layout, lane: float) -> str:
    a, b = lay.boxes[edge.source], lay.boxes[edge.target]
    if (edge.source, edge.target) in lay.back:
        x1, y1 = a.x + a.w / 2, a.y + a.h / 2
        x2, y2 = b.x + b.w / 2, b.y + b.h / 2
        path = f"M{x1:.1f},{y1:.1f} H{lane:.1f} V{y2:.1f} H{x2 + 2:.1f}"
        lx, ly = lane, (y1 + y2) / 2
    else:
        x1, y1, x2, y2 = a.x, a.y + a.h, b.x, b.y
        bend = max((y2 - y1) / 2, 16)
        side = _detour(a, b, lay)  # past the boxes of the rows it skips, on their right
        path = (f"M{x1:.1f},{y1:.1f} C{x1 + side * 4 / 3:.1f},{y1 + bend:.1f} "
                f"{x2 + side * 4 / 3:.1f},{y2 - bend:.1f} {x2:.1f},{y2 - 2:.1f}")
        lx, ly = (x1 + x2) / 2 + side, (y1 + y2) / 2
    label = ""
    if edge.label:
        w = len(edge.label) * CHAR_W + 8
        label = (f'<rect class="edge-label" x="{lx - w / 2:.1f}" y="{ly - 9:.1f}" '
                 f'width="{w:.1f}" height="16" rx="3"/>'
                 f'<text x="{lx:.1f}" y="{ly + 3:.1f}" text-anchor="middle">'
                 f'{escape(edge.label)}</text>')
    return f'<g class="edge"><path d="{path}" marker-end="url(#arrow)"/>{label}</g>'


def _detour(a: Box, b: Box, lay: Layout) -> float:
    """How far (right if positive, left if negative) an edge from ``a`` to ``b`` must
    bow to pass the boxes of the rows between them: 0 when none is in its way, else
    around their nearer side."""
    left = right = 0.0
    for box in lay.boxes.values():
        if a.layer < box.layer < b.layer:
            t = (box.y + box.h / 2 - (a.y + a.h)) / max(b.y - (a.y + a.h), 1.0)
            x = a.x + (b.x - a.x) * t
            if box.x - box.w / 2 - 8 <= x <= box.x + box.w / 2 + 8:
                left = min(left, box.x - box.w / 2 - x - 20)
                right = max(right, box.x + box.w / 2 - x + 20)
    return right if right <= -left else left


def _note(box: Box) -> str:
    left = box.x - box.w / 2
    lines = "".join(f'<tspan x="{left + PAD:.1f}" dy="{LINE_H if i else 0}">{escape(line)}'
                    "</tspan>" for i, line in enumerate(box.lines))
    return (f'<g class="node note"><rect x="{left:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" '
            f'height="{box.h:.1f}" rx="2"/><text x="{left + PAD:.1f}" '
            f'y="{box.y + PAD + LINE_H * 0.75:.1f}">{lines}</text></g>')


def render_svg(graph: Graph, counts: Mapping[str, Mapping[str, int]],
               link: Callable[[str], str], selected: str | None = None) -> Markup:
    """The SVG of ``graph`` with ``counts`` (step -> status -> runs) on its steps;
    ``link(step)`` is where clicking a step goes."""
    lay = layout(graph)
    lanes: dict[tuple[str, str], float] = {}
    base = max((b.x + b.w / 2 for b in lay.boxes.values()), default=0.0) + LANE
    for i, key in enumerate(sorted(lay.back)):
        lanes[key] = base + i * LANE
    parts = [_edge(e, lay, lanes.get((e.source, e.target), base)) for e in lay.edges]
    parts += [_node(box, counts, link, selected) for box in lay.boxes.values()]
    if lay.note is not None:
        parts.append(_note(lay.note))
    return Markup(
        f'<svg class="diagram" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" width="{lay.width:.0f}" '
        f'height="{lay.height:.0f}" role="img" aria-label="{escape(graph.name)}">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/>'
        f'</marker></defs>{"".join(parts)}</svg>')

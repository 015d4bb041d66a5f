"""The formats ``flowkit graph`` draws a flow in: Mermaid, DOT and SVG."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flowkit.dsl.flow import Flow
from flowkit.errors import UnknownFlowError
from flowkit.review.dot import to_dot, to_svg
from flowkit.review.graph import Graph, build_graph
from flowkit.review.mermaid import to_mermaid

RENDERERS: dict[str, Callable[[Graph], str]] = {
    "mermaid": to_mermaid,
    "dot": to_dot,
    "svg": to_svg,
}
FORMATS = tuple(RENDERERS)


def render(flow: Flow, fmt: str = "mermaid") -> str:
    """``flow``'s diagram in ``fmt`` (one of ``FORMATS``)."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown diagram format {fmt!r}: use one of {', '.join(FORMATS)}") \
            from None
    return renderer(build_graph(flow))


def find_flow(flows: Sequence[Flow], name: str) -> Flow:
    """The flow named ``name``; ``UnknownFlowError`` naming the known ones otherwise."""
    for flow in flows:
        if flow.name == name:
            return flow
    known = ", ".join(sorted(f.name for f in flows)) or "none were found"
    raise UnknownFlowError(f"no flow is named {name!r}; known flows: {known}")

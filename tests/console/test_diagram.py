"""The diagram: every flow of the project draws as well-formed SVG with a box and a
badge per step; loops go back up; labels are escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from flowkit.console.diagram import layout, render_svg
from flowkit.dsl.flow import Flow
from flowkit.review.graph import build_graph
from flowkit.runtime.discovery import load_flows
from tests.review import graph_flows

SVG = "{http://www.w3.org/2000/svg}"
PROJECT = load_flows(["automations", "tracks"])
REVIEW = load_flows([graph_flows])


def _draw(flow: Flow, counts: dict[str, dict[str, int]] | None = None) -> ET.Element:
    svg = render_svg(build_graph(flow), counts or {}, lambda step: f"?step={step}")
    return ET.fromstring(str(svg))


@pytest.mark.parametrize("flow", PROJECT + REVIEW, ids=lambda f: f.name)
def test_every_flow_draws_a_badge_on_each_reachable_step(flow: Flow) -> None:
    svg = _draw(flow)
    badges = {g.get("data-step") for g in svg.iter(f"{SVG}g") if g.get("data-step")}
    reachable = {n.step for n in build_graph(flow).nodes if n.step}
    assert badges == reachable


@pytest.mark.parametrize("flow", PROJECT + REVIEW, ids=lambda f: f.name)
def test_boxes_of_one_row_do_not_overlap(flow: Flow) -> None:
    boxes = list(layout(build_graph(flow)).boxes.values())
    for a in boxes:
        for b in boxes:
            if a is not b and a.layer == b.layer:
                assert abs(a.x - b.x) >= (a.w + b.w) / 2, (a.node.id, b.node.id)


def test_a_loop_is_drawn_back_up_the_right_side() -> None:
    (flow,) = [f for f in REVIEW if any(e.label == "next" for e in build_graph(f).edges)][:1]
    lay = layout(build_graph(flow))
    assert lay.back, "a for loop's body returns to its test"
    for source, target in lay.back:
        assert lay.boxes[target].layer <= lay.boxes[source].layer


def test_counts_are_drawn_on_their_steps() -> None:
    flow = next(f for f in PROJECT if f.name == "onboarding_drip")
    step = next(n.step for n in build_graph(flow).nodes if n.step and n.shape == "wait")
    svg = _draw(flow, {step: {"waiting": 7, "parked": 2}})
    (badge,) = [g for g in svg.iter(f"{SVG}g") if g.get("data-step") == step]
    assert badge.find(f"{SVG}text").text == "9"
    assert "problem" in badge.get("class", "")
    assert badge.find(f"{SVG}title").text == "2 parked, 7 waiting"


def test_an_edge_that_skips_a_row_bows_around_its_box() -> None:
    from flowkit.console.diagram import _detour
    from tests.console.flows import checkout

    lay = layout(build_graph(checkout))
    (no,) = [e for e in lay.edges if e.label == "no"]  # big order? -> wait 30 days
    a, b = lay.boxes[no.source], lay.boxes[no.target]
    (skipped,) = [x for x in lay.boxes.values() if a.layer < x.layer < b.layer]
    assert skipped.node.label == "send_email('thanks-big')"
    bow = a.x + _detour(a, b, lay)
    assert bow > skipped.x + skipped.w / 2 or bow < skipped.x - skipped.w / 2

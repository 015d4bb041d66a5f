"""Checks across flows: unique names, where ``add_to_track`` sends users, and enrollment
cycles ("Avoid loops: never create A → B → A circular enrollments").

The enrollment graph: a flow leads to each track it adds users to (an ``add_to_track``
whose destination can be told), and a track to each flow a ``track.joined`` for it
starts (a trigger on ``track.joined`` whose ``where`` accepts ``{"track": <track>}``;
a ``where`` that fails on that payload is taken to say no).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from flowkit.dsl.flow import Flow
from flowkit.ir import Step
from flowkit.lms.tracks import JOINED
from flowkit.review._check_calls import callee, text
from flowkit.review._check_finding import Finding, def_line, finding, near, shown
from flowkit.review._check_paths import components


def duplicate_names(flows: Sequence[Flow]) -> Iterator[Finding]:
    """An error for each flow named like one loaded before it, naming both files."""
    first: dict[str, Flow] = {}
    for flow in flows:
        known = first.setdefault(flow.name, flow)
        if known is not flow:
            yield finding(
                flow, def_line(flow), "error", "duplicate-name",
                f"two flows are named {flow.name!r}: {shown(known.program.file)}:"
                f"{def_line(known)} and {shown(flow.program.file)}:{def_line(flow)}",
                "give one of them another name (@automation(name=...) or another slug)")


def enrollments(flow: Flow) -> Iterator[tuple[Step, str]]:
    """The flow's ``add_to_track`` steps whose destination can be told, with it."""
    for step in flow.ir.steps:
        if callee(step) == "add_to_track":
            target = text(flow, step, 0, "track")
            if target is not None:
                yield step, target


def track_destinations(flows: Sequence[Flow]) -> Iterator[Finding]:
    """An error for a track adding users to itself, and for anyone adding users to a
    track that is not there or not active."""
    by_name: dict[str, Flow] = {}
    for flow in flows:
        by_name.setdefault(flow.name, flow)
    tracks = sorted(name for name, f in by_name.items() if f.kind == "track")
    for flow in flows:
        for step, target in enrollments(flow):
            found = by_name.get(target)
            if flow.kind == "track" and target == flow.name:
                message = f"add_to_track({target!r}) adds users to the track they are in"
                hint = "add them to another track"
            elif found is None or found.kind != "track":
                close = near(target, tracks, most=2)
                message = f"add_to_track({target!r}): there is no track {target!r}" + (
                    f"; did you mean {close!r}?" if close else "")
                hint = (f"add users to one of the tracks ({', '.join(tracks)})" if tracks
                        else f"define the track with @track({target!r})")
            elif not found.active:
                message = f"add_to_track({target!r}): track {target!r} is not active"
                hint = "activate it (active=True), or add users to an active track"
            else:
                continue
            yield finding(flow, step.line, "error", "track-destination", message, hint)


def follows(flow: Flow, track: str) -> bool:
    """Whether a ``track.joined`` for ``track`` starts ``flow``."""
    for trigger in flow.triggers:
        if trigger.event != JOINED:
            continue
        if trigger.where is None:
            return True
        try:
            if trigger.where({"event": JOINED, "track": track, "reenroll": False}):
                return True
        except Exception:  # a where reading a field a join does not carry
            continue
    return False


def track_cycles(flows: Sequence[Flow]) -> Iterator[Finding]:
    """An error for each ``add_to_track`` on an enrollment cycle, naming the cycle."""
    tracks = {f.name for f in flows if f.kind == "track"}
    edges: dict[str, set[str]] = {f.name: set() for f in flows}
    steps = [(flow, step, target) for flow in flows for step, target in enrollments(flow)
             if target in tracks and target != flow.name]  # to itself: a destination error
    for flow, _, target in steps:
        edges[flow.name].add(target)
    for track in sorted(tracks):
        edges[track] |= {f.name for f in flows if f.name != track and follows(f, track)}
    parts = components(sorted(edges), lambda node: sorted(edges[node]))
    part_of = {node: n for n, part in enumerate(parts) for node in part}
    for flow, step, target in steps:
        if part_of[flow.name] == part_of[target]:
            cycle = " → ".join([flow.name, *_shortest_path(edges, target, flow.name)])
            yield finding(flow, step.line, "error", "track-cycle",
                          f"add_to_track({target!r}) closes the enrollment cycle {cycle}",
                          "never enroll users back into a track that led them here: "
                          "remove one add_to_track of the cycle")


def _shortest_path(edges: dict[str, set[str]], start: str, goal: str) -> list[str]:
    """The nodes of a shortest path from ``start`` to ``goal``, both included."""
    came: dict[str, str | None] = {start: None}
    queue = [start]
    for node in queue:
        if node == goal:
            break
        for nxt in sorted(edges[node]):
            if nxt not in came:
                came[nxt] = node
                queue.append(nxt)
    path: list[str] = []
    at: str | None = goal
    while at is not None:
        path.insert(0, at)
        at = came.get(at)
    return path

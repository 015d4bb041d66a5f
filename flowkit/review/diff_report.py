"""``flowkit diff``'s output: a report for the terminal, a pull-request comment in
Markdown (with each changed flow's diagram before and after), or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs

from flowkit.review.diff import FlowDiff, Snapshot
from flowkit.review.effects import BLOCKING, Effect

MARKER = "<!-- flowkit diff -->"  # lets a CI job find and update its own comment
_PHRASES = {"strand": "be stranded", "repeat": "repeat an action", "skip": "skip an action"}
_MARKS = {"strand": "⛔", "repeat": "⚠️", "skip": "⚠️"}


def text(diffs: Sequence[FlowDiff], ref: str, counted: bool,
         allowed: Sequence[str] = ()) -> str:
    """The report: each changed flow, what happens to its waiting runs, its steps."""
    if not diffs:
        return f"No flow changed since `{ref}`.\n"
    lines = [f"### Flow changes since `{ref}`", ""]
    for d in diffs:
        lines += _flow(d, counted, allowed)
    return "\n".join(lines) + "\n"


def comment(diffs: Sequence[FlowDiff], ref: str, counted: bool, before: Snapshot,
            after: Snapshot, allowed: Sequence[str] = ()) -> str:
    """A pull-request comment: the counts, the consequences, the steps, and each
    changed flow's diagram before and after."""
    if not diffs:
        return f"{MARKER}\n**flowkit diff**: no flow changed since `{ref}`.\n"
    lines = [MARKER, f"## flowkit diff against `{ref}`", "", summary(diffs, counted, allowed),
             ""]
    for d in diffs:
        lines += _flow(d, counted, allowed)
        lines += _diagrams(d, before.diagrams.get(d.flow), after.diagrams.get(d.flow))
    return "\n".join(lines) + "\n"


def summary(diffs: Sequence[FlowDiff], counted: bool, allowed: Sequence[str] = ()) -> str:
    """One paragraph: how many flows changed, which effects block, how to acknowledge."""
    flows = f"{len(diffs)} flow{'' if len(diffs) == 1 else 's'} changed"
    blocking = [e for d in diffs for e in d.blocking()]
    if not blocking:
        where = "the runs waiting now" if counted else "waiting runs"
        return f"**{flows}; compatible with {where}.**"
    kinds = sorted({e.kind for e in blocking}, key=BLOCKING.index)
    left = [k for k in kinds if k not in allowed]
    said = ", ".join(_phrase(k, blocking, counted) for k in kinds)
    who = f"{_affected(blocking)} waiting runs would" if counted else "waiting runs would"
    verdict = (f"unacknowledged: `flowkit diff` fails until a reviewer passes "
               f"`--allow {','.join(left)}`" if left
               else f"acknowledged with `--allow {','.join(kinds)}`")
    return f"**{flows}; {who} {said}** ({verdict})."


def as_json(diffs: Sequence[FlowDiff]) -> str:
    def encode(d: FlowDiff) -> dict[str, Any]:
        return {**attrs.asdict(d, filter=lambda a, _: a.name != "effects"),
                "compatible": d.compatible, "stranded": d.stranded,
                "effects": [{**attrs.asdict(e), "blocking": e.blocking} for e in d.effects]}

    return json.dumps([encode(d) for d in diffs], indent=2, ensure_ascii=False)


# -- parts -------------------------------------------------------------------------------

def _flow(d: FlowDiff, counted: bool, allowed: Sequence[str]) -> list[str]:
    versions = f"{d.version_before or '—'} → {d.version_after or '—'}"
    lines = [f"#### `{d.flow}` ({d.status}, {versions}): {_verdict(d, counted)}", ""]
    if d.effects:
        lines += ["What it does to the runs waiting:", ""]
        lines += [f"- {_effect(e, allowed)}" for e in d.effects]
        lines.append("")
    if d.steps:
        header, sep = "| step | change | before | after |", "|---|---|---|---|"
        if counted:
            header, sep = header + " waiting runs |", sep + "---|"
        lines += [header, sep]
        for s in d.steps:
            row = f"| `{s.step}` | {s.change} | {_code(s.before)} | {_code(s.after)} |"
            lines.append(row + (f" {s.waiting} |" if counted else ""))
        lines.append("")
    return lines


def _verdict(d: FlowDiff, counted: bool) -> str:
    blocking = d.blocking()
    if not blocking:
        return "compatible with the runs waiting now" if counted \
            else "compatible with waiting runs"
    kinds = sorted({e.kind for e in blocking}, key=BLOCKING.index)
    said = ", ".join(_phrase(k, blocking, counted) for k in kinds)
    if counted:
        return f"**{_affected(blocking)} waiting runs would {said}**"
    return f"**runs waiting at {', '.join(sorted({f'`{e.step}`' for e in blocking}))} " \
           f"would {said}**"


def _phrase(kind: str, effects: Sequence[Effect], counted: bool) -> str:
    if not counted:
        return _PHRASES[kind]
    runs = {(e.step, e.runs) for e in effects if e.kind == kind}
    return f"{_PHRASES[kind]} ({sum(n or 0 for _, n in runs)})"


def _affected(effects: Sequence[Effect]) -> int:
    """Runs affected: each resting step's runs once, however many effects it has."""
    return sum({e.step: e.runs or 0 for e in effects}.values())


def _effect(e: Effect, allowed: Sequence[str]) -> str:
    if not e.blocking:
        return f"{e.kind}: {e.text}"
    ok = " (acknowledged)" if e.kind in allowed else ""
    return f"{_MARKS[e.kind]} **{e.kind}**{ok}: {e.text}"


def _diagrams(d: FlowDiff, before: str | None, after: str | None) -> list[str]:
    if before is None and after is None:
        return []
    lines = ["<details><summary>Diagram of <code>" + d.flow + "</code>, before and after"
             "</summary>", ""]
    for title, diagram in (("Before", before), ("After", after)):
        lines += [f"**{title}**", ""]
        lines += (["```mermaid", diagram.rstrip("\n"), "```"] if diagram
                  else ["(no such flow)"])
        lines.append("")
    return [*lines, "</details>", ""]


def _code(text: str | None) -> str:
    return f"`{text}`" if text else ""

"""``flowkit report <flow>``: how a flow does, counted from the database.

Conversion (runs that reached the flow's goal) overall, per branch answer and per split
arm; drop-off per step (runs that reached it, rest there now, or ended there); and the
messages quiet hours and frequency caps deferred or dropped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import attrs
import sqlalchemy as sa

from flowkit.errors import UnknownFlowError
from flowkit.ir import FlowIR
from flowkit.store import LIVE, Store
from flowkit.store import schema as t

ENDED_THERE = ("exited", "failed", "parked")


@attrs.frozen
class Arm:
    """One answer of a branch or one arm of a split: runs that took it, and converted."""

    step: str
    kind: str  # branch | split
    arm: str
    runs: int
    converted: int


@attrs.frozen
class StepCount:
    step: str
    reached: int
    resting: int  # live runs at this step now
    ended: int  # runs that exited, failed or were parked here


@attrs.frozen
class Held:
    """Messages at ``step`` that ``rule`` deferred or dropped."""

    step: str
    rule: str
    outcome: str
    count: int


@attrs.frozen
class FlowReport:
    flow: str
    version: str
    runs: int
    converted: int
    by_status: dict[str, int]
    arms: tuple[Arm, ...]
    steps: tuple[StepCount, ...]
    held: tuple[Held, ...]


def build(conn: sa.Connection, store: Store, flow: str) -> FlowReport:
    """The report of ``flow`` (its newest version's steps) from the database."""
    ir = _latest_ir(conn, flow)
    rows = store.find_runs(conn, flow=flow)
    history = store.history(conn, [r.id for r in rows])
    converted = set(conn.execute(sa.select(t.conversions.c.run_id)
                                 .where(t.conversions.c.flow == flow)).scalars())
    arms: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    reached: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for entry in history[row.id]:
            if entry["step"]:
                reached[entry["step"]].add(row.id)
            if entry["kind"] == "branch":
                answer = "yes" if entry["detail"].get("value") else "no"
                arms[(entry["step"], "branch", answer)].add(row.id)
            elif entry["kind"] == "split":
                arms[(entry["step"], "split", str(entry["detail"].get("arm")))].add(row.id)
    resting = Counter(r.step for r in rows if r.status in LIVE)
    ended = Counter(r.step for r in rows if r.status in ENDED_THERE)
    return FlowReport(
        flow=flow, version=ir.version, runs=len(rows), converted=len(converted),
        by_status=dict(Counter(r.status for r in rows)),
        arms=tuple(Arm(step, kind, arm, len(ids), len(ids & converted))
                   for (step, kind, arm), ids in sorted(arms.items())),
        steps=tuple(StepCount(s.id, len(reached[s.id]), resting[s.id], ended[s.id])
                    for s in ir.steps),
        held=_held(conn, flow))


def _latest_ir(conn: sa.Connection, flow: str) -> FlowIR:
    found = conn.execute(sa.select(t.flow_versions.c.ir).where(t.flow_versions.c.flow == flow)
                         .order_by(t.flow_versions.c.created_at.desc()).limit(1)).first()
    if found is None:
        known = sorted(conn.execute(sa.select(t.flow_versions.c.flow).distinct()).scalars())
        raise UnknownFlowError(f"the database knows no flow {flow!r} (it knows: "
                               f"{', '.join(known) or 'none'}); run the flow first")
    return FlowIR.from_dict(found[0])


def _held(conn: sa.Connection, flow: str) -> tuple[Held, ...]:
    log = t.rule_log
    query = (sa.select(log.c.step, log.c.rule, log.c.outcome, sa.func.count())
             .where(log.c.flow == flow).group_by(log.c.step, log.c.rule, log.c.outcome)
             .order_by(log.c.step, log.c.rule, log.c.outcome))
    return tuple(Held(r[0], r[1], r[2], int(r[3])) for r in conn.execute(query))


def _rate(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "0/0"


def render(report: FlowReport) -> str:
    """The report as text, for the terminal."""
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(report.by_status.items()))
    lines = [f"{report.flow} (version {report.version}): {report.runs} runs"
             + (f" ({statuses})" if statuses else ""),
             f"converted: {_rate(report.converted, report.runs)}", ""]
    if report.arms:
        lines.append("conversion per branch and split arm:")
        lines += [f"  {a.kind} {a.step!r} {a.arm}: {_rate(a.converted, a.runs)}"
                  for a in report.arms]
        lines.append("")
    lines.append("steps (reached / resting there / ended there):")
    lines += [f"  {s.step}: {s.reached} / {s.resting} / {s.ended}" for s in report.steps]
    lines += ["", "messages held by the journey rules:"]
    lines += [f"  {h.step}: {h.count} {h.outcome} by {h.rule.replace('_', ' ')}"
              for h in report.held] or ["  none"]
    return "\n".join(lines) + "\n"


def as_dict(report: FlowReport) -> dict[str, Any]:
    return attrs.asdict(report)

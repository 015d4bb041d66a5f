"""``flowkit inspect``: every run of a user, or one run, and why it is where it is.

Readable tables (rich) for people, JSON for tools: each run's flow, status, step,
version, what it waits for and until when, why it stopped, and its history (steps,
branch outcomes, actions with their idempotency keys, exits and their reasons).
"""

from __future__ import annotations

import json
from typing import Any

import attrs
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flowkit.runtime.records import HistoryRecord, RunRecord

GONE = "the code no longer has this flow: end the run with `flowkit runs end {id} --reason ...`"


def as_json(runs: list[RunRecord], known: set[str] | None = None) -> str:
    """The runs as JSON; given the flows in the code, ``flow_gone`` marks the runs of a
    flow that is not among them."""
    def default(value: object) -> object:
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    def encode(run: RunRecord) -> dict[str, Any]:
        data = attrs.asdict(run)
        if known is not None:
            data["flow_gone"] = run.flow not in known
        return data

    return json.dumps([encode(r) for r in runs], default=default, indent=2,
                      ensure_ascii=False)


def _gone(run: RunRecord, known: set[str] | None) -> bool:
    return known is not None and run.flow not in known


def _waiting(run: RunRecord) -> str:
    if run.status != "waiting":
        return ""
    parts = []
    if run.waits_for:
        parts.append(f"for {run.waits_for}")
    if run.wakes_at:
        parts.append(f"until {run.wakes_at:%Y-%m-%d %H:%M:%S} UTC")
    return " ".join(parts)


def _describe(entry: HistoryRecord) -> str:
    d = entry.detail
    if entry.kind == "action":
        args = ", ".join(repr(a) for a in d.get("args", []))
        kwargs = ", ".join(f"{k}={v!r}" for k, v in d.get("kwargs", {}).items())
        call = ", ".join(p for p in (args, kwargs) if p)
        return f"{d.get('action')}({call}) -> {d.get('result')!r}  [key {d.get('key')}]"
    if entry.kind == "branch":
        return f"{d.get('label')} -> {'yes' if d.get('value') else 'no'}"
    if entry.kind == "waiting":
        return f"until {d.get('until')}"
    if entry.kind == "waiting_for":
        until = f" until {d['until']}" if d.get("until") else ""
        return f"{d.get('event')}{until}"
    if entry.kind == "resumed":
        return f"by {d.get('by')}" + (f": {d['event'].get('event')}" if d.get("event") else "")
    if entry.kind == "started":
        event: dict[str, Any] = d.get("event", {})
        fields = {k: v for k, v in event.items() if k not in ("event", "user")}
        return f"by {event.get('event')} {fields or ''}".rstrip()
    if entry.kind == "ended":
        return f"by {d.get('by')}: {d.get('reason')}"
    if entry.kind in ("exited", "parked", "failed", "completed"):
        return str(d.get("reason", d.get("value", "")) or "")
    return json.dumps(d, default=str) if d else ""


def render(runs: list[RunRecord], console: Console, *, history: bool = True,
           known: set[str] | None = None) -> None:
    """Print the runs as a table, then each run's history. Given the flows in the code
    (``known``), a run whose flow is not among them is marked ``(gone)``."""
    table = Table(title=f"{len(runs)} run(s)", show_lines=False)
    for column in ("run", "flow", "status", "step", "waiting", "version", "reason"):
        table.add_column(column, overflow="fold")
    for run in runs:
        gone = _gone(run, known)
        live = run.status in ("waiting", "running", "parked", "failed")
        reason = run.reason or ""
        if gone and live:
            reason = "; ".join(p for p in (reason, GONE.format(id=run.id[:8])) if p)
        table.add_row(*(escape(cell) for cell in (
            run.id[:8], run.flow + (" (gone)" if gone else ""), run.status, run.step or "",
            _waiting(run), run.version, reason)))
    console.print(table)
    if not history:
        return
    for run in runs:
        steps = Table(title=escape(f"{run.flow} {run.id} ({run.user})"), title_justify="left")
        for column in ("at (UTC)", "what", "step", "detail"):
            steps.add_column(column, overflow="fold")
        for entry in run.history:
            steps.add_row(*(escape(cell) for cell in (
                f"{entry.at:%Y-%m-%d %H:%M:%S}", entry.kind, entry.step or "",
                _describe(entry))))
        console.print(steps)

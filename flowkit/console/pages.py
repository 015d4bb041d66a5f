"""The console's pages: flows, a flow, a run, a user, the problems.

Each is a function of the console and the request that reads what it shows with a few
queries (``queries.py``) and renders its template.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import urllib.parse
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from flowkit import _json
from flowkit.console import diagram, queries
from flowkit.console.auth import root_path
from flowkit.dsl.flow import Flow
from flowkit.ir import Step
from flowkit.review import describe
from flowkit.review.graph import build_graph
from flowkit.store import database

if TYPE_CHECKING:
    from flowkit.console.app import Console


def _when(value: object) -> str:
    """A moment in UTC, to the second (stored moments are UTC already)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, dt.datetime):
        if value.utcoffset():
            value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=True)


def _short(value: object, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str,
                                                           ensure_ascii=False)
    return describe.shorten(text, limit)


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _literal(value: object, limit: int = 120) -> str:
    """A value as it was given (strings quoted), on one line."""
    return describe.shorten(json.dumps(value, default=str, ensure_ascii=False), limit)


FILTERS = {"when": _when, "pretty": _pretty, "short": _short, "literal": _literal,
           "q": _quote}


def _sparkline(days: list[int]) -> str:
    top = max(days) or 1
    bars = "".join(
        f'<rect x="{i * 4}" y="{20 - 20 * n / top:.1f}" width="3" height="{20 * n / top:.1f}">'
        f"<title>{n}</title></rect>" for i, n in enumerate(days))
    return f'<svg class="spark" width="{len(days) * 4}" height="20">{bars}</svg>'


def _today(console: Console) -> dt.date:
    now = console.engine.clock.now()
    return dt.date(now.year, now.month, now.day)


# -- flows -----------------------------------------------------------------------

def flows(console: Console, request: Request) -> Response:
    with database.reading(console.engine.db) as conn:
        counts, counted_at = console.tally.status_counts(conn)
        starts = console.tally.starts_per_day(conn, _today(console))
    known = console.engine.flows
    names = sorted(set(known) | set(counts))
    rows = [{"name": name, "kind": known[name].kind if name in known else "(not loaded)",
             "title": known[name].title if name in known else None,
             "counts": counts.get(name, {}), "starts": sum(starts.get(name, [])),
             "spark": _sparkline(starts.get(name, [0] * 30))} for name in names]
    totals = {s: sum(c.get(s, 0) for c in counts.values()) for s in queries.STATUSES}
    return console.render(request, "flows.html", flows=rows, statuses=queries.STATUSES,
                          totals=totals, counted_at=counted_at)


# -- a flow ----------------------------------------------------------------------

def _source(flow: Flow) -> tuple[int, list[str]]:
    """The first line number and the lines of the flow's ``async def``."""
    try:
        lines, first = inspect.getsourcelines(flow.program.fn)
    except (OSError, TypeError):
        return 1, ["# source not available"]
    return first, [line.rstrip("\n") for line in lines]


def _step_line(flow: Flow, step: str | None) -> int | None:
    for node in flow.ir.nodes:
        if isinstance(node, Step) and node.id == step:
            return node.line
    return None


def flow(console: Console, request: Request) -> Response:
    name = request.path_params["name"]
    found = console.engine.flows.get(name)
    if found is None:
        return console.render(request, "error.html", 404,
                              message=f"No flow named {name!r} is loaded in this console.")
    selected = request.query_params.get("step")
    with database.reading(console.engine.db) as conn:
        counts = queries.step_counts(conn, name)
        status = console.tally.status_counts(conn)[0].get(name, {})
        at_step = queries.runs_at(conn, name, selected) if selected else []
        versions = queries.versions(conn, name)
    base = f"{root_path(request)}/flows/{_quote(name)}"
    svg = diagram.render_svg(build_graph(found), counts,
                             lambda step: f"{base}?step={_quote(step)}#runs", selected)
    first, lines = _source(found)
    steps = [{"id": s.id, "kind": s.kind, "line": s.line, "counts": counts.get(s.id, {})}
             for s in found.ir.steps]
    known = {s.id for s in found.ir.steps}
    steps += [{"id": step, "kind": "not in the loaded version", "line": None,
               "counts": counts[step]} for step in sorted(counts) if step not in known]
    return console.render(
        request, "flow.html", flow=found, svg=svg, steps=steps, selected=selected,
        at_step=at_step, versions=versions, status=status, statuses=queries.STATUSES,
        resting=queries.RESTING, triggers=describe.start_texts(found),
        exits=[describe.exit_text(e) for e in found.exits], first=first, lines=lines,
        highlight=_step_line(found, selected))


def flow_counts(console: Console, request: Request) -> Response:
    name = request.path_params["name"]
    with database.reading(console.engine.db) as conn:
        counts = queries.step_counts(conn, name)
    return JSONResponse({"flow": name, "counts": counts,
                         "at": console.engine.clock.now().isoformat()},
                        headers={"Cache-Control": "no-store"})


# -- a run -----------------------------------------------------------------------

def run(console: Console, request: Request) -> Response:
    run_id = request.path_params["run_id"]
    with database.reading(console.engine.db) as conn:
        found = queries.run(conn, run_id)
        if found is None:
            return console.render(request, "error.html", 404,
                                  message=f"No run has the id {run_id!r}.")
        entries = queries.history(conn, run_id)
        rest = queries.rest(conn, run_id)
    flow_ = console.engine.flows.get(found["flow"])
    first, lines = _source(flow_) if flow_ else (1, [])
    return console.render(
        request, "run.html", run=found, history=entries, rest=rest, flow=flow_,
        locals=_json.from_jsonable(found["locals"]) if found["locals"] else {},
        first=first, lines=lines, highlight=_step_line(flow_, found["step"]) if flow_ else None,
        done=request.query_params.get("done"))


# -- users -----------------------------------------------------------------------

def users(console: Console, request: Request) -> Response:
    text = request.query_params.get("q", "").strip()
    found: list[dict[str, Any]] = []
    if text:
        with database.reading(console.engine.db) as conn:
            found = queries.find_users(conn, text)
        if len(found) == 1:
            return RedirectResponse(f"{root_path(request)}/users/{_quote(found[0]['id'])}",
                                    303)
    return console.render(request, "users.html", q=text, users=found)


def user(console: Console, request: Request) -> Response:
    user_id = request.path_params["user_id"]
    with database.reading(console.engine.db) as conn:
        profile = queries.user(conn, user_id)
        runs = queries.user_runs(conn, user_id)
        messages = queries.user_messages(conn, user_id)
    if profile is None and not runs:
        return console.render(request, "error.html", 404,
                              message=f"No user has the id {user_id!r}.")
    kinds = {name: f.kind for name, f in console.engine.flows.items()}
    tracks = [r for r in runs if kinds.get(r["flow"]) == "track"]
    timers = sorted((r for r in runs if r["due_at"] is not None), key=lambda r: r["due_at"])
    return console.render(request, "user.html", user_id=user_id, profile=profile or {},
                          runs=runs, messages=messages, tracks=tracks, timers=timers)


# -- problems --------------------------------------------------------------------

def problems(console: Console, request: Request) -> Response:
    with database.reading(console.engine.db) as conn:
        groups = queries.problems(conn)
    steps = {name: [s.id for s in f.ir.steps] for name, f in console.engine.flows.items()}
    return console.render(request, "problems.html", groups=groups, steps=steps,
                          done=request.query_params.get("done"))

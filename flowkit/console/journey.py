"""The report page of a flow (what ``flowkit report`` prints): conversion per branch and
split arm, drop-off per step, messages held by the journey rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from flowkit.errors import UnknownFlowError
from flowkit.rules import report as reports
from flowkit.store import database

if TYPE_CHECKING:
    from flowkit.console.app import Console


def report(console: Console, request: Request) -> Response:
    name = request.path_params["name"]
    try:
        with database.reading(console.engine.db) as conn:
            built = reports.build(conn, console.engine.store, name)
    except UnknownFlowError as error:
        return console.render(request, "error.html", 404, message=str(error))
    return console.render(request, "report.html", report=built, percent=_percent)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"

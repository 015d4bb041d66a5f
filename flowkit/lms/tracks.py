"""Tracks: adding users to another track, and the checks on where they may be added.

``add_to_track`` follows the "Add User to Track" step: the destination is an active
track other than the current one (checked when the flows are loaded); enrollment is
automatic (the track starts now) or manual (an invitation with a message and a join
button; the track starts when the user joins, i.e. when the app sends ``track.joined``);
an optional confirmation message (default "You've been added to the track! 🎉") follows
the enrollment; re-enrollment is off by default (users who started the track before
are skipped) or on (a new instance, the old one's progress kept apart). Messages take
``{{ user }}`` and ``{{ manager }}``. Both tracks run side by side: adding to a track
neither pauses nor ends the current one. ``who="manager"`` enrolls the user's manager.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any, Literal

from flowkit.context import Run
from flowkit.dsl.action import action
from flowkit.dsl.flow import Flow
from flowkit.errors import CompileError
from flowkit.ir import Step
from flowkit.lms import emails

DEFAULT_CONFIRMATION = "You've been added to the track! 🎉"
JOINED = "track.joined"


def _render(text: str, run: Run) -> str:
    from flowkit.lms.actions import _placeholders

    return emails.render_text(text, _placeholders(run))


@action(templates=("text",))
def send_message(text: str, *, run: Run) -> str:
    """Post an in-app message to the user; ``{{ user }}`` and ``{{ manager }}`` are
    filled in. Returns the text sent."""
    rendered = _render(text, run)
    run.platform.message(run.user.id, rendered, key=run.idempotency_key(),
                         track=run.flow)
    return rendered


@action(templates=("invitation", "confirmation"))
def add_to_track(track: str, *, method: Literal["automatic", "manual"] = "automatic",
                 invitation: str | None = None, button: str = "Join",
                 confirmation: str | None = DEFAULT_CONFIRMATION, reenroll: bool = False,
                 who: Literal["user", "manager"] = "user", run: Run) -> str:
    """Add the user (or their manager) to ``track``. Returns what happened: "added",
    "invited", or "skipped" (they started it before and ``reenroll`` is off)."""
    if method not in ("automatic", "manual"):
        raise ValueError(f"method must be 'automatic' or 'manual', not {method!r}")
    if method == "manual" and not invitation:
        raise ValueError("a manual enrollment needs an invitation= message")
    if who == "manager":
        if not run.user.manager:
            raise ValueError(f"user {run.user.id!r} has no manager to add to {track!r}")
        member = run.user.manager
    else:
        member = run.user.id
    platform = run.platform
    key = run.idempotency_key()
    texts = {name: _render(value, run) for name, value in
             (("invitation", invitation), ("confirmation", confirmation)) if value}
    if not reenroll and platform.started_track(member, track):
        return "skipped"
    if method == "manual":
        platform.invite(member, track, key=key, message=texts["invitation"], button=button,
                        confirmation=texts.get("confirmation"), reenroll=reenroll)
        return "invited"
    if "confirmation" in texts:
        platform.message(member, texts["confirmation"], key=f"{key}:confirmation",
                         kind="confirmation", track=track)
    payload: dict[str, Any] = {"track": track, "reenroll": reenroll, "from": run.flow}
    if member != run.user.id:
        payload["for"] = run.user.id
    run.emit_for(member, JOINED, key=f"{key}:joined", **payload)
    return "added"


def check_destinations(flows: Iterable[Flow]) -> None:
    """Reject, at load, an ``add_to_track`` whose literal destination is not an active
    track other than the one it is in."""
    flows = list(flows)
    by_name = {f.name: f for f in flows}
    for flow in flows:
        for step in flow.ir.steps:
            if step.callee.rsplit(".", 1)[-1] != "add_to_track":
                continue
            target = _literal_track(step)
            if target is None:
                continue
            problem = _problem(flow, target, by_name)
            if problem:
                raise CompileError(problem, flow=flow.name, file=flow.program.file,
                                   line=step.line, column=0,
                                   hint="add users only to an active track other than "
                                        "this one")


def _literal_track(step: Step) -> str | None:
    call = ast.parse(step.call, mode="eval").body
    if not isinstance(call, ast.Call):
        return None
    first = call.args[0] if call.args else next(
        (k.value for k in call.keywords if k.arg == "track"), None)
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def _problem(flow: Flow, target: str, by_name: dict[str, Flow]) -> str | None:
    if target == flow.name:
        return f"add_to_track({target!r}) adds users to the track they are in"
    destination = by_name.get(target)
    if destination is None or destination.kind != "track":
        known = ", ".join(sorted(f.name for f in by_name.values() if f.kind == "track"))
        return f"add_to_track({target!r}): no track {target!r} (tracks: {known or 'none'})"
    if not destination.active:
        return f"add_to_track({target!r}): track {target!r} is not active"
    return None

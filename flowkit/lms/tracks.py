"""Tracks: adding users to another track, and the checks on where they may be added.

``add_to_track`` follows the "Add User to Track" step: the destination is an active
track other than the current one (checked when the flows are loaded); enrollment is
automatic (the track starts now) or manual (an invitation with a message and a join
button; the track starts when the user joins, i.e. when the app sends ``track.joined``);
an optional confirmation message (default "You’ve been added to the track! 🎉") follows
the enrollment, once per enrollment; re-enrollment is off by default (users who started
the track before are skipped) or on (a new instance, the old one's progress kept apart).
What each call did, and why it skipped, is in the platform's track ledger
(``sim.platform.track_enrollments(user)``). A destination computed at run time that
names no active track is skipped, as is one already upstream of this enrollment chain
(A → B → A within ``FLOWKIT_TRACK_LOOP_DAYS``): ``skipped: would loop (...)``. Messages take
``{{ user }}`` and ``{{ manager }}``. Both tracks run side by side: adding to a track
neither pauses nor ends the current one. ``who="manager"`` enrolls the user's manager.
"""

from __future__ import annotations

import ast
import datetime as dt
import logging
import os
from collections.abc import Iterable
from typing import Any, Literal

from flowkit.context import Run
from flowkit.dsl.action import action
from flowkit.dsl.flow import Flow
from flowkit.errors import CompileError
from flowkit.ir import Step
from flowkit.lms import emails

DEFAULT_CONFIRMATION = "You’ve been added to the track! 🎉"  # the seed's words
JOINED = "track.joined"
log = logging.getLogger("flowkit.lms")
_tracks: dict[str, bool] = {}  # the tracks the loaded flows define: slug -> active


def _render(text: str, run: Run) -> str:
    from flowkit.lms.actions import _placeholders

    return emails.render_text(text, _placeholders(run))


@action(channel="message", templates=("text",))
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
    "invited", or "skipped: <why>" (and then sends nothing): the track is unknown or
    inactive, adding would loop back up this enrollment chain, they started the track
    before (``reenroll`` off), or another run added them a moment ago."""
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
    chain = _chain(run) if member == run.user.id else []
    record = _Recorder(platform, member, track, key, method,
                       None if member == run.user.id else run.user.id, run.flow)
    texts = {name: _render(value, run) for name, value in  # before anything is written
             (("invitation", invitation), ("confirmation", confirmation)) if value}
    result = "invited" if method == "manual" else "added"
    if record.earlier() != result:  # (a retried attempt that recorded goes straight on)
        why = _destination_problem(track) or _loop(track, chain, run)
        if why is None and not reenroll and platform.started_track(member, track):
            why = "started the track before (re-enrollment is off)"
        if why is not None:
            return record.skipped(why)
    once = None if reenroll else f"{result}:{member}:{track}"
    if not record.claim(result, once):
        return record.skipped("invited before: the invitation is still open"
                              if method == "manual" else "added by another run a moment ago")
    if method == "manual":
        platform.invite(member, track, key=key, message=texts["invitation"], button=button,
                        confirmation=texts.get("confirmation"), reenroll=reenroll)
        return "invited"
    if "confirmation" in texts:
        platform.message(member, texts["confirmation"], key=f"{key}:confirmation",
                         kind="confirmation", track=track)
    link = {"flow": run.flow, "at": run.now.isoformat()}
    payload: dict[str, Any] = {"track": track, "reenroll": reenroll, "from": run.flow,
                               "chain": [*chain, link] if member == run.user.id else []}
    if member != run.user.id:
        payload["for"] = run.user.id
    run.emit_for(member, JOINED, key=f"{key}:joined", **payload)
    return "added"


class _Recorder:
    """Writes what one ``add_to_track`` did to the platform's track ledger (a platform
    without one, such as an adapter, records nothing)."""

    def __init__(self, platform: Any, member: str, track: str, key: str, method: str,
                 for_user: str | None, from_flow: str) -> None:
        self.platform = platform
        self.record = getattr(platform, "record_track", None)
        self.fields = {"key": key, "method": method, "for_user": for_user,
                       "from_flow": from_flow}
        self.member, self.track = member, track

    def earlier(self) -> str | None:
        """The result an earlier attempt of this same step recorded, if any."""
        ask = getattr(self.platform, "recorded_track", None)
        return None if ask is None else str(ask(self.fields["key"]) or "") or None

    def claim(self, result: str, once: str | None) -> bool:
        if self.record is None:
            return True
        return bool(self.record(self.member, self.track, result=result, once=once,
                                **self.fields))

    def skipped(self, reason: str) -> str:
        if self.record is not None:
            self.record(self.member, self.track, result="skipped", reason=reason,
                        **self.fields)
        log.info("add_to_track(%r) skipped for %s: %s", self.track, self.member, reason)
        return f"skipped: {reason}"


def _destination_problem(track: str) -> str | None:
    """Why ``track`` cannot be joined, as the loaded flows say (a computed destination
    is checked here, at run time; a literal one was checked when the flows loaded)."""
    if not _tracks:
        return None  # no flows loaded through load_flows: nothing to check against
    if track not in _tracks:
        known = ", ".join(sorted(_tracks)) or "none"
        return f"no track {track!r} (tracks: {known})"
    if not _tracks[track]:
        return f"track {track!r} is not active"
    return None


def loop_window() -> dt.timedelta:
    """How far back the run-time loop guard looks: ``FLOWKIT_TRACK_LOOP_DAYS`` days
    (default 30)."""
    raw = os.environ.get("FLOWKIT_TRACK_LOOP_DAYS", "").strip()
    try:
        days = float(raw) if raw else 30.0
    except ValueError:
        raise ValueError(f"FLOWKIT_TRACK_LOOP_DAYS must be a number of days, "
                         f"got {raw!r}") from None
    return dt.timedelta(days=days)


def _chain(run: Run) -> list[dict[str, str]]:
    """The flows that added this user, one after the other, up to this run, within the
    loop window."""
    since = run.now - loop_window()
    chain = run.event.get("chain") if run.event.get("event") == JOINED else None
    out: list[dict[str, str]] = []
    for link in chain or ():
        try:
            at = dt.datetime.fromisoformat(str(link["at"]))
        except (KeyError, TypeError, ValueError):
            continue
        if at >= since:
            out.append({"flow": str(link["flow"]), "at": str(link["at"])})
    return out


def _loop(track: str, chain: list[dict[str, str]], run: Run) -> str | None:
    """``would loop`` when ``track`` is already upstream of this enrollment chain."""
    upstream = [link["flow"] for link in chain] + [run.flow]
    if track not in upstream:
        return None
    path = " → ".join([*upstream[upstream.index(track):], track])
    return f"would loop ({path})"


def check_destinations(flows: Iterable[Flow]) -> None:
    """Reject, at load, an ``add_to_track`` whose literal destination is not an active
    track other than the one it is in."""
    flows = list(flows)
    by_name = {f.name: f for f in flows}
    _tracks.update({f.name: f.active for f in flows if f.kind == "track"})
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

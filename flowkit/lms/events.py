"""The school's events: their names and the payload fields each must carry.

``flowkit.Engine.emit`` asks the platform to check each event before recording it, so
an event missing a field a trigger, an exit or a question relies on is refused with a
clear error at the door (the caller still has it) instead of being half-used later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowkit.errors import EventError

REQUIRED: dict[str, tuple[str, ...]] = {
    "user.signed_up": (),            # optional: source, registered_at
    "user.enrolled": ("course",),
    "unit.completed": ("course", "unit"),
    "course.completed": ("course",),
    "certificate.awarded": ("certificate",),  # optional: expires_at
    "user.signed_in": (),
    "user.visited": (),              # optional: course
    "user.inactive": ("days",),
    "track.joined": ("track",),
}


def check(name: str, payload: Mapping[str, Any]) -> None:
    """Raise ``EventError`` when a known event lacks a field it must carry."""
    missing = [f for f in REQUIRED.get(name, ()) if payload.get(f) in (None, "")]
    if missing:
        needed = ", ".join(f"{f}=..." for f in REQUIRED[name])
        raise EventError(f"event {name!r} needs {needed}; it came without "
                         f"{', '.join(missing)}")

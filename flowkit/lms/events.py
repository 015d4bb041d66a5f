"""The school's events: their names and the payload fields each must carry.

``flowkit.Engine.emit`` asks the platform to check each event before recording it, so
an event missing a field a trigger, an exit or a question relies on is refused with a
clear error at the door (the caller still has it) instead of being half-used later.
"""

from __future__ import annotations

import datetime as dt
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


DATES: dict[str, tuple[str, ...]] = {  # fields that are dates (ISO), when present
    "user.signed_up": ("registered_at",),
    "certificate.awarded": ("expires_at",),
}


def check(name: str, payload: Mapping[str, Any]) -> None:
    """Raise ``EventError`` when a known event lacks a field it must carry, or carries
    a date field (``DATES``) that is not an ISO date or date-time."""
    missing = [f for f in REQUIRED.get(name, ()) if payload.get(f) in (None, "")]
    if missing:
        needed = ", ".join(f"{f}=..." for f in REQUIRED[name])
        raise EventError(f"event {name!r} needs {needed}; it came without "
                         f"{', '.join(missing)}")
    for field in DATES.get(name, ()):
        value = payload.get(field)
        if value in (None, "") or isinstance(value, dt.date):
            continue
        try:
            dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise EventError(f"event {name!r}: {field}={value!r} is not a date; send an "
                             "ISO date such as 2026-03-02 or 2026-03-02T09:00:00+00:00"
                             ) from None

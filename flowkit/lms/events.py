"""The school's events: their names and the payload fields each must carry.

``flowkit.Engine.emit`` asks the platform to check each event before recording it, so
an event missing a field a trigger, an exit or a question relies on is refused with a
clear error at the door (the caller still has it) instead of being half-used later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowkit.errors import EventError
from flowkit.lms import tables as t
from flowkit.runtime.validation import Field

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


def _text(column: Any, *, required: bool = True) -> Field:
    """A text field written to ``column``: no longer than it holds."""
    return Field(required=required, max_length=column.type.length)


# What the platform checks of each event at the door (``Engine.emit``): required fields,
# texts no longer than the columns the platform's bookkeeping writes them to, dates.
FIELDS: dict[str, dict[str, Field]] = {
    "user.signed_up": {"registered_at": Field(date=True)},
    "user.enrolled": {"course": _text(t.enrollments.c.course)},
    "unit.completed": {"course": _text(t.units.c.course), "unit": _text(t.units.c.unit)},
    "course.completed": {"course": _text(t.completions.c.course)},
    "certificate.awarded": {"certificate": _text(t.certificates.c.certificate),
                            "expires_at": Field(date=True)},
    "user.signed_in": {"course": _text(t.visits.c.course, required=False)},
    "user.visited": {"course": _text(t.visits.c.course, required=False)},
    "user.inactive": {"days": Field(required=True)},
    "track.joined": {"track": _text(t.invitations.c.track)},
}


def fields(name: str) -> dict[str, Field]:
    """The declared fields of event ``name`` (none for an event the school does not
    know)."""
    return FIELDS.get(name, {})


def check(name: str, payload: Mapping[str, Any]) -> None:
    """Raise ``EventError`` when a known event lacks a field it must carry."""
    missing = [f for f in REQUIRED.get(name, ()) if payload.get(f) in (None, "")]
    if missing:
        needed = ", ".join(f"{f}=..." for f in REQUIRED[name])
        raise EventError(f"event {name!r} needs {needed}; it came without "
                         f"{', '.join(missing)}")

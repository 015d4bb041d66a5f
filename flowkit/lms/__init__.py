"""The learning platform: the school's actions, its questions, and its platform.

Actions (await them in a flow): ``enroll``, ``add_tag``, ``send_email``,
``send_notification``, ``add_to_space``. Questions are methods of ``run.user``:
``units_completed(course)``, ``is_enrolled(course)``, ``has_tag(tag)``,
``returned_since(moment)``. ``render(text, run, **values)`` renders a template in the
sandbox, for custom actions. ``SqlPlatform`` is the built-in platform (tables in
flowkit's database); ``Platform`` is the protocol an adapter to a school's own API
implements.
"""

from flowkit.errors import TemplateError, UnknownCourseError
from flowkit.lms.actions import (
    add_tag,
    add_to_space,
    enroll,
    send_email,
    send_notification,
)
from flowkit.lms.platform import Platform, SqlPlatform
from flowkit.lms.rendering import render
from flowkit.lms.tracks import DEFAULT_CONFIRMATION, add_to_track, send_message
from flowkit.lms.triggers import event_date, field_date, on_inactive

__all__ = [
    # actions
    "add_tag",
    "add_to_space",
    "add_to_track",
    "enroll",
    "send_email",
    "send_message",
    "send_notification",
    "DEFAULT_CONFIRMATION",
    # triggers and dates
    "event_date",
    "field_date",
    "on_inactive",
    # the platform, and rendering a template for a custom action
    "Platform",
    "SqlPlatform",
    "render",
    # errors
    "TemplateError",
    "UnknownCourseError",
]

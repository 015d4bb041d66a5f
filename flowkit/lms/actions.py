"""The school's actions: enroll, add a tag, send an email or a notification, add to a
community space.

Each is an ``@action``: it runs at least once per step visit, with the step's
idempotency key, and writes through the platform in the step's own transaction, so its
effect commits exactly once with the step (and a retry writes nothing twice). Each is
recorded in the run's history and in the action ledger. Each checks everything it can
before it writes anything, so an action that fails leaves nothing half-done.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flowkit.context import Run
from flowkit.dsl.action import action
from flowkit.errors import UnknownCourseError
from flowkit.lms import emails


def _platform(run: Run) -> Any:
    if run.platform is None:
        raise RuntimeError("flowkit.lms actions run inside an Engine or a Simulation")
    return run.platform


def placeholders(run: Run) -> dict[str, Any]:
    """What every template of a run is given: ``user``, ``email``, ``event``, and
    ``manager`` and ``course`` when there are such."""
    user = run.user
    manager = None
    if user.manager and run.platform is not None:
        manager = run.platform.user_name(user.manager)
    context: dict[str, Any] = {
        "user": user.name or user.id,
        "email": user.email,
        "event": dict(run.event),
    }
    if manager is not None:
        context["manager"] = manager
    if "course" in run.event:
        context["course"] = run.event["course"]
    return context


_placeholders = placeholders  # the name flowkit.lms.tracks imports


@action
def enroll(*courses: str, payment: bool | float | str | None = None, invoice: bool = False,
           run: Run) -> list[str]:
    """Enroll the user in one or several courses.

    ``payment=True`` records a payment at the course's catalog price, ``payment=49``
    records one of that amount; ``invoice=True`` issues an invoice. Returns the courses
    the user was newly enrolled in, for each of which a ``user.enrolled`` event follows
    (so enrollment-triggered automations run as if the school had enrolled them).
    """
    if not courses:
        raise ValueError("enroll() needs at least one course")
    platform = _platform(run)
    key = run.idempotency_key()
    unknown = [course for course in courses if not platform.course_exists(course)]
    if unknown:
        raise UnknownCourseError(
            f"no course {', '.join(map(repr, unknown))} in the catalog; add it, or fix "
            "the automation")
    amounts = {course: _amount(platform, course, payment) for course in courses}
    new = []
    for course in courses:
        if platform.enroll(run.user.id, course, key=f"{key}:{course}",
                           payment=amounts[course], invoice=invoice):
            new.append(course)
            run.emit("user.enrolled", key=f"{key}:{course}:enrolled", course=course,
                     source="automation")
    return new


def _amount(platform: Any, course: str, payment: bool | float | str | None
            ) -> Decimal | None:
    if payment is None or payment is False:
        return None
    if payment is True:
        price = platform.course_price(course)
        return Decimal(price) if price is not None else Decimal(0)
    try:
        return Decimal(str(payment))
    except InvalidOperation as error:
        raise ValueError(f"payment must be True or an amount, got {payment!r}") from error


@action
def add_tag(tag: str, *, run: Run) -> bool:
    """Tag the user (for segments); returns whether the tag is new."""
    return bool(_platform(run).add_tag(run.user.id, tag, key=run.idempotency_key()))


@action(channel="email")
def send_email(template: str, *, run: Run, **values: Any) -> str:
    """Send the user the email ``template`` (``emails/<template>.txt`` or ``.html``),
    rendered with the user's placeholders and ``values``. Returns its subject."""
    rendered = emails.render(template, {**placeholders(run), **values})
    _platform(run).send_email(run.user.id, run.user.email, template=template,
                              subject=rendered.subject, body=rendered.body,
                              key=run.idempotency_key())
    return rendered.subject


@action(channel="notification", templates=("text",))
def send_notification(text: str, *, run: Run, **values: Any) -> str:
    """Send an in-app notification; ``{{ user }}``-style placeholders and ``values`` are
    filled in, in the sandbox. ``text`` is written in the flow (a template), and the
    values are data: ``send_notification("Hi {{ nick }}", nick=run.event["nick"])``."""
    rendered = emails.render_text(text, {**placeholders(run), **values},
                                  name="send_notification's text")
    _platform(run).notify(run.user.id, rendered, key=run.idempotency_key())
    return rendered


@action
def add_to_space(space: str, *, run: Run) -> bool:
    """Add the user to a community space; returns whether they were not in it yet."""
    return bool(_platform(run).add_to_space(run.user.id, space, key=run.idempotency_key()))

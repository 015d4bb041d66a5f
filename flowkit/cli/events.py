"""``flowkit emit``: put an event into the running system."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from flowkit.cli._group import main
from flowkit.dsl.flow import Flow

_RESERVED = {"event": "the event's name is the first argument",
             "user": "give the user with --user",
             "idempotency_key": "give the key with --key"}


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def unknown_event_warning(event: str, flows: list[Flow]) -> str | None:
    """Why ``event`` will likely do nothing: no loaded flow starts, exits or waits on
    it, and neither the school's platform nor pyproject.toml's ``[tool.flowkit] events``
    knows it (with the closest known name, for a typo)."""
    from flowkit.lms.events import REQUIRED
    from flowkit.review._check_finding import near
    from flowkit.review._check_texts import _references
    from flowkit.review.check import _configured_events

    heard = {name for flow in flows for _line, name, _where in _references(flow)}
    configured, _problems = _configured_events(Path("pyproject.toml"))
    if event in heard or event in REQUIRED or event in configured:
        return None
    close = near(event, heard | set(REQUIRED) | configured, most=2)
    hint = f"; did you mean {close!r}?" if close else ""
    return (f"no flow listens to {event!r} and the platform does not know it: it is "
            f"recorded, and nothing will happen{hint}")


class _Nudge:
    """Sends the workers their message; an unreachable Redis is noted, not raised: the
    event is already stored, and the scheduler finds it in SQL."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.problem: Exception | None = None

    def events_appended(self, engine: Any, shards: set[int]) -> None:
        from flowkit.runtime.faults import transient

        try:
            self.inner.events_appended(engine, shards)
        except Exception as error:
            self.problem = transient(error)
            if self.problem is None:
                raise


def _not_stored(error: Exception, event: str, user: str) -> Exception | None:
    """The database problem behind ``error`` as one line that says the event is not
    stored (so sending it again is right); None for other errors."""
    from flowkit.errors import ServiceError
    from flowkit.runtime.faults import diagnose

    problem = diagnose(error)
    if problem is None:
        return None
    return ServiceError(f"{event} for {user} was not stored: {problem}",
                        service=problem.service, kind=problem.kind,
                        transient=problem.transient)


@main.command()
@click.argument("event")
@click.argument("fields", nargs=-1)
@click.option("--user", "-u", required=True, help="The id of the user the event is about.")
@click.option("--key", default=None, help="Idempotency key: an event seen before is dropped.")
@click.option("--database-url", envvar="DATABASE_URL", default=None,
              help="Defaults to $DATABASE_URL, else sqlite:///flowkit.db.")
def emit(event: str, fields: tuple[str, ...], user: str, key: str | None,
         database_url: str | None) -> None:
    """Emit EVENT for a user, with payload FIELDS as key=value (values read as JSON
    when they parse: course=python-101 units=3 paid=true)."""
    from flowkit.errors import EventError
    from flowkit.runtime.engine import Engine

    payload: dict[str, Any] = {}
    for field in fields:
        name, sep, value = field.partition("=")
        if not sep or not name:
            raise EventError(f"payload fields are key=value, got {field!r}")
        if name in _RESERVED:
            raise EventError(f"payload field {name!r} is reserved: {_RESERVED[name]}")
        payload[name] = _value(value)
    from flowkit.runtime import services

    redis_url = services.redis_url()
    dispatcher = None
    if redis_url:  # a running system: its workers route the event
        os.environ.setdefault("REDIS_URL", redis_url)
        from flowkit.runtime.worker import DramatiqDispatcher

        dispatcher = _Nudge(DramatiqDispatcher())
    try:
        with Engine(database_url or services.database_url(), dispatcher=dispatcher) as engine:
            warning = unknown_event_warning(event, list(engine.flows.values()))
            if warning:
                click.secho(f"warning: {warning}", fg="yellow", err=True)
            result = engine.emit(event, user, idempotency_key=key, **payload)
    except Exception as error:
        problem = _not_stored(error, event, user)
        if problem is None:
            raise
        raise problem from error
    if result.duplicate:
        click.echo(f"{event} for {user}: duplicate of an earlier event (key {result.key}), "
                   "dropped")
    elif dispatcher is not None and dispatcher.problem is not None:
        click.secho(f"{event} for {user}: stored (key {result.key}), but not sent to the "
                    f"workers: {services.redact_url(dispatcher.problem)}; the scheduler "
                    "sends it once Redis is back", fg="yellow", err=True)
    elif dispatcher is not None:
        click.echo(f"{event} for {user}: recorded and sent to the workers (key {result.key})")
    else:
        click.echo(f"{event} for {user}: recorded and routed (key {result.key})")

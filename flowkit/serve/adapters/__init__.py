"""Platform webhook adapters: a platform's webhook payloads as flowkit events.

An adapter is a name and a mapping from the platform's webhook type to a function that
returns the events of one payload::

    from flowkit.serve.adapters import Adapter, event

    acme = Adapter("acme", {
        "student.created": lambda p: event("user.signed_up", p["student"]["id"]),
        "course.finished": lambda p: event("course.completed", p["student"]["id"],
                                           course=p["course"]["slug"]),
    })

``POST /v1/webhooks/acme`` then verifies the signature, reads the type (``type_of``,
by default the payload's ``type``), and emits what the function returns (one event, a
list, or none). A type that is not in the mapping is acknowledged and recorded as a
``webhook.unknown`` event, never an error. A payload the function cannot read (a
``KeyError``, ``TypeError`` or ``ValueError``) is refused with a 400 and stores nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from flowkit.errors import ServeConfigError, WebhookPayloadError

Event = dict[str, Any]
Mapper = Callable[[Any], "Event | list[Event] | None"]
UNKNOWN = "webhook.unknown"


def event(name: str, user: object, **fields: Any) -> Event:
    """One flowkit event: its name, its user's id, and its payload fields."""
    if user is None or user == "":
        raise ValueError(f"no user id for {name!r}")
    return {"event": name, "user": str(user), **fields}


def _type(payload: Any) -> str:
    return str(payload["type"])


def _no_user(payload: Any) -> str | None:
    return None


@attrs.frozen
class Adapter:
    """A platform's webhooks: ``mapping`` from webhook type to a function of the
    payload that returns its events; ``user_of`` finds the user of an unknown type's
    payload (for the record it leaves), when it can."""

    name: str
    mapping: Mapping[str, Mapper]
    type_of: Callable[[Any], str] = _type
    user_of: Callable[[Any], str | None] = _no_user

    def events(self, payload: Any) -> tuple[str, list[Event]]:
        """The webhook's type and its events (a ``webhook.unknown`` record for a type
        the mapping does not have)."""
        try:
            kind = self.type_of(payload)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise WebhookPayloadError(self.name, "?", f"no webhook type ({_what(error)})"
                                      ) from None
        mapper = self.mapping.get(kind)
        if mapper is None:
            return kind, [self._unknown(kind, payload)]
        try:
            made = mapper(payload)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise WebhookPayloadError(self.name, kind, _what(error)) from None
        if made is None:
            return kind, []
        return kind, [made] if isinstance(made, dict) else list(made)

    def _unknown(self, kind: str, payload: Any) -> Event:
        try:
            user = self.user_of(payload)
        except (KeyError, TypeError, ValueError, IndexError):
            user = None
        return event(UNKNOWN, user or f"webhook:{self.name}", adapter=self.name, type=kind,
                     payload=payload)


def _what(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"the payload has no {error.args[0]!r}"
    return f"{type(error).__name__}: {error}"


def load(specs: Iterable[str]) -> dict[str, Adapter]:
    """The built-in adapters and those ``specs`` name ("package.module:attribute")."""
    from flowkit.serve.adapters.learnworlds import learnworlds

    adapters = {learnworlds.name: learnworlds}
    for spec in specs:
        module, _, attribute = spec.partition(":")
        try:
            adapter = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError, ValueError) as error:
            raise ServeConfigError(f"webhook adapter {spec!r} names nothing importable "
                                   f"({error}); write it as package.module:attribute"
                                   ) from error
        if not isinstance(adapter, Adapter):
            raise ServeConfigError(f"webhook adapter {spec!r} is a {type(adapter).__name__}"
                                   ", not a flowkit.serve.adapters.Adapter")
        adapters[adapter.name] = adapter
    return adapters

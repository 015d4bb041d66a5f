"""What the console needs to know: who may sign in, and which flows it shows.

The console is closed by default. ``FLOWKIT_CONSOLE_PASSWORD`` lets operators in (they
see the repair buttons); ``FLOWKIT_CONSOLE_READONLY_PASSWORD`` lets readers in (they see
everything, change nothing). Either works as a sign-in password or as a bearer token
(``Authorization: Bearer ...``) for scripts. With neither set the console is off, unless
it runs in demo mode and the request comes from loopback.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Literal

import attrs

from flowkit.runtime.discovery import Source

Role = Literal["operator", "read-only"]
OPERATOR: Role = "operator"
READ_ONLY: Role = "read-only"


@attrs.frozen
class ConsoleSettings:
    """The console's settings (``ConsoleSettings.from_env()`` reads the environment).

    ``secure_cookies``: ``None`` marks the session cookie ``Secure`` when the request
    came over TLS (``https``, as uvicorn's ``--proxy-headers`` reports it behind a
    proxy); ``True``/``False`` force it. ``flows``: where the flows are (default: the
    working directory's ``automations/`` and ``tracks/``). ``poll_seconds``: how often
    an open flow page refreshes its counts; ``counts_seconds``: how long the flows
    page's counts are reused (``tally.py``).
    """

    operator_password: str | None = attrs.field(default=None, repr=False)
    readonly_password: str | None = attrs.field(default=None, repr=False)
    demo: bool = False
    flows: Sequence[Source] | None = None
    secure_cookies: bool | None = None
    session_hours: float = 12.0
    poll_seconds: float = 5.0
    counts_seconds: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object
                 ) -> ConsoleSettings:
        """Settings from ``FLOWKIT_CONSOLE_PASSWORD``, ``FLOWKIT_CONSOLE_READONLY_PASSWORD``,
        ``FLOWKIT_CONSOLE_DEMO`` (``1`` for demo mode) and ``FLOWKIT_FLOWS`` (the workers'
        sources of flows), then ``overrides``."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "operator_password": env.get("FLOWKIT_CONSOLE_PASSWORD") or None,
            "readonly_password": env.get("FLOWKIT_CONSOLE_READONLY_PASSWORD") or None,
            "demo": env.get("FLOWKIT_CONSOLE_DEMO", "") in ("1", "true", "yes"),
        }
        if env.get("FLOWKIT_FLOWS"):
            values["flows"] = tuple(env["FLOWKIT_FLOWS"].split(os.pathsep))
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def closed(self) -> bool:
        """No password is set: only demo mode on loopback opens the console."""
        return not (self.operator_password or self.readonly_password)

    def role_of(self, password: str) -> Role | None:
        """The role a password or token grants, if any (compared in constant time)."""
        import hmac

        given = password.encode()
        if self.operator_password and hmac.compare_digest(given, self.operator_password.encode()):
            return OPERATOR
        if self.readonly_password and hmac.compare_digest(given,
                                                          self.readonly_password.encode()):
            return READ_ONLY
        return None

    def signing_key(self) -> bytes:
        """The key sessions and CSRF tokens are signed with: derived from the passwords,
        so every console process behind a balancer agrees, and changing a password
        signs everyone out."""
        material = f"flowkit-console\0{self.operator_password or ''}\0" \
                   f"{self.readonly_password or ''}\0{self.demo}"
        return hashlib.sha256(material.encode()).digest()

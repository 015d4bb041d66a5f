"""What ``flowkit serve`` is configured with, read from the environment.

``FLOWKIT_API_KEYS`` (bearer keys for the events API) and ``FLOWKIT_WEBHOOK_SECRETS``
(Standard Webhooks secrets, ``whsec_...``) each hold one or more values separated by
commas or spaces, so a key or secret is rotated by listing the new one beside the old.
Keys may also be stored hashed in the database (``flowkit keys add``). Plain values are
kept out of every ``repr``: only their hashes and counts are printed.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping

import attrs

from flowkit.errors import ServeConfigError

MAX_BODY_BYTES = 1_048_576
MAX_BATCH = 1_000


def split_values(text: str | None) -> tuple[str, ...]:
    """The values of a comma- or space-separated setting, empty ones dropped."""
    return tuple(v for v in (text or "").replace(",", " ").split() if v)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@attrs.frozen
class ServeSettings:
    """The front door's settings (``ServeSettings.from_env()`` reads them)."""

    api_keys: tuple[str, ...] = attrs.field(default=(), repr=lambda v: f"<{len(v)} keys>")
    webhook_secrets: tuple[str, ...] = attrs.field(
        default=(), repr=lambda v: f"<{len(v)} secrets>")
    demo: bool = False  # nothing configured: open, and only on loopback
    max_body_bytes: int = MAX_BODY_BYTES
    max_batch: int = MAX_BATCH
    adapters: tuple[str, ...] = ()  # more webhook adapters, as "module:attribute"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServeSettings:
        env = os.environ if env is None else env
        try:
            return cls(
                api_keys=split_values(env.get("FLOWKIT_API_KEYS")),
                webhook_secrets=split_values(env.get("FLOWKIT_WEBHOOK_SECRETS")),
                demo=env.get("FLOWKIT_SERVE_DEMO", "") in ("1", "true", "yes"),
                max_body_bytes=int(env.get("FLOWKIT_MAX_BODY_BYTES", MAX_BODY_BYTES)),
                max_batch=int(env.get("FLOWKIT_MAX_BATCH", MAX_BATCH)),
                adapters=split_values(env.get("FLOWKIT_WEBHOOK_ADAPTERS")))
        except ValueError as error:
            raise ServeConfigError(f"FLOWKIT_MAX_BODY_BYTES and FLOWKIT_MAX_BATCH are "
                                   f"whole numbers: {error}") from error

    def check_can_start(self, host: str, stored_keys: int) -> None:
        """Refuse to listen open: without any API key (in the environment or stored) or
        webhook secret, only demo mode on a loopback address may start."""
        if self.api_keys or self.webhook_secrets or stored_keys:
            return
        if self.demo and is_loopback(host):
            return
        if self.demo:
            raise ServeConfigError(
                f"demo mode (no key, no secret: anyone may post) listens on loopback "
                f"only, not on {host}; use --host 127.0.0.1, or configure keys")
        raise ServeConfigError(
            "no API key or webhook secret is configured, and flowkit serve does not "
            "start open: set FLOWKIT_API_KEYS (or `flowkit keys add NAME`) and/or "
            "FLOWKIT_WEBHOOK_SECRETS, or pass --demo on 127.0.0.1")

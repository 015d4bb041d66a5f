"""The events API's bearer keys: made, stored hashed, listed, revoked, and checked.

A key is ``fk_`` and 43 random URL-safe characters: with that much entropy a plain
SHA-256 is as safe to store as a slow password hash, and lets a request be checked by
one lookup. Only the hash and the first characters (to tell keys apart in a listing)
are stored; the key itself is printed once, by ``flowkit keys add``.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable

import attrs
import pendulum
import sqlalchemy as sa

from flowkit.errors import ApiKeyError
from flowkit.store import database
from flowkit.store import schema as t

PREFIX = "fk_"
SHOWN = 10  # characters of a key kept in clear for listings


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@attrs.frozen
class StoredKey:
    """A key as listed: its name and first characters, never the key."""

    name: str
    prefix: str
    created_at: pendulum.DateTime
    revoked_at: pendulum.DateTime | None


def add_key(db: sa.Engine, name: str) -> str:
    """Store a new key under ``name`` and return it (the only time it is seen)."""
    key = new_key()
    with db.begin() as conn:
        taken = conn.execute(sa.select(t.api_keys.c.name).where(t.api_keys.c.name == name))
        if taken.first() is not None:
            raise ApiKeyError(f"an API key is already named {name!r}; choose another name "
                              "(rotate by adding a new key, then revoking the old one)")
        conn.execute(t.api_keys.insert().values(
            name=name, hash=hash_key(key), prefix=key[:SHOWN],
            created_at=pendulum.now("UTC"), revoked_at=None))
    return key


def list_keys(db: sa.Engine) -> list[StoredKey]:
    with database.reading(db) as conn:
        rows = conn.execute(sa.select(t.api_keys).order_by(t.api_keys.c.created_at))
        return [StoredKey(r.name, r.prefix, r.created_at, r.revoked_at) for r in rows]


def revoke_key(db: sa.Engine, name: str) -> None:
    """Revoke the key named ``name``: requests with it are refused from the next
    refresh of each server's key cache (``KeyRing.ttl`` seconds at most)."""
    with db.begin() as conn:
        done = conn.execute(t.api_keys.update().where(
            t.api_keys.c.name == name, t.api_keys.c.revoked_at.is_(None)
        ).values(revoked_at=pendulum.now("UTC")))
    if done.rowcount == 0:
        known = ", ".join(k.name for k in list_keys(db) if k.revoked_at is None) or "none"
        raise ApiKeyError(f"no live API key is named {name!r} (live keys: {known})")


def live_key_count(db: sa.Engine) -> int:
    with database.reading(db) as conn:
        query = sa.select(sa.func.count()).select_from(t.api_keys).where(
            t.api_keys.c.revoked_at.is_(None))
        return int(conn.execute(query).scalar_one())


class KeyRing:
    """The hashes of the keys that open the events API: those of the environment, and
    the live ones of the database, re-read at most every ``ttl`` seconds."""

    def __init__(self, env_keys: Iterable[str], db: sa.Engine, ttl: float = 5.0) -> None:
        self._env = frozenset(hash_key(k) for k in env_keys)
        self._db = db
        self.ttl = ttl
        self._stored: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")

    def stale(self) -> bool:
        return time.monotonic() - self._loaded_at > self.ttl

    def refresh(self) -> None:
        """Re-read the stored keys (blocking: call it from a thread)."""
        with database.reading(self._db) as conn:
            rows = conn.execute(sa.select(t.api_keys.c.hash).where(
                t.api_keys.c.revoked_at.is_(None)))
            self._stored = frozenset(r.hash for r in rows)
        self._loaded_at = time.monotonic()

    @property
    def empty(self) -> bool:
        """No key at all (as of the last refresh)."""
        return not self._env and not self._stored

    def accepts(self, key: str) -> bool:
        digest = hash_key(key)
        return digest in self._env or digest in self._stored

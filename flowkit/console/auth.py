"""Who is asking: sessions, bearer tokens, demo mode on loopback, and CSRF tokens.

A session is a signed cookie (HMAC-SHA256 over its JSON: name, role, expiry, a nonce),
``HttpOnly`` and ``SameSite=Strict``, ``Secure`` when the request came over TLS. A POST
carries a CSRF token, an HMAC of the session's nonce: a page of another site can neither
read it nor send the cookie. Nothing of a session is kept on the server, so any number
of console processes behind a balancer accept each other's sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

import attrs
from starlette.requests import Request
from starlette.responses import Response

from flowkit.console.settings import OPERATOR, ConsoleSettings, Role

COOKIE = "flowkit_console"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@attrs.frozen
class Session:
    """A signed-in person (or script): the name they gave, their role, when it ends."""

    name: str
    role: Role
    expires: float
    nonce: str
    bearer: bool = False  # came with an Authorization header: no cookie, no CSRF risk

    @property
    def operator(self) -> bool:
        return self.role == OPERATOR


class Keys:
    """Signs and checks sessions and CSRF tokens with one key."""

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        # Without passwords (demo mode) nothing needs to survive a restart: a random key
        # keeps other pages from forging a token for this loopback console.
        self.key = secrets.token_bytes(32) if settings.closed else settings.signing_key()

    def _mac(self, data: bytes) -> str:
        return hmac.new(self.key, data, hashlib.sha256).hexdigest()

    def sign(self, session: Session) -> str:
        data = base64.urlsafe_b64encode(json.dumps(attrs.asdict(session)).encode())
        return f"{data.decode()}.{self._mac(data)}"

    def verify(self, cookie: str) -> Session | None:
        data, _, mac = cookie.rpartition(".")
        if not data or not hmac.compare_digest(mac, self._mac(data.encode())):
            return None
        try:
            session = Session(**json.loads(base64.urlsafe_b64decode(data)))
        except (ValueError, TypeError):
            return None
        return session if session.expires > time.time() else None

    def csrf(self, session: Session) -> str:
        return self._mac(f"csrf\0{session.nonce}".encode())

    def csrf_ok(self, session: Session, token: str) -> bool:
        return hmac.compare_digest(self.csrf(session), token)


def new_session(name: str, role: Role, settings: ConsoleSettings) -> Session:
    return Session(name=name, role=role, expires=time.time() + settings.session_hours * 3600,
                   nonce=secrets.token_hex(16))


def is_loopback(request: Request) -> bool:
    return request.client is not None and request.client.host in LOOPBACK


def identify(request: Request, keys: Keys) -> Session | None:
    """The session of this request: demo on loopback, a bearer token, or the cookie."""
    settings = keys.settings
    if settings.closed:
        if settings.demo and is_loopback(request):
            return Session("demo", OPERATOR, time.time() + 3600, "demo")
        return None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        role = settings.role_of(header[7:].strip())
        return Session(f"token ({role})", role, time.time() + 60, "", bearer=True) \
            if role else None
    cookie = request.cookies.get(COOKIE)
    return keys.verify(cookie) if cookie else None


def root_path(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def set_cookie(response: Response, request: Request, keys: Keys, session: Session) -> None:
    secure = keys.settings.secure_cookies
    if secure is None:
        secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, keys.sign(session), max_age=int(session.expires - time.time()),
                        path=root_path(request) or "/", httponly=True, samesite="strict",
                        secure=secure)


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=root_path(request) or "/", httponly=True,
                           samesite="strict")

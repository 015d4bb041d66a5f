"""Passwords out of URLs before they are printed: in errors, logs, status and state files."""

from __future__ import annotations

import re

REDACTED = "***"
# The password runs to the last "@" before the host (a password may hold an "@").
_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^\s/]*)(?=@)",
                       re.IGNORECASE)
_SECRET_PARAMS = re.compile(r"(?P<head>[?&](password|passwd|pwd|secret|token)=)[^&\s]+",
                            re.IGNORECASE)


def redact_url(url: object) -> str:
    """``url`` (a string or SQLAlchemy URL) with its password replaced by ``***``; also
    finds URLs inside a longer text, such as an error message."""
    text = url.render_as_string(hide_password=True) if hasattr(  # a SQLAlchemy URL
        url, "render_as_string") else str(url)
    text = _PASSWORD.sub(  # "user:password@host" in a hint is an example, kept
        lambda m: m[0] if m["pw"] == "password" else m["head"] + REDACTED, text)
    return _SECRET_PARAMS.sub(lambda m: m["head"] + REDACTED, text)

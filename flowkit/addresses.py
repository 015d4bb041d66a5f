"""Email addresses, checked where they enter flowkit.

A user's address comes from the people flowkit does not trust (a sign-up form, a
platform's webhook), and ends up in a ``To:`` header. ``check_email`` accepts one
address and nothing else: no list (``a@example.com, b@example.com`` would be delivered
to both), no display name, no line break or control character (which would start a
header of its own), and a syntax ``email-validator`` accepts (no DNS look-up). It
returns the address normalized (the domain in lower case, Unicode in NFC).

Checked in ``Store.upsert_users`` (``Engine.add_user``, the Simulation, adapters), in
the built-in platform's check of every event (a field ``email`` or ``*_email``), and
again by the mailer before it builds a message.
"""

from __future__ import annotations

import re

import email_validator

from flowkit.errors import InvalidEmailError

MAX_LENGTH = 254  # RFC 5321's limit for a path
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def check_email(address: object, *, where: str = "") -> str:
    """``address`` normalized, or ``InvalidEmailError`` saying what is wrong with it."""
    if not isinstance(address, str):
        raise InvalidEmailError(repr(address), f"it is a {type(address).__name__}, not "
                                "text", where=where)
    if _CONTROL.search(address):
        raise InvalidEmailError(address, "it holds a line break or a control character",
                                where=where)
    if "," in address or ";" in address or address.count("@") > 1:
        raise InvalidEmailError(address, "it is a list of addresses", where=where)
    if "<" in address or ">" in address:
        raise InvalidEmailError(address, "it has a name or angle brackets around the "
                                "address; give the address alone", where=where)
    if len(address) > MAX_LENGTH:
        raise InvalidEmailError(address, f"it is longer than {MAX_LENGTH} characters",
                                where=where)
    try:
        # test_environment: addresses at `.test` (RFC 2606), which tests and simulations
        # use, are syntax like any other; nothing is ever delivered there.
        checked = email_validator.validate_email(address, check_deliverability=False,
                                                 test_environment=True)
    except email_validator.EmailNotValidError as error:
        raise InvalidEmailError(address, str(error).rstrip("."), where=where) from None
    return str(checked.normalized)


def optional_email(address: object, *, where: str = "") -> str | None:
    """``check_email``, with no address (``None`` or ``""``) allowed: ``None``."""
    if address is None or address == "":
        return None
    return check_email(address, where=where)

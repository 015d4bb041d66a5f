"""Delivering the email outbox over SMTP (a transactional-outbox relay).

``send_email`` never talks to a mail server: it writes the rendered email to the outbox
table ``lms_emails`` in the step's own transaction, so the email exists exactly when the
step committed. ``deliver`` then hands queued rows to the SMTP server that ``SMTP_URL``
names (``smtp://user:pass@host:587?starttls=1``, ``smtps://host``) and records the
outcome on each row: ``sent_at`` when the server took it, else ``error``.

Claiming. A delivery takes up to ``limit`` rows in one transaction, ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, sends them over one SMTP connection, records their outcomes and
commits: two deliverers never send the same row (on SQLite the transaction holds the
database's write lock instead, so deliveries take turns, and so do the workers' writes).

At least once. A crash (or a lost database connection) after the server took an email
and before the commit sends it again. The resend has the same ``Message-ID``, derived
from the row's idempotency key, so a server or ESP that deduplicates drops it.

Failures, in the row's ``error``:

- ``user has no email address``, ``rejected: <5xx reply>`` (the server refused the
  recipient or the message), ``cannot build the message: ...``: final, never retried.
- ``retrying, N/8 tries, next at <moment>: <reason>``: a 4xx reply. Retried after 1, 2,
  4 ... 60 minutes; the eighth such failure is final (``gave up after 8 tries: ...``).
  A 4xx ends the batch: the server asked us to come back later.
- The server cannot be reached, or refuses the connection, the login or the sender (a
  configuration problem, not the email's): every row of the batch not yet sent gets
  ``retrying, N/8 tries, next at <now>: <reason>`` with N unchanged, so an outage never
  uses up a row's tries, and ``deliver`` raises ``SmtpUnavailableError`` after
  committing. The caller paces the next attempt (``Relay`` waits 30 s).

``Relay`` runs deliveries in the background of the scheduler when SMTP_URL is set;
``flowkit mail deliver`` runs one from cron.

Secrets and headers. SMTP_URL's password appears in no error or log line: a malformed
URL is reported with it as ``***`` (``flowkit._redact.redact_url``), and a reason from
the server or the socket has it scrubbed. Messages are built by the standard library's
``email`` package under ``email.policy.SMTP``, which refuses a line break in a header
value; the ``To`` address is checked again (``flowkit.addresses``), and the subject's
line breaks become spaces, so a user's name with a newline still yields one valid
message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import re
import smtplib
import ssl
import threading
import time
import urllib.parse
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import attrs
import pendulum
import sqlalchemy as sa

from flowkit._redact import redact_url
from flowkit.addresses import check_email
from flowkit.clock import Clock, SystemClock
from flowkit.errors import SmtpUnavailableError, SmtpUrlError
from flowkit.lms import emails, rendering
from flowkit.lms import tables as t

log = logging.getLogger(__name__)

DEFAULT_FROM = "no-reply@localhost"
NO_ADDRESS = "user has no email address"
MAX_TRIES = 8
_RETRYING = re.compile(r"retrying, (?P<tries>\d+)/\d+ tries, next at (?P<next>\S+): ")
_PORTS = {"smtp": 25, "smtps": 465}
_TRUE = {"1", "true", "yes", "on"}
_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@]*:)(?P<password>.*)@",
                       re.DOTALL)


@attrs.frozen
class SmtpUrl:
    """A parsed SMTP_URL; ``str()`` hides the password."""

    host: str
    port: int
    tls: bool = False  # smtps: TLS from the first byte
    starttls: bool = False
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    timeout: float = 30.0

    def __str__(self) -> str:
        scheme = "smtps" if self.tls else "smtp"
        user = f"{self.username}:***@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpUrl:
    """``smtp[s]://[user[:password]@]host[:port][?starttls=1&timeout=30]``; the user and
    password are percent-decoded. A ``SmtpUrlError`` shows the URL without its password."""
    try:
        return _parse_smtp_url(url)
    except SmtpUrlError as error:
        raise SmtpUrlError(redact_url(url), _scrub(error.problem, url)) from None


def _scrub(text: str, url: str | SmtpUrl) -> str:
    """``text`` with the URL's password, raw and percent-decoded, replaced by ``***``."""
    if isinstance(url, SmtpUrl):
        raw = url.password
    else:
        found = _PASSWORD.match(url)
        raw = found["password"] if found else None
    for secret in sorted({raw, urllib.parse.unquote(raw)} if raw else (), key=len,
                         reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def _parse_smtp_url(url: str) -> SmtpUrl:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in _PORTS:
        raise SmtpUrlError(url, "the scheme must be smtp or smtps")
    try:
        port = parts.port or _PORTS[parts.scheme]
    except ValueError as error:
        raise SmtpUrlError(url, str(error)) from error
    if not parts.hostname:
        raise SmtpUrlError(url, "it names no host")
    query = dict(urllib.parse.parse_qsl(parts.query))
    unknown = sorted(set(query) - {"starttls", "timeout"})
    if unknown:
        raise SmtpUrlError(url, f"unknown parameter {', '.join(unknown)} (known: starttls, "
                                "timeout)")
    try:
        timeout = float(query.get("timeout", 30))
    except ValueError as error:
        raise SmtpUrlError(url, "timeout must be a number of seconds") from error
    starttls = query.get("starttls", "").lower() in _TRUE
    if starttls and parts.scheme == "smtps":
        raise SmtpUrlError(url, "smtps is TLS already; starttls is for smtp")
    unquote = urllib.parse.unquote
    return SmtpUrl(host=parts.hostname, port=port, tls=parts.scheme == "smtps",
                   starttls=starttls, timeout=timeout,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None)


def message_id(key: str, sender: str) -> str:
    """The Message-ID of the outbox row with idempotency key ``key``: the same each time
    the row is sent, so a receiving server can drop a resend."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}.flowkit@{domain}>"


def deliver(db: sa.Engine, smtp_url: str | SmtpUrl, *, limit: int = 100,
            now: pendulum.DateTime | None = None, sender: str | None = None) -> int:
    """Send up to ``limit`` queued emails through ``smtp_url`` in one transaction.

    ``sender`` (the From address) defaults to SMTP_FROM, else ``no-reply@localhost``.
    Returns how many were sent. Raises ``SmtpUnavailableError`` (after recording it on
    the rows) when the server could not be used.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    url = smtp_url if isinstance(smtp_url, SmtpUrl) else parse_smtp_url(smtp_url)
    now = now or SystemClock().now()
    sender = sender or os.environ.get("SMTP_FROM") or DEFAULT_FROM
    with db.begin() as conn:
        rows = [row for row in conn.execute(_claim(limit)) if _due(row.error, now)]
        for row in rows:
            if not row.to_address:
                _record(conn, row.key, error=NO_ADDRESS)
                log.warning("email %s not sent, for good: %s", row.key, NO_ADDRESS)
        batch = _Batch(conn, url, sender, now, [row for row in rows if row.to_address])
        batch.send()
    if batch.unavailable is not None:
        raise SmtpUnavailableError(url, batch.unavailable, batch.sent)
    return batch.sent


def _claim(limit: int) -> sa.Select[Any]:
    e = t.emails.c
    return (sa.select(e.key, e.to_address, e.template, e.subject, e.body, e.error)
            .where(e.sent_at.is_(None), sa.or_(e.error.is_(None), e.error.like("retrying, %")))
            .order_by(e.error.is_not(None), e.at, e.key)  # new emails before retries
            .limit(limit)
            .with_for_update(skip_locked=True))  # rendered as nothing on SQLite


def _due(error: str | None, now: pendulum.DateTime) -> bool:
    match = _RETRYING.match(error or "")
    return match is None or dt.datetime.fromisoformat(match["next"]) <= now


def _tries(error: str | None) -> int:
    match = _RETRYING.match(error or "")
    return int(match["tries"]) if match else 0


def _retrying(tries: int, after: pendulum.DateTime, reason: str) -> str:
    after = after.in_timezone("UTC")
    return f"retrying, {tries}/{MAX_TRIES} tries, next at {after:%Y-%m-%dT%H:%M:%SZ}: {reason}"


def _record(conn: sa.Connection, key: str, *, sent_at: pendulum.DateTime | None = None,
            error: str | None = None) -> None:
    conn.execute(sa.update(t.emails).where(t.emails.c.key == key)
                 .values(sent_at=sent_at, error=error))


class _Unavailable(Exception):
    """The server, not the email, is the problem."""


class _Batch:
    """One delivery's rows, sent over one SMTP connection."""

    def __init__(self, conn: sa.Connection, url: SmtpUrl, sender: str,
                 now: pendulum.DateTime, rows: list[sa.Row[Any]]) -> None:
        self.conn, self.url, self.sender, self.now = conn, url, sender, now
        self.rows = rows
        self.sent = 0
        self.unavailable: str | None = None

    def send(self) -> None:
        if not self.rows:
            return
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as error:
            self._keep(self.rows, _scrub(_reason(error), self.url))
            return
        try:
            for index, row in enumerate(self.rows):
                try:
                    going_on = self._send(smtp, row)
                except _Unavailable as error:
                    self._keep(self.rows[index:], str(error))
                    break
                if not going_on:  # a 4xx: the server asked us to come back later
                    break
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()

    def _connect(self) -> smtplib.SMTP:
        url = self.url
        smtp: smtplib.SMTP
        if url.tls:
            smtp = smtplib.SMTP_SSL(url.host, url.port, timeout=url.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(url.host, url.port, timeout=url.timeout)
        try:
            smtp.ehlo_or_helo_if_needed()
            if url.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if url.username:
                smtp.login(url.username, url.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _send(self, smtp: smtplib.SMTP, row: sa.Row[Any]) -> bool:
        """Send one row and record how it went; False when the batch should stop."""
        try:
            message = self._message(row)
        except (ValueError, TypeError) as error:  # e.g. a list of addresses
            self._fail(row, f"cannot build the message: {error}")
            return True
        try:
            smtp.send_message(message)
        except smtplib.SMTPNotSupportedError as error:  # e.g. SMTPUTF8 for this address
            self._fail(row, f"rejected: {error}")
            return True
        except smtplib.SMTPSenderRefused as error:
            raise _Unavailable(f"the sender {self.sender} was refused: "
                               f"{_reply(error.smtp_code, error.smtp_error)}") from error
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            return self._refused(row, code, _reply(code, text))
        except smtplib.SMTPDataError as error:  # the server refused the message itself
            return self._refused(row, error.smtp_code, _reply(error.smtp_code, error.smtp_error))
        except (OSError, smtplib.SMTPException) as error:
            raise _Unavailable(_scrub(_reason(error), self.url)) from error
        _record(self.conn, row.key, sent_at=self.now)
        self.sent += 1
        return True

    def _refused(self, row: sa.Row[Any], code: int, reply: str) -> bool:
        if code == 421:  # the server is closing the connection: not this email's fault
            raise _Unavailable(reply)
        if code >= 500:
            self._fail(row, f"rejected: {reply}")
            return True
        tries = _tries(row.error) + 1
        if tries >= MAX_TRIES:
            self._fail(row, f"gave up after {tries} tries: {reply}")
        else:
            after = self.now.add(minutes=min(2 ** (tries - 1), 60))
            _record(self.conn, row.key, error=_retrying(tries, after, reply))
            log.warning("email %s to %s not sent, retried at %s: %s", row.key,
                        row.to_address, after, reply)
        return False

    def _fail(self, row: sa.Row[Any], error: str) -> None:
        _record(self.conn, row.key, error=error)
        log.warning("email %s to %s not sent, for good: %s", row.key, row.to_address, error)

    def _keep(self, rows: list[sa.Row[Any]], reason: str) -> None:
        """The server could not be used: the rows stay queued, their tries unchanged."""
        self.unavailable = reason
        for row in rows:
            _record(self.conn, row.key, error=_retrying(_tries(row.error), self.now, reason))

    def _message(self, row: sa.Row[Any]) -> EmailMessage:
        """The email, under a policy that refuses a line break in any header."""
        message = EmailMessage(policy=policy.SMTP)
        message["From"] = self.sender
        message["To"] = Address(addr_spec=check_email(row.to_address, where="the outbox"))
        message["Subject"] = rendering.one_line(row.subject)
        message["Date"] = format_datetime(self.now)
        message["Message-ID"] = message_id(row.key, self.sender)
        html = _is_html(row.template, row.body)
        message.set_content(row.body, subtype="html" if html else "plain")
        return message


def _is_html(template: str, body: str) -> bool:
    """Whether the row was rendered from an HTML template: the templates folder says so
    when this process sees it (``emails.render`` prefers ``.html``), else the body."""
    root = emails.folder()
    if (root / f"{template}.html").exists():
        return True
    if (root / f"{template}.txt").exists():
        return False
    return body.lstrip().startswith("<")


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def _reason(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return _reply(error.smtp_code, error.smtp_error)
    return str(error) or type(error).__name__


class Relay:
    """Deliveries in the background of a long-running process (the scheduler).

    ``nudge()`` starts a delivery on a thread of its own, so a slow SMTP server never
    holds up the caller, unless one is under way, or the last one ended less than
    ``every`` seconds ago (none: it sent a full batch, more may be waiting), or failed
    less than ``after_failure`` seconds ago. Errors are logged, never raised.
    """

    def __init__(self, db: sa.Engine, smtp_url: str, clock: Clock, *, limit: int = 25,
                 every: float = 1.0, after_failure: float = 30.0) -> None:
        self.db = db
        self.url = parse_smtp_url(smtp_url)  # a bad SMTP_URL fails now, not at each poll
        self.clock = clock
        self.limit = limit
        self.every = every
        self.after_failure = after_failure
        self._thread: threading.Thread | None = None
        self._next = 0.0  # time.monotonic() of the earliest next delivery

    def nudge(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        if time.monotonic() < self._next:
            return
        self._thread = threading.Thread(target=self.deliver, name="flowkit-mail", daemon=True)
        self._thread.start()

    def deliver(self) -> int:
        """One delivery, here and now; returns how many were sent (0 on failure)."""
        try:
            sent = deliver(self.db, self.url, limit=self.limit, now=self.clock.now())
        except Exception as error:  # logged, not raised: mail must not stop the scheduler
            self._next = time.monotonic() + self.after_failure
            log.warning("email delivery failed, next try in %.0f s: %s", self.after_failure,
                        error, exc_info=not isinstance(error, SmtpUnavailableError))
            return 0
        self._next = time.monotonic() + (0.0 if sent >= self.limit else self.every)
        return sent

    def join(self, timeout: float | None = None) -> None:
        """Wait for the delivery under way, if any (so a stop does not cut it short)."""
        if self._thread is not None:
            self._thread.join(timeout)

"""Delivering the email outbox to a real SMTP server (aiosmtpd, on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import email
import socket
import sys
import threading
import types
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner

from flowkit import Engine, Run, on
from flowkit.cli import main
from flowkit.lms import send_email
from flowkit.lms import tables as t
from flowkit.lms.mailer import (
    MAX_TRIES,
    NO_ADDRESS,
    Relay,
    SmtpUnavailableError,
    SmtpUrl,
    SmtpUrlError,
    deliver,
    message_id,
    parse_smtp_url,
)
from flowkit.testing import Simulation

SENDER = "School <school@example.com>"


@pytest.fixture(autouse=True)
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "emails"
    folder.mkdir()
    (folder / "hello.txt").write_text("Subject: Hello {{ user }}\n\nWelcome, {{ user }}.\n")
    (folder / "news.html").write_text("Subject: News for {{ user }}\n\n<p>{{ headline }}</p>\n")
    monkeypatch.setenv("FLOWKIT_EMAILS", str(folder))
    monkeypatch.setenv("SMTP_FROM", SENDER)
    return folder


class Inbox:
    """An aiosmtpd handler that keeps what it receives; ``replies`` refuses recipients."""

    def __init__(self, delay: float = 0.0) -> None:
        self.messages: list[EmailMessage] = []
        self.replies: dict[str, str] = {}
        self.delay = delay

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.replies:
            return self.replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def get(self, to: str) -> EmailMessage:
        (message,) = [m for m in self.messages if m["To"] == to]
        return message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """An SMTP server on 127.0.0.1 that the test starts (and may start late)."""

    def __init__(self, **options: Any) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.options = options
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=5"

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server() -> Iterator[Server]:
    server = Server()
    server.start()
    yield server
    server.stop()


@on("mail.me")
async def mail_me(run: Run) -> None:
    await send_email("hello")
    if run.event.get("headline"):
        await send_email("news", headline=run.event["headline"])


def outbox(db: sa.Engine) -> dict[str, dict[str, Any]]:
    """The outbox's rows by address (or user id, without one)."""
    with db.connect() as conn:
        return {r.to_address or r.user_id: dict(r._mapping)
                for r in conn.execute(sa.select(t.emails))}


def test_emails_from_a_run_reach_the_server_with_to_subject_body_and_message_id(
        server: Server) -> None:
    with Simulation(mail_me) as sim:
        sim.add_user("u1", name="Ada", email="ada@example.com")
        sim.emit("mail.me", user="u1", headline="<b>50% off</b>")
        assert deliver(sim.engine.db, server.url, now=sim.now) == 2

        hello, news = sorted(server.inbox.messages, key=lambda m: m["Subject"])
        assert (hello["To"], hello["From"], hello["Subject"]) == (
            "ada@example.com", SENDER, "Hello Ada")
        assert hello.get_content_type() == "text/plain"
        assert hello.get_content().strip() == "Welcome, Ada."
        assert news["Subject"] == "News for Ada"
        assert news.get_content_type() == "text/html"
        assert news.get_content().strip() == "<p>&lt;b&gt;50% off&lt;/b&gt;</p>"
        rows = {r["subject"]: r for r in sim.platform.emails("u1")}
        assert hello["Message-ID"] == message_id(rows["Hello Ada"]["key"], SENDER)
        assert news["Message-ID"] != hello["Message-ID"]
        assert all(r["sent_at"] == sim.now and r["error"] is None for r in rows.values())


def test_a_delivered_email_is_not_sent_again(server: Server) -> None:
    with Simulation(mail_me) as sim:
        sim.add_user("u1", email="ada@example.com")
        sim.emit("mail.me", user="u1")
        assert deliver(sim.engine.db, server.url, now=sim.now) == 1
        assert deliver(sim.engine.db, server.url, now=sim.now) == 0
        sim.emit("mail.me", user="u1", idempotency_key="again")
        assert deliver(sim.engine.db, server.url, now=sim.now) == 1
        assert len(server.inbox.messages) == 2
        assert len({m["Message-ID"] for m in server.inbox.messages}) == 2


def test_an_email_without_an_address_is_marked_and_never_retried(server: Server) -> None:
    with Simulation(mail_me) as sim:
        sim.emit("mail.me", user="nobody")  # a user flowkit has no email address for
        closed = f"smtp://127.0.0.1:{free_port()}"  # nothing to send: no connection made
        assert deliver(sim.engine.db, closed, now=sim.now) == 0
        assert deliver(sim.engine.db, server.url, now=sim.now) == 0
        (row,) = sim.platform.emails("nobody")
        assert (row["error"], row["sent_at"]) == (NO_ADDRESS, None)
        assert server.inbox.messages == []


def test_emails_wait_out_a_server_that_is_down_and_go_once_it_is_up() -> None:
    server = Server()  # its port is closed until start()
    with Simulation(mail_me) as sim:
        sim.add_user("u1", email="ada@example.com")
        sim.emit("mail.me", user="u1")
        with pytest.raises(SmtpUnavailableError) as raised:
            deliver(sim.engine.db, server.url, now=sim.now)
        assert raised.value.sent == 0
        (row,) = sim.platform.emails("u1")
        assert row["sent_at"] is None
        assert row["error"].startswith(f"retrying, 0/{MAX_TRIES} tries, next at ")
        assert "refused" in row["error"].lower()

        server.start()
        try:
            assert deliver(sim.engine.db, server.url, now=sim.now) == 1
        finally:
            server.stop()
        (row,) = sim.platform.emails("u1")
        assert (row["sent_at"], row["error"]) == (sim.now, None)
        assert server.inbox.get("ada@example.com")["Subject"] == "Hello u1"


def test_a_refused_recipient_is_final_and_a_busy_one_is_retried_later(server: Server) -> None:
    server.inbox.replies = {"gone@example.com": "550 5.1.1 no such user",
                            "busy@example.com": "451 4.2.1 mailbox busy, try later"}
    with Simulation(mail_me) as sim:
        for user in ("ok", "gone", "busy"):  # queued in this order
            sim.add_user(user, email=f"{user}@example.com")
            sim.emit("mail.me", user=user)
            sim.advance(seconds=1)
        assert deliver(sim.engine.db, server.url, now=sim.now) == 1
        rows = outbox(sim.engine.db)
        assert rows["gone@example.com"]["error"] == "rejected: 550 5.1.1 no such user"
        busy = rows["busy@example.com"]["error"]
        assert busy == ("retrying, 1/8 tries, next at 2026-03-02T09:01:03Z: "
                        "451 4.2.1 mailbox busy, try later")

        assert deliver(sim.engine.db, server.url, now=sim.now) == 0  # not due yet
        del server.inbox.replies["busy@example.com"]
        sim.advance(minutes=1)
        assert deliver(sim.engine.db, server.url, now=sim.now) == 1
        assert sorted(m["To"] for m in server.inbox.messages) == [
            "busy@example.com", "ok@example.com"]
        assert outbox(sim.engine.db)["gone@example.com"]["sent_at"] is None


def test_an_email_refused_for_a_while_is_given_up_after_the_last_try(server: Server) -> None:
    server.inbox.replies = {"busy@example.com": "452 4.2.2 mailbox full"}
    with Simulation(mail_me) as sim:
        sim.add_user("u1", email="busy@example.com")
        sim.emit("mail.me", user="u1")
        for _ in range(MAX_TRIES):
            assert deliver(sim.engine.db, server.url, now=sim.now) == 0
            sim.advance(hours=1)
        (row,) = sim.platform.emails("u1")
        assert row["error"] == f"gave up after {MAX_TRIES} tries: 452 4.2.2 mailbox full"
        del server.inbox.replies["busy@example.com"]
        assert deliver(sim.engine.db, server.url, now=sim.now) == 0


def test_login_with_a_percent_encoded_password_and_a_wrong_one() -> None:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"school", b"p@ss:w/rd")
        return AuthResult(success=ok, handled=False)  # aiosmtpd replies 535 on failure

    server = Server(authenticator=authenticate, auth_require_tls=False)
    server.start()
    try:
        with Simulation(mail_me) as sim:
            sim.add_user("u1", email="ada@example.com")
            sim.emit("mail.me", user="u1")
            wrong = f"smtp://school:nope@127.0.0.1:{server.port}?timeout=5"
            with pytest.raises(SmtpUnavailableError, match="535"):
                deliver(sim.engine.db, wrong, now=sim.now)
            right = f"smtp://school:p%40ss%3Aw%2Frd@127.0.0.1:{server.port}?timeout=5"
            assert deliver(sim.engine.db, right, now=sim.now) == 1
    finally:
        server.stop()


@pytest.mark.parametrize(("url", "parsed"), [
    ("smtp://mail.example.com", SmtpUrl("mail.example.com", 25)),
    ("smtps://u:p%2F@mail.example.com", SmtpUrl("mail.example.com", 465, tls=True,
                                                  username="u", password="p/")),
    ("smtp://u@h:587?starttls=1&timeout=5", SmtpUrl("h", 587, starttls=True, username="u",
                                                    timeout=5.0)),
])
def test_smtp_urls(url: str, parsed: SmtpUrl) -> None:
    assert parse_smtp_url(url) == parsed
    assert ":p" not in str(parse_smtp_url(url))  # the password is never shown


@pytest.mark.parametrize(("url", "why"), [
    ("http://mail.example.com", "scheme must be smtp or smtps"),
    ("smtp://", "names no host"),
    ("smtp://h?tls=1", "unknown parameter tls"),
    ("smtps://h?starttls=1", "smtps is TLS already"),
    ("smtp://h:port", "Port could not be cast"),
])
def test_a_bad_smtp_url_says_what_is_wrong(url: str, why: str) -> None:
    with pytest.raises(SmtpUrlError, match=why):
        parse_smtp_url(url)


def test_two_deliverers_never_send_the_same_email(database_url: str) -> None:
    server = Server()
    server.inbox.delay = 0.002  # slow enough for the deliverers to overlap
    server.start()
    try:
        with Engine(database_url, [mail_me]) as engine:
            for i in range(60):
                engine.add_user(f"u{i}", email=f"u{i}@example.com")
            engine.emit_many([{"event": "mail.me", "user": f"u{i}"} for i in range(60)])
            errors: list[BaseException] = []

            def work() -> None:
                try:
                    while deliver(engine.db, server.url, limit=7):
                        pass
                except BaseException as error:
                    errors.append(error)

            threads = [threading.Thread(target=work) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert errors == []
            ids = [m["Message-ID"] for m in server.inbox.messages]
            assert len(ids) == len(set(ids)) == 60
            assert all(r["sent_at"] is not None for r in outbox(engine.db).values())
    finally:
        server.stop()


def test_the_relay_logs_a_failure_instead_of_raising_and_waits_before_the_next(
        caplog: pytest.LogCaptureFixture) -> None:
    server = Server()
    with Simulation(mail_me) as sim:
        sim.add_user("u1", email="ada@example.com")
        sim.emit("mail.me", user="u1")
        relay = Relay(sim.engine.db, server.url, sim.clock, after_failure=0.3)
        assert relay.deliver() == 0  # the server is down: logged, not raised
        assert "email delivery failed" in caplog.text
        server.start()
        try:
            relay.nudge()  # too soon after the failure: nothing is sent
            relay.join(10)
            assert server.inbox.messages == []
            threading.Event().wait(0.3)
            relay.nudge()
            relay.join(10)
        finally:
            server.stop()
        assert [m["To"] for m in server.inbox.messages] == ["ada@example.com"]


def test_the_scheduler_delivers_on_its_polls_when_smtp_url_is_set(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    # no Redis here: the worker module (its broker and actors) is a stand-in
    import flowkit.runtime
    from flowkit.runtime.scheduler import Scheduler

    worker = types.SimpleNamespace(MAX_BATCHES_PER_MESSAGE=1, TIMERS_QUEUE="timers",
                                   ROUTE_QUEUE="route")
    monkeypatch.setitem(sys.modules, "flowkit.runtime.worker", worker)
    monkeypatch.setattr(flowkit.runtime, "worker", worker, raising=False)
    broker = types.SimpleNamespace(namespace="test",
                                   client=types.SimpleNamespace(llen=lambda _: 0))
    with Simulation(mail_me) as sim:
        sim.add_user("u1", email="ada@example.com")
        sim.emit("mail.me", user="u1")
        monkeypatch.delenv("SMTP_URL", raising=False)
        assert Scheduler(sim.engine.db, broker, sim.clock).mail is None  # type: ignore[arg-type]
        monkeypatch.setenv("SMTP_URL", server.url)
        scheduler = Scheduler(sim.engine.db, broker, sim.clock)  # type: ignore[arg-type]
        scheduler.poll()
        assert scheduler.mail is not None
        scheduler.mail.join(10)
        assert [m["To"] for m in server.inbox.messages] == ["ada@example.com"]
        (row,) = sim.platform.emails("u1")
        assert row["sent_at"] == sim.now


def test_flowkit_mail_deliver_sends_what_is_queued_and_says_how_many(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    with Engine(url, [mail_me]) as engine:
        for user in ("u1", "u2", "u3"):
            engine.add_user(user, email=f"{user}@example.com")
            engine.emit("mail.me", user=user)
    runner = CliRunner()
    monkeypatch.delenv("SMTP_URL", raising=False)
    unset = runner.invoke(main, ["mail", "deliver", "--database-url", url])
    assert unset.exit_code == 2
    assert unset.output.startswith("error: SMTP_URL '': it is not set")

    monkeypatch.setenv("SMTP_URL", server.url)
    result = runner.invoke(main, ["mail", "deliver", "--database-url", url, "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert result.output == f"sent 3 emails through smtp://127.0.0.1:{server.port}\n"
    assert len(server.inbox.messages) == 3

    closed = f"smtp://127.0.0.1:{free_port()}"
    with Engine(url, [mail_me]) as engine:
        engine.emit("mail.me", user="u1", idempotency_key="again")
    down = runner.invoke(main, ["mail", "deliver", "--database-url", url,
                                "--smtp-url", closed])
    assert down.exit_code == 2
    assert down.output.splitlines()[0] == f"sent 0 emails through {closed}"
    assert down.output.splitlines()[1].startswith(f"error: cannot send email through {closed}")

"""No secret in output: SMTP_URL's password, DATABASE_URL's password and the values
bound to SQL statements appear in no error or log line (issue 10, item 4; the state file
and `flowkit status` are another change's)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import AuthResult
from click.testing import CliRunner

from flowkit import Engine, Run, on
from flowkit._redact import redact_url as redact
from flowkit.cli import main
from flowkit.errors import SmtpUnavailableError, SmtpUrlError
from flowkit.lms import send_email
from flowkit.lms.mailer import Relay, deliver, parse_smtp_url
from flowkit.store import database
from tests.lms.test_mailer import Server

PASSWORD = "Sup3r-Secret"


@pytest.fixture(autouse=True)
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "emails"
    folder.mkdir()
    (folder / "hello.txt").write_text("Subject: Hello {{ user }}\n\nWelcome.\n")
    monkeypatch.setenv("FLOWKIT_EMAILS", str(folder))
    return folder


@on("mail.me")
async def mail_me(run: Run) -> None:
    await send_email("hello")


@pytest.mark.parametrize("url", [
    f"smtp://school:{PASSWORD}@mail.example.com:port",        # a bad port
    f"smtpx://school:{PASSWORD}@mail.example.com",            # a bad scheme
    f"smtp://school:{PASSWORD}@",                             # no host
    f"smtp://school:{PASSWORD}@mail.example.com?tls=1",       # an unknown parameter
    f"smtp://school:{PASSWORD}@mail.example.com?timeout=ten",
    "smtp://school:Sup3r%2DSecret@mail.example.com:port",      # percent-encoded
])
def test_a_malformed_smtp_url_is_reported_without_its_password(url: str) -> None:
    with pytest.raises(SmtpUrlError) as raised:
        parse_smtp_url(url)
    for shown in (str(raised.value), repr(raised.value), raised.value.url):
        assert PASSWORD not in shown and "Sup3r%2DSecret" not in shown
    assert "school:***@" in str(raised.value)


def test_redact_hides_a_password_even_with_an_at_sign_in_it() -> None:
    assert redact("smtp://u:p@ss@h:25") == "smtp://u:***@h:25"
    assert redact("smtp://h:25") == "smtp://h:25"
    assert redact("postgresql://app:pw@db/school") == "postgresql://app:***@db/school"


def test_flowkit_mail_deliver_with_a_malformed_url_prints_no_password(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [
        "mail", "deliver", "--database-url", f"sqlite:///{tmp_path}/f.db",
        "--smtp-url", f"smtp://school:{PASSWORD}@mail.example.com:port"])
    assert result.exit_code != 0
    assert PASSWORD not in result.output + str(result.exception)


def test_a_refused_login_is_logged_and_raised_without_the_password(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def refuse(*_: Any) -> AuthResult:
        return AuthResult(success=False, handled=False)

    server = Server(authenticator=refuse, auth_require_tls=False)
    server.start()
    url = f"smtp://school:{PASSWORD}@127.0.0.1:{server.port}?timeout=5"
    caplog.set_level(logging.DEBUG)
    try:
        with Engine(f"sqlite:///{tmp_path}/flowkit.db", flows=[mail_me]) as engine:
            engine.add_user("u1", email="ada@example.com")
            engine.emit("mail.me", user="u1")
            with pytest.raises(SmtpUnavailableError) as raised:
                deliver(engine.db, url)
            relay = Relay(engine.db, url, engine.clock)
            assert relay.deliver() == 0  # logged, not raised
            with engine.db.connect() as conn:
                errors = [r[0] for r in conn.exec_driver_sql("SELECT error FROM lms_emails")]
    finally:
        server.stop()
    assert "535" in str(raised.value)
    for text in (str(raised.value), caplog.text, *errors):
        assert PASSWORD not in text
    assert "email delivery failed" in caplog.text


def test_database_errors_show_no_bound_values_unless_debugging(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    secret = f"user-{uuid.uuid4().hex}"

    def duplicate() -> str:
        engine = database.create_engine(f"sqlite:///{tmp_path}/{uuid.uuid4().hex}.db")
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id TEXT PRIMARY KEY)")
        table = sa.table("t", sa.column("id"))
        try:
            with pytest.raises(sa.exc.IntegrityError) as raised, engine.begin() as conn:
                conn.execute(sa.insert(table), [{"id": secret}, {"id": secret}])
            return str(raised.value)
        finally:
            engine.dispose()

    caplog.set_level(logging.DEBUG)
    hidden = duplicate()
    assert secret not in hidden and secret not in caplog.text
    assert "parameters hidden" in hidden
    monkeypatch.setenv("FLOWKIT_DEBUG_SQL", "1")
    assert secret in duplicate()


@pytest.mark.postgres
def test_a_database_password_is_in_no_error(postgres_url: str,
                                            caplog: pytest.LogCaptureFixture) -> None:
    url = sa.make_url(postgres_url).set(password=PASSWORD, port=1)  # nothing listens there
    caplog.set_level(logging.DEBUG)
    with pytest.raises(sa.exc.OperationalError) as raised:
        Engine(url.render_as_string(hide_password=False), flows=[mail_me])
    assert PASSWORD not in str(raised.value) + repr(raised.value) + caplog.text

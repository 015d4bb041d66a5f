"""Email addresses are checked where they enter, and headers cannot be injected
(issue 10, item 3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flowkit import Engine, Run, on
from flowkit.addresses import check_email
from flowkit.errors import EventError, FlowkitError, InvalidEmailError
from flowkit.lms import send_email
from flowkit.lms import tables as t
from flowkit.lms.mailer import deliver
from flowkit.store.schema import events, users
from flowkit.testing import Simulation
from tests.lms.test_mailer import Server

REFUSED = {
    "a list": ("a@example.com, b@example.com", "a list of addresses"),
    "a list with semicolons": ("a@example.com; b@example.com", "a list of addresses"),
    "a header after a newline": ("a@example.com\nBcc: all@example.com", "line break"),
    "a carriage return": ("a@example.com\r", "line break"),
    "a NUL": ("a\x00@example.com", "control character"),
    "a display name": ("Eve <eve@example.com>", "name or angle brackets"),
    "two at-signs": ("a@b@example.com", "a list of addresses"),
    "no domain": ("ada@", "after the @-sign"),
    "no at-sign": ("ada.example.com", "@-sign"),
    "a space": ("ada lovelace@example.com", "invalid characters"),
    "too long": ("a" * 250 + "@example.com", "longer than 254"),
}


@pytest.mark.parametrize(("address", "problem"), REFUSED.values(), ids=REFUSED.keys())
def test_an_address_that_is_not_exactly_one_address_is_refused(address: str,
                                                                problem: str) -> None:
    with pytest.raises(InvalidEmailError, match=problem) as raised:
        check_email(address)
    assert isinstance(raised.value, FlowkitError)
    assert "give one address, like ada@example.com" in str(raised.value)


def test_a_valid_address_is_accepted_with_its_domain_normalized() -> None:
    assert check_email("Ada.Lovelace+school@Example.COM") == "Ada.Lovelace+school@example.com"
    assert check_email("josé@exämple.com") == "josé@exämple.com"


def test_add_user_refuses_a_list_and_stores_nothing() -> None:
    with Simulation() as sim:
        with pytest.raises(InvalidEmailError, match="user u1"):
            sim.add_user("u1", email="a@example.com, b@example.com")
        sim.add_user("u2", email="ada@example.com")
        with sim.engine.db.connect() as conn:
            stored = dict(conn.execute(sa.select(users.c.id, users.c.email)).all())
        assert stored == {"u2": "ada@example.com"}


def test_an_event_carrying_a_bad_address_is_refused_before_it_is_stored() -> None:
    with Simulation() as sim:
        with pytest.raises(InvalidEmailError, match=r"event 'user\.signed_up', field 'email'"):
            sim.emit("user.signed_up", user="u1", email="a@example.com\nBcc: x@example.com")
        with pytest.raises(InvalidEmailError, match="field 'manager_email'"):
            sim.emit("user.signed_up", user="u1", manager_email="a@x.com,b@x.com")
        assert isinstance(InvalidEmailError("x", "y"), ValueError)
        sim.emit("user.signed_up", user="u1", email="ada@example.com")
        with sim.engine.db.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() == 1
    assert not issubclass(InvalidEmailError, EventError)  # its own error, saying what to do


# -- delivery ------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "emails"
    folder.mkdir()
    (folder / "hello.txt").write_text("Subject: Hello {{ user }}\n\nWelcome, {{ user }}.\n")
    monkeypatch.setenv("FLOWKIT_EMAILS", str(folder))
    monkeypatch.setenv("SMTP_FROM", "School <school@example.com>")
    return folder


@pytest.fixture
def server() -> Iterator[Server]:
    server = Server()
    server.start()
    yield server
    server.stop()


@on("mail.me")
async def mail_me(run: Run) -> None:
    await send_email("hello")


def test_a_name_with_a_newline_still_yields_one_valid_message(server: Server,
                                                              tmp_path: Path) -> None:
    with Engine(f"sqlite:///{tmp_path}/flowkit.db", flows=[mail_me]) as engine:
        engine.add_user("u1", name="Ada\nBcc: everyone@example.com\n\nfake body",
                        email="ada@example.com")
        engine.emit("mail.me", user="u1")
        assert deliver(engine.db, server.url) == 1
    (message,) = server.inbox.messages
    assert message["Subject"] == "Hello Ada Bcc: everyone@example.com fake body"
    assert message["Bcc"] is None
    assert message["To"] == "ada@example.com"
    assert message.get_content().replace("\r\n", "\n") == \
        "Welcome, Ada\nBcc: everyone@example.com\n\nfake body.\n"


def test_a_list_already_in_the_outbox_is_never_sent_to_anyone(server: Server,
                                                              tmp_path: Path) -> None:
    with Engine(f"sqlite:///{tmp_path}/flowkit.db", flows=[mail_me]) as engine:
        engine.add_user("u1", name="Ada", email="ada@example.com")
        engine.emit("mail.me", user="u1")
        with engine.db.begin() as conn:  # a row written before addresses were checked
            conn.execute(sa.update(t.emails).values(
                to_address="a@example.com, b@example.com",
                subject="Hi\r\nBcc: c@example.com"))
        assert deliver(engine.db, server.url) == 0
        with engine.db.connect() as conn:
            error = conn.execute(sa.select(t.emails.c.error)).scalar_one()
    assert server.inbox.messages == []
    assert error.startswith("cannot build the message: 'a@example.com, b@example.com' is "
                            "not an email address flowkit accepts (the outbox): it is a "
                            "list of addresses")

"""The school's actions and questions on the built-in SQL platform."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowkit import Run, branch, on, wait
from flowkit.lms import add_tag, add_to_space, enroll, send_email, send_notification
from flowkit.testing import Simulation


@pytest.fixture(autouse=True)
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "emails"
    folder.mkdir()
    (folder / "hello.txt").write_text("Subject: Hello {{ user }}\n\nWelcome, {{ user }}.\n")
    (folder / "news.html").write_text("Subject: News for {{ user }}\n\n<p>{{ headline }}</p>\n")
    (folder / "manager.txt").write_text("Subject: {{ manager }} says hi\n\nHi {{ user }}.\n")
    monkeypatch.setenv("FLOWKIT_EMAILS", str(folder))
    return folder


@on("user.signed_up")
async def signup(run: Run) -> None:
    await enroll("python-101", "sql-101", payment=True, invoice=True)
    await add_tag("source:" + run.event.get("source", "unknown"))
    await send_email("hello")


@on("user.enrolled")
async def space_on_enrollment(run: Run) -> None:
    await add_to_space("course:" + run.event["course"])


def test_enroll_records_payment_invoice_and_starts_enrollment_automations() -> None:
    with Simulation(signup, space_on_enrollment) as sim:
        sim.platform.add_course("python-101", "Python 101", price=49)
        sim.platform.add_course("sql-101", "SQL 101", price=29)
        sim.add_user("u1", name="Ada", email="ada@example.com")
        sim.emit("user.signed_up", user="u1", source="ads")
        p = sim.platform
        assert p.enrollments("u1") == ["python-101", "sql-101"]
        assert sorted(str(r["amount"]) for r in p.payments("u1")) == ["29.00", "49.00"]
        assert len({r["number"] for r in p.invoices("u1")}) == 2
        assert p.tags("u1") == ["source:ads"]
        assert [e["subject"] for e in p.emails("u1")] == ["Hello Ada"]
        # each new enrollment is a user.enrolled event: the space automation ran twice
        assert sorted(p.spaces("u1")) == ["course:python-101", "course:sql-101"]


def test_an_unknown_course_parks_the_run_with_a_clear_reason() -> None:
    with Simulation(signup) as sim:
        sim.platform.add_course("python-101")  # sql-101 is not in the catalog
        sim.emit("user.signed_up", user="u1")
        sim.advance(minutes=5)
        run = sim.run(user="u1")
        assert run.status == "parked"
        assert "no course 'sql-101' in the catalog" in (run.reason or "")
        assert sim.platform.enrollments("u1") == []  # nothing half-done


@on("go")
async def mailer(run: Run) -> None:
    await send_email(run.event["template"], **run.event.get("values", {}))


@pytest.mark.parametrize(("template", "values", "why"), [
    ("nope", {}, "no email template 'nope'"),
    ("news", {}, "'headline' is undefined"),
    ("manager", {}, "'manager' is undefined"),
])
def test_email_problems_park_the_run_saying_what_is_missing(template: str, values: dict[str, str],
                                                           why: str) -> None:
    with Simulation(mailer) as sim:
        sim.emit("go", user="u1", template=template, values=values)
        sim.advance(minutes=5)
        run = sim.run(user="u1")
        assert run.status == "parked"
        assert why in (run.reason or "")
        assert sim.platform.emails("u1") == []


def test_html_emails_are_autoescaped_and_manager_is_the_managers_name() -> None:
    with Simulation(mailer) as sim:
        sim.add_user("boss", name="Grace")
        sim.add_user("u1", name="Ada", manager="boss")
        sim.emit("go", user="u1", template="news", values={"headline": "<b>50% off</b>"})
        sim.emit("go", user="u1", template="manager", idempotency_key="second")
        sim.emit("go", user="u2", template="manager")  # no manager: the run parks
        assert sim.runs(user="u1")[0].status == "completed"
        news, hi = sim.platform.emails("u1")
        assert news["body"].strip() == "<p>&lt;b&gt;50% off&lt;/b&gt;</p>"
        assert hi["subject"] == "Grace says hi"


@on("ping")
async def nudge(run: Run) -> None:
    await send_notification("{{ user }}, your course misses you")
    await add_tag("nudged")
    await add_tag("nudged")


def test_notifications_and_tags_once_each() -> None:
    with Simulation(nudge) as sim:
        sim.add_user("u1", name="Ada")
        sim.emit("ping", user="u1")
        assert sim.platform.notifications("u1") == ["Ada, your course misses you"]
        assert sim.platform.tags("u1") == ["nudged"]
        assert [a.result for a in sim.actions(user="u1", name="add_tag")] == [True, False]


@on("check.in")
async def questions(run: Run) -> None:
    started = run.now
    await wait(days=7)
    await branch("enrolled?", run.user.is_enrolled("python-101"))
    await branch("two units?", run.user.units_completed("python-101") >= 2)
    await branch("tagged vip?", run.user.has_tag("vip"))
    await branch("returned?", run.user.returned_since(started))


def test_questions_read_what_the_events_told_the_platform() -> None:
    with Simulation(questions, nudge) as sim:
        sim.emit("check.in", user="u1")
        sim.emit("user.enrolled", user="u1", course="python-101")
        for unit in (1, 2, 2):  # a unit completed twice counts once
            sim.emit("unit.completed", user="u1", course="python-101", unit=unit)
        sim.advance(days=3)
        sim.emit("user.signed_in", user="u1")
        sim.advance(days=4)
        answers = {h.detail["label"]: h.detail["value"]
                   for h in sim.run(user="u1", flow="questions").history if h.kind == "branch"}
        assert answers == {"enrolled?": True, "two units?": True, "tagged vip?": False,
                           "returned?": True}


def test_an_event_without_a_field_its_triggers_need_is_refused_and_nothing_is_recorded(
        ) -> None:
    from flowkit.errors import EventError

    with Simulation(space_on_enrollment) as sim:
        with pytest.raises(EventError, match=r"'user\.enrolled' needs course=\.\.\.") as error:
            sim.emit_many([{"event": "user.signed_in", "user": "u1"},
                           {"event": "user.enrolled", "user": "u1"}])
        assert "without course" in str(error.value)
        assert sim.runs() == []
        sim.emit("user.enrolled", user="u1", course="python-101")  # the fixed event
        assert sim.platform.spaces("u1") == ["course:python-101"]

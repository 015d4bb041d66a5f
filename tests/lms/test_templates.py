"""The premade templates: `flowkit new` writes a module that compiles and behaves as
the school's template does, and never overwrites a file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from flowkit import FlowkitError
from flowkit.cli import main
from flowkit.lms import templates
from flowkit.testing import Simulation


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project: automations/ and emails/ are written here, and send_email
    reads its emails/."""
    monkeypatch.setenv("FLOWKIT_EMAILS", str(tmp_path / "emails"))
    return tmp_path


def load(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import a written module under a name of its own (the project's `automations`
    package is already imported in this process)."""
    name = f"premade_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def test_the_premade_templates_are_listed_by_slug() -> None:
    assert [(t.slug, t.title) for t in templates.list()] == [
        ("enroll-on-signup", "Enroll users in courses upon signup"),
        ("tag-on-signup", "Tag users on signup"),
    ]


def test_enroll_on_signup_enrolls_waits_an_hour_then_welcomes(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written = templates.write("enroll-on-signup", "welcome_new_users",
                              project / "automations")
    assert written == (project / "automations" / "welcome_new_users.py",
                       project / "emails" / "welcome-new-users.txt")
    module = load(written[0], monkeypatch)
    with Simulation(module) as sim:
        sim.add_user("u1", name="Ada", email="ada@example.com")
        sim.emit("user.signed_up", user="u1", source="web")
        assert sim.platform.enrollments("u1") == ["python-101"]
        sim.advance(minutes=59)
        assert sim.platform.emails("u1") == []
        assert sim.run(user="u1").step == "wait:1h"
        sim.advance(minutes=1)
        (email,) = sim.platform.emails("u1")
        assert email["subject"] == "Welcome, Ada!"
        assert "you are enrolled in python-101" in email["body"]
        assert f"{email['at']:%H:%M}" == "10:00"
        assert sim.run(user="u1").status == "completed"
        assert sim.platform.payments("u1") == [] and sim.platform.invoices("u1") == []


def test_enroll_on_signup_settings_choose_courses_payment_and_invoice(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (path, _) = templates.write("enroll-on-signup", "paid_signup", project / "automations")
    module = load(path, monkeypatch)
    # what an engineer edits in the written module
    monkeypatch.setattr(module, "COURSES", ("python-101", "sql-101"))
    monkeypatch.setattr(module, "PAYMENT", True)
    monkeypatch.setattr(module, "INVOICE", True)
    with Simulation(module) as sim:
        sim.platform.add_course("python-101", price=49)
        sim.platform.add_course("sql-101", price=29)
        sim.emit("user.signed_up", user="u1")
        sim.advance(hours=1)
        assert sim.platform.enrollments("u1") == ["python-101", "sql-101"]
        assert sorted(str(p["amount"]) for p in sim.platform.payments("u1")) == [
            "29.00", "49.00"]
        assert len(sim.platform.invoices("u1")) == 2
        assert "python-101, sql-101" in sim.platform.emails("u1")[0]["body"]


def test_tag_on_signup_tags_every_new_user(project: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (path,) = templates.write("tag-on-signup", "tag_new_users", project / "automations")
    module = load(path, monkeypatch)
    with Simulation(module) as sim:
        sim.emit("user.signed_up", user="u1", source="ads", registered_at="2026-03-02")
        sim.emit("user.signed_up", user="u2")
        assert sim.platform.tags("u1") == ["signed-up"]
        assert sim.platform.tags("u2") == ["signed-up"]
        assert sim.run(user="u1").status == "completed"


def test_tag_on_signup_conditions_on_source_and_registration_date(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (path,) = templates.write("tag-on-signup", "tag_ads", project / "automations")
    module = load(path, monkeypatch)
    monkeypatch.setattr(module, "SOURCES", ("ads", "partner"))
    monkeypatch.setattr(module, "REGISTERED_FROM", "2026-03-01")
    with Simulation(module) as sim:
        sim.emit("user.signed_up", user="ads", source="ads", registered_at="2026-03-02")
        sim.emit("user.signed_up", user="web", source="web", registered_at="2026-03-02")
        sim.emit("user.signed_up", user="old", source="ads", registered_at="2026-02-28")
        sim.emit("user.signed_up", user="undated", source="partner")
        tagged = {u for u in ("ads", "web", "old", "undated") if sim.platform.tags(u)}
        assert tagged == {"ads"}
        assert sim.runs(user="web") == []  # the condition is the trigger's where=


def test_write_never_overwrites_the_module(project: Path) -> None:
    folder = project / "automations"
    templates.write("tag-on-signup", "tag_new_users", folder)
    (folder / "tag_new_users.py").write_text("# edited\n")
    with pytest.raises(templates.AutomationExistsError) as caught:
        templates.write("tag-on-signup", "tag_new_users", folder)
    assert caught.value.path == folder / "tag_new_users.py"
    assert (folder / "tag_new_users.py").read_text() == "# edited\n"


def test_write_never_overwrites_an_email_and_then_writes_nothing(project: Path) -> None:
    (project / "emails").mkdir()
    (project / "emails" / "welcome.txt").write_text("Subject: ours\n\nKeep me.\n")
    with pytest.raises(templates.AutomationExistsError, match=r"welcome\.txt already exists"):
        templates.write("enroll-on-signup", "welcome", project / "automations")
    assert (project / "emails" / "welcome.txt").read_text() == "Subject: ours\n\nKeep me.\n"
    assert not (project / "automations").exists()


@pytest.mark.parametrize(("name", "why"), [
    ("", "give it a name"),
    ("welcome-new-users", "must be a Python identifier"),
    ("2nd_welcome", "must be a Python identifier"),
    ("class", "must be a Python identifier"),
    ("enroll", "the module uses that name already"),
    ("COURSES", "the module uses that name already"),
])
def test_a_name_that_cannot_name_the_module_and_its_flow_is_refused(
        project: Path, name: str, why: str) -> None:
    with pytest.raises(templates.InvalidNameError, match=why) as caught:
        templates.write("enroll-on-signup", name, project / "automations")
    assert caught.value.name == name
    assert list(project.iterdir()) == []


def test_an_unknown_template_is_refused_naming_the_known_ones(project: Path) -> None:
    with pytest.raises(templates.UnknownTemplateError,
                       match="the templates are enroll-on-signup, tag-on-signup"):
        templates.write("enroll-on-purchase", "x", project / "automations")


def test_the_errors_are_flowkit_errors() -> None:
    for error in (templates.UnknownTemplateError, templates.InvalidNameError,
                  templates.AutomationExistsError):
        assert issubclass(error, templates.PremadeTemplateError)
        assert issubclass(error, FlowkitError)


@pytest.mark.parametrize("args", [["new"], ["new", "--list"]])
def test_flowkit_new_without_a_template_lists_them(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "enroll-on-signup   Enroll users in courses upon signup" in result.output
    assert "tag-on-signup      Tag users on signup" in result.output


def test_flowkit_new_writes_into_automations_and_refuses_in_one_line(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    runner = CliRunner()
    result = runner.invoke(main, ["new", "enroll-on-signup", "welcome_new_users"])
    assert result.exit_code == 0, result.output
    assert "wrote automations/welcome_new_users.py" in result.output
    assert "wrote emails/welcome-new-users.txt" in result.output
    assert (project / "automations" / "welcome_new_users.py").exists()

    for args, cause in [
        (["new", "enroll-on-signup", "welcome_new_users"], "already exists"),
        (["new", "enroll-on-signup"], "give it a name"),
        (["new", "tag-on-signup", "tag-new"], "must be a Python identifier"),
        (["new", "nope", "x"], "no premade template 'nope'"),
    ]:
        again = runner.invoke(main, args)
        assert again.exit_code == 2
        assert "Traceback" not in again.output
        (line,) = again.output.strip().splitlines()
        assert line.startswith("error: ") and cause in line

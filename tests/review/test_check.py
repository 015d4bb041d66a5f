"""`flowkit check`: one failing example per kind of finding, the project's own flows,
and the command's exit codes and output."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowkit.cli import main
from flowkit.errors import CompileError
from flowkit.review.check import Finding, Options, check
from flowkit.runtime.discovery import load_flows

ROOT = Path(__file__).parents[2]
LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<severity>error|warning): "
                  r"(?P<flow>\S+): (?P<message>.+) \[(?P<check>[a-z-]+)\] \(fix: .+\)$")


def write(folder: Path, module: str, source: str) -> Path:
    path = folder / f"{module}.py"
    path.write_text(textwrap.dedent(source))
    return path


def findings(*paths: Path, **options: object) -> list[Finding]:
    return list(check(paths, Options(config=None, **options)).findings)  # type: ignore[arg-type]


def of(kind: str, found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.check == kind]


# -- track enrollment cycles -----------------------------------------------------------

def test_a_two_track_cycle_is_an_error_on_each_edge(tmp_path: Path) -> None:
    path = write(tmp_path, "fkc_cycle_two", '''
        from flowkit import track
        from flowkit.lms import add_to_track

        @track("a")
        async def a(run):
            await add_to_track("b")

        @track("b")
        async def b(run):
            await add_to_track("a")
    ''')
    cycles = of("track-cycle", findings(path))
    assert [(f.flow, f.line, f.severity) for f in cycles] == [("a", 7, "error"),
                                                               ("b", 11, "error")]
    assert "cycle a → b → a" in cycles[0].message
    assert "cycle b → a → b" in cycles[1].message


def test_a_longer_cycle_and_one_through_a_track_joined_automation_are_found(
        tmp_path: Path) -> None:
    path = write(tmp_path, "fkc_cycle_long", '''
        from flowkit import automation, on, track
        from flowkit.lms import add_to_track

        @track("a")
        async def a(run):
            await add_to_track("b")

        @track("b")
        async def b(run):
            await add_to_track("c")

        @track("c")
        async def c(run):
            pass

        @automation(name="after-c")
        @on("track.joined", where=lambda event: event.get("track") == "c")
        async def after_c(run):
            await add_to_track("a")
    ''')
    cycles = of("track-cycle", findings(path))
    assert [f.flow for f in cycles] == ["a", "b", "after-c"]
    assert "cycle a → b → c → after-c → a" in cycles[0].message


def test_a_cycle_through_an_automation_on_every_track_joined_is_found(
        tmp_path: Path) -> None:
    path = write(tmp_path, "fkc_cycle_any_join", '''
        from flowkit import automation, on, track
        from flowkit.lms import add_to_track

        @track("a")
        async def a(run):
            pass

        @automation(name="on-any-join")
        @on("track.joined")
        async def on_any_join(run):
            await add_to_track("a")
    ''')
    cycles = of("track-cycle", findings(path))
    assert [(f.flow, f.line) for f in cycles] == [("on-any-join", 12)]
    assert "cycle on-any-join → a → on-any-join" in cycles[0].message


def test_a_chain_without_a_way_back_is_no_cycle(tmp_path: Path) -> None:
    path = write(tmp_path, "fkc_chain", '''
        from flowkit import track
        from flowkit.lms import add_to_track

        @track("first")
        async def first(run):
            await add_to_track("second")

        @track("second")
        async def second(run):
            await add_to_track("third")

        @track("third")
        async def third(run):
            pass
    ''')
    assert findings(path) == []


# -- track destinations ----------------------------------------------------------------

DESTINATIONS = '''
    from flowkit import on, track
    from flowkit.lms import add_to_track

    NEXT = "dormant"

    @track("loop")
    async def loop(run):
        await add_to_track("loop")

    @track("dormant", active=False)
    async def dormant(run):
        pass

    @on("user.signed_up")
    async def sign_up(run):
        await add_to_track(NEXT)
        await add_to_track("lopo")
'''


def test_self_inactive_and_unknown_destinations_are_findings_not_a_crash(
        tmp_path: Path) -> None:
    path = write(tmp_path, "fkc_destinations", DESTINATIONS)
    with pytest.raises(CompileError):  # what flowkit run would say, at the first one
        load_flows([path])
    found = of("track-destination", findings(path))
    assert [(f.flow, f.line) for f in found] == [("loop", 9), ("sign_up", 17),
                                                 ("sign_up", 18)]
    itself, inactive, unknown = (f.message for f in found)
    assert "adds users to the track they are in" in itself
    assert "track 'dormant' is not active" in inactive  # read from the constant NEXT
    assert "no track 'lopo'; did you mean 'loop'?" in unknown
    assert all(f.severity == "error" for f in found)


# -- events ----------------------------------------------------------------------------

EVENTS = '''
    from flowkit import action, exit_when, on, wait_for

    @action
    def ping(*, run):
        run.emit("app.pinged", key=run.idempotency_key())

    @on("user.enroled")
    @exit_when("app.cancelled")
    async def typo(run):
        await ping()
        await wait_for("app.pinged")
        await wait_for("app.custom")
'''


def test_unknown_events_warn_and_a_likely_typo_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "fkc_events", EVENTS)
    found = of("unknown-event", findings(path))
    assert [(f.line, f.severity) for f in found] == [(8, "error"), (9, "warning"),
                                                     (13, "warning")]
    assert "did you mean 'user.enrolled'?" in found[0].message
    assert "'app.cancelled'" in found[1].message  # app.pinged: the action ping sends it
    assert "'app.custom'" in found[2].message


def test_events_listed_in_pyproject_are_known(tmp_path: Path) -> None:
    path = write(tmp_path, "fkc_events_configured", EVENTS)
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.flowkit]\nevents = ["app.cancelled", "app.custom"]\n')
    found = of("unknown-event", list(check([path], Options(config=config)).findings))
    assert [f.line for f in found] == [8]  # only the typo is left


def test_a_malformed_events_table_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.flowkit]\nevents = "app.custom"\n')
    (found,) = check([write(tmp_path, "fkc_empty", "")], Options(config=config)).findings
    assert (found.check, found.line, found.severity) == ("config", 2, "error")


# -- email templates and placeholders --------------------------------------------------

EMAILS = '''
    from flowkit import on
    from flowkit.lms import send_email, send_message

    @on("user.signed_up")
    async def signed_up(run):
        await send_email("welcom")
        await send_email("course-start")
        await send_email("course-start", course="python-101")
        await send_message("Hi {{ user }}, see you in {{ room }}")

    @on("user.enrolled")
    async def enrolled(run):
        await send_email("course-start")
'''


def test_unknown_templates_and_placeholders_not_given_are_errors(tmp_path: Path) -> None:
    emails = tmp_path / "emails"
    emails.mkdir()
    (emails / "welcome.txt").write_text("Subject: Hi {{ user }}\n\nWelcome.\n")
    (emails / "course-start.txt").write_text("Subject: {{ course }} starts\n\n"
                                             "Hi {{ user }}, by {{ teacher }}.\n")
    path = write(tmp_path, "fkc_emails", EMAILS)
    found = [f for f in findings(path, emails=emails)
             if f.check in ("email-template", "placeholder")]
    assert [(f.flow, f.line, f.check) for f in found] == [
        ("signed_up", 7, "email-template"),
        ("signed_up", 8, "placeholder"),
        ("signed_up", 9, "placeholder"),
        ("signed_up", 10, "placeholder"),
        ("enrolled", 14, "placeholder"),
    ]
    assert "no email template 'welcom'" in found[0].message
    assert "did you mean 'welcome'?" in found[0].message
    assert "{{ course }}, {{ teacher }}" in found[1].message  # signed_up has no course
    assert "{{ teacher }}" in found[2].message and "{{ course }}" not in found[2].message
    assert "{{ room }}" in found[3].message
    assert "{{ teacher }}" in found[4].message and "{{ course }}" not in found[4].message


# -- unreachable steps -----------------------------------------------------------------

def test_steps_after_a_return_or_an_endless_loop_are_unreachable(tmp_path: Path) -> None:
    path = write(tmp_path, "fkc_unreachable", '''
        from flowkit import on, wait, wait_for
        from flowkit.lms import add_tag

        @on("user.signed_up")
        async def after_return(run):
            await add_tag("a")
            return
            await add_tag("b")
            await add_tag("c")

        @on("user.signed_up")
        async def after_loop(run):
            while True:
                await wait_for("user.visited")
            await add_tag("never")

        @on("user.signed_up")
        async def with_break(run):
            while True:
                visit = await wait_for("user.visited", timeout={"days": 1})
                if visit is None:
                    break
            await add_tag("reached")
    ''')
    found = of("unreachable", findings(path))
    assert [(f.flow, f.line, f.severity) for f in found] == [
        ("after_return", 9, "warning"), ("after_loop", 16, "warning")]
    assert "'add_tag:b' can never run (nor can the 1 after it)" in found[0].message


# -- messages per day ------------------------------------------------------------------

RATE = '''
    from flowkit import on, wait
    from flowkit.lms import send_email, send_notification, send_message

    @on("user.signed_up")
    async def chatty(run):
        await send_message("one")
        await wait(hours=6)
        await send_notification("two")
        if run.event.get("source"):
            await send_message("three")
        await send_message("four")
        await wait(days=1)
        await send_message("five")

    @on("user.signed_up")
    async def nagging(run):
        while True:
            await send_message("again")
            await wait(hours=12)

    @on("user.signed_up")
    async def daily(run):
        while True:
            await send_message("today")
            await wait(days=1)
'''


def test_more_messages_in_a_day_than_the_limit_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "fkc_rate", RATE)
    found = of("message-rate", findings(path))
    assert [(f.flow, f.line) for f in found] == [("chatty", 12), ("nagging", 19)]
    assert "4 messages within a day (lines 7, 9, 11, 12); the limit is 3" in found[0].message
    assert "in a loop with no wait of a day or more" in found[1].message
    relaxed = of("message-rate", findings(path, max_messages_per_day=4))
    assert [f.flow for f in relaxed] == ["nagging"]


# -- names and imports -----------------------------------------------------------------

def test_two_flows_with_one_name_are_an_error_naming_both_files(tmp_path: Path) -> None:
    first = write(tmp_path, "fkc_named_one", '''
        from flowkit import on

        @on("user.signed_up")
        async def welcome(run):
            pass
    ''')
    second = write(tmp_path, "fkc_named_two", '''
        from flowkit import automation, on

        @automation(name="welcome")
        @on("user.signed_up")
        async def hello(run):
            pass
    ''')
    (found,) = findings(first, second)
    assert (found.check, found.severity, found.flow) == ("duplicate-name", "error", "welcome")
    assert f"{first}:4" in found.message and f"{second}:4" in found.message


def test_a_module_that_does_not_compile_is_a_finding_and_the_rest_is_checked(
        tmp_path: Path) -> None:
    broken = write(tmp_path, "fkc_broken", '''
        from flowkit import on, wait

        @on("user.signed_up")
        async def broken(run):
            try:
                await wait(days=1)
            except Exception:
                pass
    ''')
    failing = write(tmp_path, "fkc_failing", 'raise RuntimeError("no settings")\n')
    typo = write(tmp_path, "fkc_typo", '''
        from flowkit import on

        @on("user.enroled")
        async def typo(run):
            pass
    ''')
    found = findings(broken, failing, typo)
    assert [(Path(f.file).name, f.line, f.check) for f in found] == [
        ("fkc_broken.py", 7, "import"), ("fkc_failing.py", 1, "import"),
        ("fkc_typo.py", 4, "unknown-event")]
    assert "no settings" in found[1].message


def test_a_flow_that_does_not_compile_leaves_its_neighbours_checked_and_drawn(
        tmp_path: Path) -> None:
    folder = tmp_path / "automations"
    folder.mkdir()
    write(folder, "mixed", '''
        from flowkit import on, wait
        from flowkit.lms import send_email

        @on("user.signed_up")
        async def broken(run):
            try:
                await wait(days=1)
            except Exception:
                pass

        @on("user.signed_up")
        async def kept(run):
            await wait(days=1)
            await send_email("welcome", subject="Hi")
    ''')
    write(folder, "no_import", "import fkc_no_such_module\n")
    write(folder, "other", '''
        from flowkit import on, wait

        @on("user.signed_up")
        async def other(run):
            await wait(days=2)
    ''')
    report = check([folder], Options(config=None))
    assert sorted(f.name for f in report.flows) == ["kept", "other"]
    assert [(Path(f.file).name, f.line, f.flow, f.check) for f in report.findings
            if f.check == "import"] == [("mixed.py", 8, "broken", "import"),
                                        ("no_import.py", 1, "no_import", "import")]
    drawn = CliRunner().invoke(main, ["graph", "kept", "--sources", str(folder)])
    assert drawn.exit_code == 0, drawn.output
    assert "send_email('welcome', subject='Hi')" in drawn.output
    refused = CliRunner().invoke(main, ["graph", "broken", "--sources", str(folder)])
    assert refused.exit_code == 2
    assert "mixed.py:8:8: in flow 'broken': `await` inside a try block" in refused.output
    with pytest.raises(CompileError, match="in flow 'broken'"):
        load_flows([folder])  # what `flowkit run` loads: it refuses to start


def test_another_package_named_like_the_flow_folder_does_not_shadow_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    imposter = tmp_path / "elsewhere" / "tracks"
    imposter.mkdir(parents=True)
    (imposter / "__init__.py").write_text("")
    write(imposter, "alpha", '''
        from flowkit import track

        @track("imposter")
        async def imposter(run):
            pass
    ''')
    monkeypatch.syspath_prepend(str(tmp_path / "elsewhere"))
    for name in ("tracks", "tracks.alpha"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import tracks.alpha  # type: ignore[import-not-found]

    project = tmp_path / "school" / "tracks"
    project.mkdir(parents=True)
    write(project, "alpha", '''
        from flowkit import track

        @track("alpha")
        async def alpha(run):
            pass
    ''')
    assert [f.name for f in load_flows([project])] == ["alpha"]
    assert [f.name for f in check([project], Options(config=None)).flows] == ["alpha"]
    assert sys.modules["tracks.alpha"] is tracks.alpha  # the other package is untouched


# -- the project -----------------------------------------------------------------------

def test_the_projects_automations_and_tracks_have_no_errors(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    report = check()
    assert len(report.flows) > 20
    assert [str(f) for f in report.findings if f.severity == "error"] == []


# -- the command -----------------------------------------------------------------------

def test_check_exits_1_with_one_line_per_finding(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "fkc_cli_rate", RATE)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["file"], m["line"], m["severity"], m["flow"], m["check"])
            for m in parsed if m] == [("fkc_cli_rate.py", "12", "error", "chatty", "message-rate"),
                                      ("fkc_cli_rate.py", "19", "error", "nagging",
                                       "message-rate")]
    assert "checked 3 flows: 2 errors, 0 warnings" in result.stderr


def test_check_as_a_markdown_comment_counts_and_tables_the_findings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "fkc_md_rate", RATE)
    result = CliRunner().invoke(main, ["check", str(path), "--format", "markdown"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[:4] == ["<!-- flowkit check -->", "## flowkit check", "",
                         "❌ **3 flows checked: 2 errors, 0 warnings.**"]
    rows = [line for line in lines if line.startswith("| ❌ error |")]
    assert len(rows) == 2
    assert rows[0].startswith("| ❌ error | `fkc_md_rate.py:12` | `chatty` | ")
    assert "(message-rate) |" in rows[0]


def test_check_exits_0_on_warnings_and_prints_json(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "fkc_cli_custom", '''
        from flowkit import on

        @on("app.custom")
        async def custom(run):
            pass
    ''')
    result = CliRunner().invoke(main, ["check", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["flows"], report["errors"], report["warnings"]) == (1, 0, 1)
    (finding,) = report["findings"]
    assert finding == {"severity": "warning", "check": "unknown-event",
                       "file": "fkc_cli_custom.py", "line": 4, "flow": "custom",
                       "message": finding["message"], "hint": finding["hint"]}


def test_check_takes_the_message_limit_and_reads_the_project_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.flowkit]\nevents = ["app.custom"]\n')
    path = write(tmp_path, "fkc_cli_limit", '''
        from flowkit import on
        from flowkit.lms import send_message

        @on("app.custom")
        async def twice(run):
            await send_message("one")
            await send_message("two")
    ''')
    assert CliRunner().invoke(main, ["check", str(path)]).exit_code == 0
    strict = CliRunner().invoke(main, ["check", str(path), "--max-messages-per-day", "1"])
    assert strict.exit_code == 1
    assert "2 messages within a day" in strict.stdout


def test_check_of_the_project_exits_0(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0, result.output

"""The journey rules in review: the diagram, `flowkit diff`, `flowkit check` and
`flowkit report`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from flowkit import Engine, Run, goal, journey, on, split
from flowkit.cli import main
from flowkit.lms import send_email
from flowkit.review import diff, diff_report
from flowkit.review._check_rules import journey_rules
from flowkit.review.graph import build_graph
from flowkit.rules import FrequencyCap, QuietHours, Rules
from tests.rules import flows


def test_a_split_is_drawn_as_a_decision_with_an_edge_per_arm() -> None:
    graph = build_graph(flows.course_push)
    node = graph.node("s_subject_line")
    assert (node.shape, node.label) == ("decision", 'split "subject line": a 50 / b 50')
    edges = {(e.label, e.target) for e in graph.edges if e.source == node.id}
    assert edges == {("a", "s_send_email_reminder"), ("b", "s_send_email_course_reminder")}
    assert "goal: course.completed with the same course within 30 days (ends the run)" in \
        graph.node("exits").label


def test_diff_reports_a_change_of_a_splits_weights() -> None:
    @on("course.started")
    async def subjects(run: Run) -> None:
        await split("subject line", a=50, b=50)

    before = subjects.ir

    @on("course.started")  # type: ignore[no-redef]
    async def subjects(run: Run) -> None:
        await split("subject line", a=80, b=20)

    (changed,) = diff.compare({"subjects": before}, {"subjects": subjects.ir})
    (step,) = changed.steps
    assert (step.step, step.change) == ("subject line", "weights")
    assert (step.before, step.after) == ("split('subject line', a=50, b=50)",
                                         "split('subject line', a=80, b=20)")
    assert changed.compatible
    assert "| `subject line` | weights |" in diff_report.text([changed], "main", False)


def test_check_warns_of_quiet_hours_with_no_time_and_a_flow_over_the_cap() -> None:
    rules = Rules(quiet_hours=QuietHours("08:00", "08:00"),
                  caps=(FrequencyCap("email", 2),))
    found = list(journey_rules([flows.three_emails, flows.welcome, flows.receipt], rules))
    assert [(f.severity, f.check, f.flow) for f in found] == [
        ("warning", "quiet-hours", "-"), ("warning", "frequency-cap", "three_emails")]
    assert "alone can exceed the frequency cap (2 email per day)" in found[1].message
    weekly = Rules(caps=(FrequencyCap("email", 2, per="week"),))
    (week,) = journey_rules([flows.three_emails, flows.course_push], weekly)
    assert (week.flow, week.check) == ("three_emails", "frequency-cap")
    assert "3 messages within a week" in week.message


def test_report_prints_conversion_per_arm_and_held_messages(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/flowkit.db"
    with Engine(url, [flows.course_push, flows.welcome],
                rules=Rules(caps=(FrequencyCap("email", 1),))) as engine:
        for i in range(4):
            engine.emit("course.started", user=f"u{i}", course="python-101")
            engine.emit("user.enrolled", user=f"u{i}", course="python-101")
        engine.emit("course.completed", user="u0", course="python-101")
    result = CliRunner().invoke(main, ["report", "course_push", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "course_push (version " in result.output
    assert "converted: 1/4 (25%)" in result.output
    assert "split 'subject line' a: " in result.output
    welcome = CliRunner().invoke(main, ["report", "welcome", "--database-url", url])
    assert "send_email:welcome: 4 deferred by frequency cap" in welcome.output
    unknown = CliRunner().invoke(main, ["report", "nope", "--database-url", url])
    assert unknown.exit_code != 0 and "knows no flow 'nope'" in unknown.output


def test_diff_reports_a_changed_goal_and_quiet_hours_as_options() -> None:
    @on("course.started")
    @goal("course.completed", within={"days": 30})
    async def pushed(run: Run) -> None:
        await send_email("reminder")

    before = pushed.ir

    @on("course.started")  # type: ignore[no-redef]
    @goal("course.completed", within={"days": 14}, ends_run=True)
    @journey(quiet_hours=QuietHours("09:00", "18:00"))
    async def pushed(run: Run) -> None:
        await send_email("reminder")

    (changed,) = diff.compare({"pushed": before}, {"pushed": pushed.ir})
    assert changed.steps == ()
    assert sorted(e.text for e in changed.effects) == [
        "no longer `goal course.completed within 30 days`: applies to new runs",
        "now `goal course.completed within 14 days ends the run`: applies to new runs",
        "now `quiet hours messages 09:00-18:00`: applies to new runs",
    ]
    assert not any(e.blocking for e in changed.effects)

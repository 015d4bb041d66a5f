"""The text diagrams and docs show for conditions, waits and wait_for."""

from __future__ import annotations

from automations.inactive_reengagement import inactive_reengagement
from automations.inactivity_sequence import inactivity_sequence
from automations.onboarding_drip import onboarding_drip
from flowkit.review import describe


def test_a_lambda_condition_reads_as_its_body() -> None:
    (trigger,) = onboarding_drip.triggers
    assert describe.trigger_text(trigger) == \
        "on user.enrolled where event['course'] == 'python-101'"


def test_a_one_return_function_reads_with_its_closure_filled_in_each_time() -> None:
    # Both flows' triggers are the same function with different closures.
    (fourteen,) = inactive_reengagement.triggers
    (ten,) = inactivity_sequence.triggers
    assert describe.trigger_text(fourteen) == \
        "on user.inactive where event.get('days') == 14 and event.get('course') == None"
    assert describe.trigger_text(ten) == \
        "on user.inactive where event.get('days') == 10 and event.get('course') == 'python-101'"
    assert describe.trigger_text(fourteen).endswith("== 14 and event.get('course') == None")


def test_what_cannot_be_read_shows_as_dots_or_the_function_name() -> None:
    assert describe.condition(len) == "len(...)"
    assert describe.condition(eval("lambda event: True")) == "..."


def test_waits_read_as_durations() -> None:
    assert describe.wait_text("wait(days=2)") == "wait 2 days"
    assert describe.wait_text("wait(days=1)") == "wait 1 day"
    assert describe.wait_text("wait(1, hours=0.5)") == "wait 1 day 0.5 hours"
    assert describe.wait_text("wait(minutes=n)") == "wait minutes=n"
    assert describe.wait_text("wait(until=run.user.fields['due'])") == \
        "wait until run.user.fields['due']"
    assert describe.wait_text("wait(**later)") == "wait(**later)"


def test_wait_for_reads_as_its_event_filter_and_timeout() -> None:
    assert describe.wait_for_text("wait_for('user.visited')") == "wait for user.visited"
    assert describe.wait_for_text(
        "wait_for('course.completed', timeout={'days': 60}, where=lambda e: e['c'] == 1)"
    ) == "wait for course.completed where e['c'] == 1 (up to 60 days)"
    assert describe.wait_for_text("wait_for('x.y', timedelta(hours=2), counts)") == \
        "wait for x.y where counts(event) (up to 2 hours)"


def test_long_labels_are_cut_with_an_ellipsis() -> None:
    assert describe.shorten("x" * 100) == "x" * 79 + "…"
    assert describe.shorten("a\n   b") == "a b"

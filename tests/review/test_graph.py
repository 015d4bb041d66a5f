"""Diagrams of flows: the onboarding drip in Mermaid and DOT, loops drawn as cycles,
conditions, ends and exits."""

from __future__ import annotations

from automations.onboarding_drip import onboarding_drip
from flowkit.review.dot import to_dot
from flowkit.review.graph import Graph, build_graph
from flowkit.review.mermaid import escape, to_mermaid
from tests.review import graph_flows

ONBOARDING_DRIP_MERMAID = """\
flowchart TD
    t_user_enrolled(["on user.enrolled where event['course'] == 'python-101'"])
    s_send_email_welcome["send_email('welcome')"]
    s_wait_2d{{"wait 2 days"}}
    s_send_email_reminder["send_email('reminder')"]
    s_wait_4d{{"wait 4 days"}}
    s_completed_a_unit{"completed a unit?"}
    s_send_email_encouragement["send_email('encouragement')"]
    s_send_email_tips["send_email('tips')"]
    e_end(("end"))
    exits>"exit when course.completed (same course)"]
    t_user_enrolled --> s_send_email_welcome
    s_send_email_welcome --> s_wait_2d
    s_wait_2d --> s_send_email_reminder
    s_send_email_reminder --> s_wait_4d
    s_wait_4d --> s_completed_a_unit
    s_completed_a_unit -->|yes| s_send_email_encouragement
    s_completed_a_unit -->|no| s_send_email_tips
    s_send_email_encouragement --> e_end
    s_send_email_tips --> e_end
    classDef trigger fill:#e3f2fd,stroke:#1e88e5
    class t_user_enrolled trigger
    classDef wait fill:#f3e5f5,stroke:#8e24aa
    class s_wait_2d,s_wait_4d wait
    classDef note fill:#fff8c4,stroke:#c9a600
    class exits note
"""


def edges(graph: Graph) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.label) for e in graph.edges}


def labels(graph: Graph) -> dict[str, str]:
    return {n.id: n.label for n in graph.nodes}


def test_the_onboarding_drip_in_mermaid() -> None:
    assert to_mermaid(build_graph(onboarding_drip)) == ONBOARDING_DRIP_MERMAID


def test_the_onboarding_drip_in_dot() -> None:
    dot = to_dot(build_graph(onboarding_drip))
    lines = [line.strip() for line in dot.splitlines()]
    assert lines[0] == 'digraph "onboarding_drip" {'
    assert lines[-1] == "}"
    for expected in [
        't_user_enrolled [label="on user.enrolled where event[\'course\']\\n'
        '== \'python-101\'", shape=oval, style=filled, fillcolor="#e3f2fd"];',
        's_send_email_welcome [label="send_email(\'welcome\')", shape=box];',
        's_wait_2d [label="wait 2 days", shape=hexagon, style=filled, fillcolor="#f3e5f5"];',
        's_send_email_reminder [label="send_email(\'reminder\')", shape=box];',
        's_wait_4d [label="wait 4 days", shape=hexagon, style=filled, fillcolor="#f3e5f5"];',
        's_completed_a_unit [label="completed a unit?", shape=diamond];',
        's_send_email_encouragement [label="send_email(\'encouragement\')", shape=box];',
        's_send_email_tips [label="send_email(\'tips\')", shape=box];',
        'e_end [label="end", shape=oval, peripheries=2];',
        'exits [label="exit when course.completed (same course)", shape=note, '
        'style=filled, fillcolor="#fff8c4"];',
        "t_user_enrolled -> s_send_email_welcome;",
        "s_send_email_welcome -> s_wait_2d;",
        "s_wait_2d -> s_send_email_reminder;",
        "s_send_email_reminder -> s_wait_4d;",
        "s_wait_4d -> s_completed_a_unit;",
        's_completed_a_unit -> s_send_email_encouragement [label="yes"];',
        's_completed_a_unit -> s_send_email_tips [label="no"];',
        "s_send_email_encouragement -> e_end;",
        "s_send_email_tips -> e_end;",
    ]:
        assert expected in lines


def test_every_step_of_the_drip_is_a_node_named_after_its_step_id() -> None:
    graph = build_graph(onboarding_drip)
    shown = {n.step: n.id for n in graph.nodes if n.step}
    assert list(shown) == [s.id for s in onboarding_drip.ir.steps]
    assert shown["send_email:welcome"] == "s_send_email_welcome"
    assert shown["completed a unit?"] == "s_completed_a_unit"


def test_a_while_loop_is_a_cycle_through_its_condition() -> None:
    graph = build_graph(graph_flows.nag_until_enrolled)
    condition = "c_not_run_user_fields_get_enrolled"
    assert labels(graph)[condition] == "not run.user.fields.get('enrolled')"
    assert edges(graph) == {
        ("t_user_signed_up", condition, ""),
        (condition, "s_send_email_nag", "yes"),
        ("s_send_email_nag", "s_wait_1d", ""),
        ("s_wait_1d", condition, ""),  # back to the test: the cycle
        (condition, "e_end", "no"),
    }


def test_a_for_loop_is_a_cycle_through_for_x_in_its_list() -> None:
    graph = build_graph(graph_flows.three_tips)
    assert labels(graph)["c_for_tip"] == "for tip in ['tip-1', 'tip-2', 'tip-3']"
    assert labels(graph)["s_wait_1d12h"] == "wait 1 day 12 hours"
    assert edges(graph) == {
        ("t_user_signed_up", "c_for_tip", ""),
        ("c_for_tip", "s_send_email", "next"),
        ("s_send_email", "s_wait_1d12h", ""),
        ("s_wait_1d12h", "c_for_tip", ""),
        ("c_for_tip", "e_end", "done"),
    }
    mermaid = to_mermaid(graph)
    assert "    s_wait_1d12h --> c_for_tip\n" in mermaid
    assert "    c_for_tip -->|done| e_end\n" in mermaid


def test_while_true_has_no_condition_node_and_no_end() -> None:
    graph = build_graph(graph_flows.monthly)
    assert edges(graph) == {
        ("t_user_signed_up", "s_wait_30d", ""),
        ("s_wait_30d", "s_send_email_monthly", ""),
        ("s_send_email_monthly", "s_wait_30d", ""),
    }


def test_a_negated_branch_swaps_yes_and_no_and_ends_show_their_value() -> None:
    graph = build_graph(graph_flows.unless_opted_out)
    assert labels(graph)["s_opted_out"] == "opted out?"
    assert ("s_opted_out", "s_send_email_news", "no") in edges(graph)
    assert ("s_opted_out", "e_skipped", "yes") in edges(graph)
    assert ("s_send_email_news", "e_sent", "") in edges(graph)
    assert labels(graph)["e_sent"] == "return 'sent'"
    assert all(n.id != "e_end" for n in graph.nodes)  # the unreachable final end


def test_a_tested_wait_for_a_state_exit_and_a_wait_until() -> None:
    graph = build_graph(graph_flows.first_visit)
    assert labels(graph)["s_wait_for_user_visited"] == "wait for user.visited (up to 3 days)"
    assert labels(graph)["c_event_arrived"] == "event arrived?"
    assert ("c_event_arrived", "s_send_email_thanks_for_visiting", "yes") in edges(graph)
    assert ("c_event_arrived", "s_wait_until", "no") in edges(graph)
    assert labels(graph)["s_wait_until"] == "wait until dt.datetime(2030, 1, 1)"
    assert labels(graph)["exits"] == "exit when run.user.fields.get('deleted', False)"


def test_mermaid_labels_escape_what_a_quoted_label_cannot_hold() -> None:
    assert escape('say "hi" <b> #1 `x`') == "say #quot;hi#quot; #lt;b#gt; #35;1 #96;x#96;"
    assert escape("a\nb") == "a<br>b"


def test_dot_labels_escape_quotes_and_backslashes() -> None:
    from flowkit.review.dot import quote

    assert quote('say "hi" \\o/') == '"say \\"hi\\" \\\\o/"'

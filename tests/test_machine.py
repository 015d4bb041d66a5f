"""The step machine on its own: a compiled flow, a ``RunState`` and one input at a time.

No engine and no database: each test builds a ``Machine`` from a flow, feeds it
``Start``, ``TimerFired``, ``EventArrived``, ``TimedOut``, ``ActionDone`` and ``Retry``
the way the engine would, and checks the outcome and the state it leaves behind.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import attrs
import pendulum
import pytest

from flowkit import _json, action, automation, branch, exit_when, on, wait, wait_for
from flowkit.context import Run, User
from flowkit.dsl.flow import Flow
from flowkit.ir import End, Exec, FlowIR, Jump, JumpIf, Step
from flowkit.machine import (
    ActionDone,
    Completed,
    EventArrived,
    Exited,
    Failed,
    Ignored,
    Input,
    Machine,
    NeedsAction,
    Outcome,
    Parked,
    Retry,
    RunState,
    Start,
    Suspended,
    TimedOut,
    TimerFired,
)

T0 = pendulum.datetime(2026, 3, 2, 9, 0, tz="UTC")
RUN_ID = "run-1"
USER = User(id="u1")


# -- the flows these tests drive ----------------------------------------------------------


@action
def send_email(template):
    return f"sent {template}"


@action
def add_tag(tag, *, run):
    return tag


@automation()
async def drip(run):
    await send_email("welcome")
    await wait(days=2)
    await send_email("reminder")
    return "done"


@automation()
async def sign_in_or_timeout(run):
    seen = await wait_for("user.signed_in", timeout={"days": 3},
                          where=lambda e: e.get("device") != "bot")
    return seen


@automation()
async def waits_for_ever(run):
    seen = await wait_for("user.signed_in")
    return seen["device"]


@automation()
async def upsell(run):
    plan = run.event.get("plan", "free")
    if await branch("on the pro plan?", plan == "pro"):
        return "pro"
    return "free"


@automation()
async def nudges(run):
    for day in range(3):
        await send_email("nudge")
        sent = day + 1
        await wait(days=1)
    return sent


@automation()
async def keeps_locals(run):
    due = run.now.add(days=10)
    grace = pendulum.duration(days=2)
    courses = ["py", "sql"]
    profile = {"plan": "pro"}
    await wait(hours=1)
    return [due - grace, [*courses, "git"], profile["plan"]]


@automation()
async def until_from_event(run):
    await wait(until=run.event["until"])
    await send_email("on time")


@automation()
async def holds_a_lock(run):
    guard = threading.Lock()
    await wait(hours=1)
    return str(guard)


@automation()
async def releases_the_lock(run):
    guard = threading.Lock()
    del guard
    await wait(hours=1)


@automation()
async def divides(run):
    await wait(hours=1)
    share = 1 / run.event["count"]
    return share


@automation()
async def spins(run):
    while True:
        if run.event.get("never"):
            await wait(days=1)


@automation()
async def awaits_a_plain_function(run):
    await defined_later("x")


def defined_later(value):
    return value


def unsubscribed(run):
    return run.user.fields.get("unsubscribed", False)


@on("user.enrolled")
@exit_when(unsubscribed)
async def exits_on_state(run):
    await send_email("welcome")
    await wait(days=1)
    await send_email("reminder")


# -- helpers ------------------------------------------------------------------------------


def run_for(flow: Flow, state: RunState, now: pendulum.DateTime = T0, *,
            user: User = USER, event: dict[str, Any] | None = None) -> Run:
    """The run context the engine would build for this resume."""
    return Run(id=RUN_ID, flow=flow.name, user=user, event=event or {}, now=now,
               step=state.step, visits=state.visits)


def drive(flow: Flow, script: list[tuple[Input, pendulum.DateTime]], *,
          user: User = USER, event: dict[str, Any] | None = None,
          reload: bool = False) -> tuple[list[Outcome], RunState]:
    """Feed ``script`` to a new run; with ``reload``, pass the state through JSON between
    inputs, as the store would."""
    machine = Machine(flow)
    state = RunState()
    outcomes = []
    for inp, now in script:
        if reload:
            state = RunState(step=state.step,
                             locals=_json.from_jsonable(_json.to_jsonable(state.locals)),
                             visits=dict(state.visits), pending=state.pending)
        outcomes.append(machine.advance(state, inp, run_for(flow, state, now, user=user,
                                                            event=event)))
    return outcomes, state


# -- advancing ----------------------------------------------------------------------------


def test_start_asks_for_the_first_action_with_its_idempotency_key():
    machine, state = Machine(drip), RunState()

    outcome = machine.advance(state, Start(), run_for(drip, state))

    assert outcome == NeedsAction("send_email:welcome", send_email("welcome"),
                                  f"{RUN_ID}:send_email:welcome:1")
    assert state.step == "send_email:welcome"
    assert state.pending == send_email("welcome")
    assert state.visits == {"send_email:welcome": 1}


def test_a_run_goes_from_action_to_wait_to_action_to_completion():
    outcomes, state = drive(drip, [
        (Start(), T0),
        (ActionDone("sent welcome"), T0),
        (TimerFired(), T0.add(days=2)),
        (ActionDone("sent reminder"), T0.add(days=2)),
    ])

    assert outcomes == [
        NeedsAction("send_email:welcome", send_email("welcome"),
                    f"{RUN_ID}:send_email:welcome:1"),
        Suspended("wait:2d", T0.add(days=2)),
        NeedsAction("send_email:reminder", send_email("reminder"),
                    f"{RUN_ID}:send_email:reminder:1"),
        Completed("done"),
    ]
    assert [(h.kind, h.step, h.at) for h in state.history] == [
        ("action", "send_email:welcome", T0),
        ("waiting", "wait:2d", T0),
        ("resumed", "wait:2d", T0.add(days=2)),
        ("action", "send_email:reminder", T0.add(days=2)),
        ("completed", None, T0.add(days=2)),
    ]
    assert state.history[0].detail["result"] == "sent welcome"
    assert state.history[-1].detail == {"value": "done"}
    assert state.pending is None


def test_the_same_inputs_give_the_same_outcomes_and_state():
    script = [(Start(), T0), (ActionDone("ok"), T0), (TimerFired(), T0.add(days=2)),
              (ActionDone("ok"), T0.add(days=2))]

    first = drive(drip, script)
    second = drive(drip, script)

    assert first == second
    assert first[1] == second[1]  # step, locals, visits, history and pending alike


def test_resuming_from_stored_state_is_the_same_as_from_memory():
    script = [(Start(), T0), (ActionDone(None), T0), (TimerFired(), T0.add(days=1)),
              (ActionDone(None), T0.add(days=1)), (TimerFired(), T0.add(days=2)),
              (ActionDone(None), T0.add(days=2)), (TimerFired(), T0.add(days=3))]

    in_memory, kept = drive(nudges, script)
    reloaded, stored = drive(nudges, script, reload=True)

    assert reloaded == in_memory
    assert in_memory[-1] == Completed(3)
    assert (stored.step, stored.visits) == (kept.step, kept.visits)


def test_two_runs_of_one_machine_do_not_share_locals():
    machine = Machine(upsell)
    pro, free = RunState(), RunState()

    first = machine.advance(pro, Start(), run_for(upsell, pro, event={"plan": "pro"}))
    second = machine.advance(free, Start(), run_for(upsell, free))

    assert (first, second) == (Completed("pro"), Completed("free"))


# -- waits --------------------------------------------------------------------------------


def test_a_wait_suspends_until_now_plus_its_duration():
    outcomes, state = drive(drip, [(Start(), T0), (ActionDone(None), T0.add(minutes=5))])

    assert outcomes[-1] == Suspended("wait:2d", T0.add(days=2, minutes=5), None)
    assert state.step == "wait:2d"
    assert state.history[-1].detail == {"until": T0.add(days=2, minutes=5).isoformat()}


@pytest.mark.parametrize(("until", "timezone", "expected"), [
    ("2026-03-05T09:00:00+01:00", "America/New_York", pendulum.datetime(2026, 3, 5, 8)),
    (pendulum.datetime(2026, 3, 5, 9, tz="Asia/Tokyo"), "UTC", pendulum.datetime(2026, 3, 5, 0)),
    (pendulum.date(2026, 3, 5), "America/New_York", pendulum.datetime(2026, 3, 5, 5)),
], ids=["aware string", "aware datetime", "date in the user's timezone"])
def test_wait_until_suspends_until_that_moment_in_utc(until, timezone, expected):
    user = User(id="u1", timezone=timezone)

    outcomes, _ = drive(until_from_event, [(Start(), T0)], user=user, event={"until": until})

    assert outcomes == [Suspended("wait:until", expected)]
    assert outcomes[0].wake_at.timezone_name == "UTC"


def test_wait_until_a_naive_datetime_is_read_in_the_users_timezone():
    user = User(id="u1", timezone="America/New_York")

    outcomes, _ = drive(until_from_event, [(Start(), T0)], user=user,
                        event={"until": dt.datetime(2026, 3, 5, 9)})

    assert outcomes == [Suspended("wait:until", pendulum.datetime(2026, 3, 5, 14))]


def test_wait_until_a_naive_string_is_read_in_the_users_timezone():
    user = User(id="u1", timezone="America/New_York")

    outcomes, _ = drive(until_from_event, [(Start(), T0)], user=user,
                        event={"until": "2026-03-05T09:00:00"})

    assert outcomes == [Suspended("wait:until", pendulum.datetime(2026, 3, 5, 14))]


def test_wait_until_a_past_moment_goes_straight_on_and_says_so_in_history():
    outcomes, state = drive(until_from_event, [(Start(), T0)],
                            event={"until": T0.subtract(hours=1)})

    assert outcomes == [NeedsAction("send_email:on time", send_email("on time"),
                                    f"{RUN_ID}:send_email:on time:1")]
    [skipped] = [h for h in state.history if h.kind == "wait_skipped"]
    assert skipped.step == "wait:until"
    assert skipped.detail["until"] == T0.subtract(hours=1).isoformat()


def test_a_timer_for_a_run_resting_at_a_wait_for_counts_as_its_timeout():
    outcomes, _ = drive(sign_in_or_timeout, [(Start(), T0), (TimerFired(), T0.add(days=3))])

    assert outcomes[-1] == Completed(None)


# -- wait_for -----------------------------------------------------------------------------


def test_wait_for_suspends_for_the_event_with_its_timeout():
    outcomes, state = drive(sign_in_or_timeout, [(Start(), T0)])

    assert outcomes == [Suspended("wait_for:user.signed_in", T0.add(days=3),
                                  "user.signed_in")]
    assert state.history[-1].kind == "waiting_for"


def test_wait_for_without_timeout_has_no_wake_up():
    outcomes, _ = drive(waits_for_ever, [(Start(), T0)])

    assert outcomes == [Suspended("wait_for:user.signed_in", None, "user.signed_in")]


def test_the_awaited_event_resumes_the_run_with_its_payload():
    event = {"event": "user.signed_in", "user": "u1", "device": "ios"}

    outcomes, state = drive(sign_in_or_timeout, [(Start(), T0),
                                                 (EventArrived(event), T0.add(hours=5))])

    assert outcomes[-1] == Completed(event)
    resumed = [h for h in state.history if h.kind == "resumed"]
    assert [(h.detail["by"], h.at) for h in resumed] == [("event", T0.add(hours=5))]


def test_a_timed_out_wait_for_gives_none():
    outcomes, state = drive(sign_in_or_timeout, [(Start(), T0), (TimedOut(), T0.add(days=3))])

    assert outcomes[-1] == Completed(None)
    assert [h.detail["by"] for h in state.history if h.kind == "resumed"] == ["timeout"]


def test_an_event_its_where_rejects_is_ignored_and_the_run_keeps_waiting():
    machine, state = Machine(sign_in_or_timeout), RunState()
    machine.advance(state, Start(), run_for(sign_in_or_timeout, state))
    before = attrs.evolve(state, history=list(state.history), visits=dict(state.visits))

    outcome = machine.advance(state, EventArrived({"event": "user.signed_in", "device": "bot"}),
                              run_for(sign_in_or_timeout, state, T0.add(hours=1)))

    assert isinstance(outcome, Ignored)
    assert "where" in outcome.reason
    assert state == before

    later = machine.advance(state, EventArrived({"event": "user.signed_in", "device": "web"}),
                            run_for(sign_in_or_timeout, state, T0.add(hours=2)))
    assert later == Completed({"event": "user.signed_in", "device": "web"})


@pytest.mark.parametrize("wrong", [EventArrived({"event": "user.signed_in"}), TimedOut()],
                         ids=["an event", "a timeout"])
def test_an_input_that_does_not_concern_a_waiting_run_is_ignored(wrong):
    machine, state = Machine(drip), RunState()
    machine.advance(state, Start(), run_for(drip, state))
    machine.advance(state, ActionDone(None), run_for(drip, state))
    before = attrs.evolve(state, history=list(state.history), visits=dict(state.visits))

    outcome = machine.advance(state, wrong, run_for(drip, state, T0.add(hours=1)))

    assert isinstance(outcome, Ignored)
    assert type(wrong).__name__ in outcome.reason and "wait" in outcome.reason
    assert state == before


# -- branches and loops -------------------------------------------------------------------


@pytest.mark.parametrize(("plan", "expected"), [("pro", "pro"), ("free", "free")])
def test_a_branch_decides_without_suspending_and_is_recorded(plan, expected):
    outcomes, state = drive(upsell, [(Start(), T0)], event={"plan": plan})

    assert outcomes == [Completed(expected)]
    [decision] = [h for h in state.history if h.kind == "branch"]
    assert (decision.step, decision.detail) == (
        "on the pro plan?", {"label": "on the pro plan?", "value": plan == "pro"})


def test_each_visit_of_a_step_in_a_loop_gets_its_own_idempotency_key():
    outcomes, state = drive(nudges, [
        (Start(), T0), (ActionDone(None), T0),
        (TimerFired(), T0.add(days=1)), (ActionDone(None), T0.add(days=1)),
        (TimerFired(), T0.add(days=2)), (ActionDone(None), T0.add(days=2)),
        (TimerFired(), T0.add(days=3)),
    ])

    keys = [o.key for o in outcomes if isinstance(o, NeedsAction)]
    assert keys == [f"{RUN_ID}:send_email:nudge:{visit}" for visit in (1, 2, 3)]
    assert state.visits == {"send_email:nudge": 3, "wait:1d": 3}
    assert outcomes[-1] == Completed(3)
    history_keys = [h.detail["key"] for h in state.history if h.kind == "action"]
    assert history_keys == keys


def test_a_loop_that_never_waits_fails_instead_of_hanging():
    outcomes, _ = drive(spins, [(Start(), T0)])

    assert isinstance(outcomes[0], Failed)
    assert "without waiting" in outcomes[0].reason


# -- locals -------------------------------------------------------------------------------


def test_locals_are_saved_at_a_suspension_and_used_after_it():
    machine, state = Machine(keeps_locals), RunState()

    first = machine.advance(state, Start(), run_for(keeps_locals, state))

    assert first == Suspended("wait:1h", T0.add(hours=1))
    assert state.locals == {"due": T0.add(days=10), "grace": pendulum.duration(days=2),
                            "courses": ["py", "sql"], "profile": {"plan": "pro"}}

    state.locals = _json.from_jsonable(_json.to_jsonable(state.locals))  # as stored
    done = machine.advance(state, TimerFired(), run_for(keeps_locals, state, T0.add(hours=1)))

    assert done == Completed([T0.add(days=8), ["py", "sql", "git"], "pro"])


def test_a_local_that_is_not_json_at_a_wait_parks_the_run_naming_it():
    outcomes, state = drive(holds_a_lock, [(Start(), T0)])

    [parked] = outcomes
    assert isinstance(parked, Parked)
    assert "'guard'" in parked.reason and "'wait:1h'" in parked.reason
    assert "del" in parked.reason  # says what to do
    assert state.step == "wait:1h"


def test_a_deleted_local_does_not_park_the_run():
    outcomes, state = drive(releases_the_lock, [(Start(), T0)])

    assert outcomes == [Suspended("wait:1h", T0.add(hours=1))]
    assert "guard" not in state.locals


# -- exits, failures and parking ----------------------------------------------------------


def test_a_state_exit_is_checked_before_each_step():
    machine, state = Machine(exits_on_state), RunState()
    machine.advance(state, Start(), run_for(exits_on_state, state))
    machine.advance(state, ActionDone(None), run_for(exits_on_state, state))
    gone = User(id="u1", fields={"unsubscribed": True})

    outcome = machine.advance(state, TimerFired(),
                              run_for(exits_on_state, state, T0.add(days=1), user=gone))

    assert outcome == Exited("exit condition 'unsubscribed' held before step "
                             "'send_email:reminder'")
    assert state.pending is None
    assert "send_email:reminder" not in state.visits


def test_a_state_exit_that_holds_at_the_start_runs_no_step():
    gone = User(id="u1", fields={"unsubscribed": True})

    outcomes, state = drive(exits_on_state, [(Start(), T0)], user=gone)

    assert isinstance(outcomes[0], Exited)
    assert state.visits == {}


def test_author_code_that_raises_fails_the_run_with_type_message_and_line():
    outcomes, _ = drive(divides, [(Start(), T0), (TimerFired(), T0.add(hours=1))],
                        event={"count": 0})

    failed = outcomes[-1]
    assert isinstance(failed, Failed)
    assert failed.reason.startswith("ZeroDivisionError: division by zero at ")
    line = next(n.line for n in divides.ir.nodes
                if isinstance(n, Exec) and "1 / run.event" in n.code)
    assert failed.reason.endswith(f"{__file__}:{line}")


def test_awaiting_something_that_is_not_a_command_fails_the_run():
    outcomes, _ = drive(awaits_a_plain_function, [(Start(), T0)])

    assert isinstance(outcomes[0], Failed)
    assert "defined_later" in outcomes[0].reason
    assert "@action" in outcomes[0].reason


def test_a_run_resting_at_a_step_the_flow_no_longer_has_is_parked():
    machine = Machine(drip)
    state = RunState(step="wait:3d", visits={"wait:3d": 1})

    outcome = machine.advance(state, TimerFired(), run_for(drip, state, T0.add(days=3)))

    assert isinstance(outcome, Parked)
    assert "'wait:3d'" in outcome.reason and drip.version in outcome.reason
    assert state.step == "wait:3d"


def test_retry_runs_the_stopped_step_again_with_the_same_idempotency_key():
    machine, state = Machine(drip), RunState()
    first = machine.advance(state, Start(), run_for(drip, state))
    # the engine ran the action, which raised: it does not advance the machine

    again = machine.advance(state, Retry(), run_for(drip, state, T0.add(minutes=5)))

    assert isinstance(first, NeedsAction) and isinstance(again, NeedsAction)
    assert again == first
    assert state.visits == {"send_email:welcome": 1}
    assert [h.kind for h in state.history] == ["retried"]


def test_an_action_that_takes_run_gets_its_call_without_the_run():
    @automation()
    async def tags(run):
        await add_tag("vip")

    outcomes, _ = drive(tags, [(Start(), T0)])

    assert outcomes[0].call.action is add_tag
    assert (outcomes[0].call.args, outcomes[0].call.kwargs) == (("vip",), {})


# -- the IR -------------------------------------------------------------------------------


ALL_FLOWS = [drip, sign_in_or_timeout, waits_for_ever, upsell, nudges, keeps_locals,
             until_from_event, holds_a_lock, releases_the_lock, divides, spins,
             awaits_a_plain_function, exits_on_state]


@pytest.mark.parametrize("flow", ALL_FLOWS, ids=[f.name for f in ALL_FLOWS])
def test_the_ir_round_trips_through_json(flow):
    ir = flow.ir

    again = FlowIR.from_json(ir.to_json())

    assert again == ir
    assert again.version == ir.version
    assert again.to_json() == ir.to_json()


def test_the_ir_has_every_kind_of_node_and_says_its_version():
    kinds = {type(n) for flow in ALL_FLOWS for n in flow.ir.nodes}
    data = nudges.ir.to_dict()

    assert kinds == {Exec, Step, JumpIf, Jump, End}
    assert data["version"] == nudges.ir.version
    assert data["name"] == "nudges"
    assert [n["op"] for n in data["nodes"]].count("step") == len(nudges.ir.steps)


def test_a_for_loop_keeps_its_list_and_position_as_hidden_locals():
    assert nudges.ir.locals[:2] == ("day", "sent")
    assert any(name.startswith("__fk_items_") for name in nudges.ir.locals)
    assert any(name.startswith("__fk_index_") for name in nudges.ir.locals)


def test_a_changed_node_changes_the_version():
    ir = drip.ir
    nodes = list(ir.nodes)
    first = nodes[0]
    assert isinstance(first, Step)
    nodes[0] = attrs.evolve(first, call="send_email('hello')")

    changed = FlowIR(name=ir.name, nodes=tuple(nodes), locals=ir.locals,
                     declaration=ir.declaration)
    moved = FlowIR(name=ir.name, locals=ir.locals, declaration=ir.declaration,
                   nodes=tuple(attrs.evolve(n, line=n.line + 10) if hasattr(n, "line") else n
                               for n in ir.nodes))

    assert changed.version != ir.version
    assert moved.version == ir.version

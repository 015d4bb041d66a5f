"""What flow authors import: decorators, primitives and actions."""

from flowkit.dsl.action import Action, ActionCall, action
from flowkit.dsl.flow import (
    EventExit,
    Flow,
    StateExit,
    Trigger,
    automation,
    compile_flow,
    exit_when,
    on,
    track,
)
from flowkit.dsl.journey import goal, journey
from flowkit.dsl.primitives import (
    Branch,
    Command,
    Split,
    Wait,
    WaitFor,
    branch,
    split,
    wait,
    wait_for,
)

__all__ = [
    "Action",
    "ActionCall",
    "Branch",
    "Command",
    "EventExit",
    "Flow",
    "Split",
    "StateExit",
    "Trigger",
    "Wait",
    "WaitFor",
    "action",
    "automation",
    "branch",
    "compile_flow",
    "exit_when",
    "goal",
    "journey",
    "on",
    "split",
    "track",
    "wait",
    "wait_for",
]

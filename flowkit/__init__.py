"""flowkit: a learning platform's user automations as plain Python, run durably.

Write a flow as an ``async def`` with decorators; flowkit compiles it into a resumable
step machine and runs it on an ``Engine`` (or a ``flowkit.testing.Simulation``).
"""

from flowkit.context import Run, User
from flowkit.dsl import (
    action,
    automation,
    branch,
    compile_flow,
    exit_when,
    goal,
    journey,
    on,
    split,
    track,
    wait,
    wait_for,
)
from flowkit.errors import (
    CompileError,
    DefinitionError,
    DuplicateFlowError,
    EventError,
    FlowkitError,
    NotInFlowError,
    RunStatusError,
    SchemaOutdatedError,
    UnknownFlowError,
    UnknownRunError,
)
from flowkit.runtime.engine import Engine
from flowkit.runtime.hooks import Hooks

__all__ = [
    # Declaring flows
    "action",
    "automation",
    "exit_when",
    "on",
    "track",
    # Journey rules (quiet hours, caps: flowkit.rules)
    "goal",
    "journey",
    # Inside a flow
    "branch",
    "split",
    "wait",
    "wait_for",
    "Run",
    "User",
    # Running and tools
    "Engine",
    "Hooks",
    "compile_flow",
    # Errors
    "CompileError",
    "DefinitionError",
    "DuplicateFlowError",
    "EventError",
    "FlowkitError",
    "NotInFlowError",
    "RunStatusError",
    "SchemaOutdatedError",
    "UnknownFlowError",
    "UnknownRunError",
]
__version__ = "0.1.0"

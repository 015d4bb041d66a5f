"""The public API is a deliberate list: renaming or dropping a name must fail here."""

from __future__ import annotations

import flowkit
import flowkit.testing


def test_the_public_names_are_pinned() -> None:
    assert sorted(flowkit.__all__) == sorted([
        "action", "automation", "exit_when", "on", "track",
        "goal", "journey",
        "branch", "split", "wait", "wait_for", "Run", "User",
        "Engine", "Hooks", "compile_flow",
        "CompileError", "DefinitionError", "DuplicateFlowError", "EventError",
        "FlowkitError", "NotInFlowError", "RunStatusError", "SchemaOutdatedError",
        "UnknownFlowError", "UnknownRunError",
    ])
    assert flowkit.testing.__all__ == ["Simulation"]


def test_every_exported_name_exists() -> None:
    for name in flowkit.__all__:
        assert getattr(flowkit, name) is not None


def test_every_error_is_a_flowkit_error() -> None:
    errors = [getattr(flowkit, n) for n in flowkit.__all__ if n.endswith("Error")]
    assert all(issubclass(e, flowkit.FlowkitError) for e in errors)

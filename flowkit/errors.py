"""Every exception flowkit raises. Each says what went wrong and what to do about it,
and carries its facts as attributes so tools can report them without parsing text."""

from __future__ import annotations


class FlowkitError(Exception):
    """Base class of every flowkit error."""


class DefinitionError(FlowkitError, TypeError):
    """A decorator or primitive was used with a target or options it cannot accept.

    Raised when the decorator is applied (at import), never later.
    """


class CompileError(FlowkitError, SyntaxError):
    """A flow's body cannot be compiled into a resumable step machine.

    ``file``, ``line`` and ``column`` locate the offending code (line 1-based, column
    0-based, as in Python's own errors); ``flow`` names the flow; ``hint`` says what to
    write instead.
    """

    def __init__(
        self, message: str, *, flow: str, file: str, line: int, column: int, hint: str = ""
    ) -> None:
        self.flow = flow
        self.file = file
        self.line = line
        self.column = column
        self.hint = hint
        self.message = message
        text = f"{file}:{line}:{column}: in flow {flow!r}: {message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)
        # SyntaxError's own fields, so tracebacks and editors point at the spot.
        self.filename = file
        self.lineno = line
        self.offset = column + 1
        self.msg = text

    def __str__(self) -> str:
        return self.msg


class NotInFlowError(FlowkitError, RuntimeError):
    """A flowkit primitive was awaited outside a compiled flow.

    Flows are not run by awaiting them: register them with an ``Engine`` or a
    ``flowkit.testing.Simulation``.
    """


class UnknownFlowError(FlowkitError, LookupError):
    """A flow name, module or path does not name any flow flowkit knows."""


class DuplicateFlowError(FlowkitError, ValueError):
    """Two flows were registered under the same name."""

    def __init__(self, name: str, first: str, second: str) -> None:
        self.name = name
        super().__init__(
            f"two flows are named {name!r} ({first} and {second}); "
            "give one of them another name with @automation(name=...)"
        )


class SchemaOutdatedError(FlowkitError, RuntimeError):
    """The database schema is older than this version of flowkit."""

    def __init__(self, url: str, current: str | None, head: str) -> None:
        self.url = url
        self.current = current
        self.head = head
        super().__init__(
            f"the database at {url} is at schema revision {current or 'none'}, "
            f"flowkit needs {head}: run `flowkit db upgrade`"
        )


class EventError(FlowkitError, ValueError):
    """An event cannot be accepted (no name, no user, a payload that is not JSON)."""


class UnknownRunError(FlowkitError, LookupError):
    """No run has the given id."""


class RunStatusError(FlowkitError, ValueError):
    """A run is not in a status that allows what was asked (e.g. retrying a waiting run)."""

"""Every exception flowkit raises. Each says what went wrong and what to do about it,
and carries its facts as attributes so tools can report them without parsing text."""

from __future__ import annotations

from pathlib import Path


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


class ConfigurationError(FlowkitError, RuntimeError):
    """The runtime is missing a setting it needs."""


class DiffError(FlowkitError, RuntimeError):
    """The ref cannot be read or its flows cannot be compiled."""


class GraphvizError(FlowkitError, RuntimeError):
    """SVG was asked for and Graphviz's ``dot`` is missing or failed."""


class DocsFolderError(FlowkitError, FileExistsError):
    """A file that ``flowkit docs`` did not write stands where it must write a page."""


class UnknownCourseError(FlowkitError, LookupError):
    """A course that is not in the school's catalog."""


class SmtpUrlError(FlowkitError, ValueError):
    """SMTP_URL is not a URL flowkit can send email through."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"SMTP_URL {url!r}: {problem}; write it as "
                         "smtp://user:password@host:587?starttls=1 or smtps://host")


class SmtpUnavailableError(FlowkitError, ConnectionError):
    """The SMTP server could not be reached, or refused the connection, the login or the
    sender. The batch's unsent rows are kept for the next delivery; ``sent`` went out."""

    def __init__(self, url: object, reason: str, sent: int) -> None:
        self.url = str(url)
        self.reason = reason
        self.sent = sent
        super().__init__(f"cannot send email through {url}: {reason} ({sent} sent before "
                         "that; the rest stay queued for the next delivery)")


class TemplateError(FlowkitError, LookupError):
    """An email template is missing, malformed, or uses a placeholder with no value."""


class PremadeTemplateError(FlowkitError):
    """``flowkit new`` cannot write the automation asked for."""


class UnknownTemplateError(PremadeTemplateError, LookupError):
    """No premade template has this slug."""

    def __init__(self, template: str, known: tuple[str, ...]) -> None:
        self.template = template
        self.known = known
        super().__init__(f"no premade template {template!r}; the templates are "
                         f"{', '.join(known)} (`flowkit new --list` describes them)")


class InvalidNameError(PremadeTemplateError, ValueError):
    """The new automation's name cannot name its module and its flow."""

    def __init__(self, name: str, why: str) -> None:
        self.name = name
        super().__init__(f"cannot name an automation {name!r}: {why}")


class AutomationExistsError(PremadeTemplateError, FileExistsError):
    """A file the template would write is already there (``write`` never overwrites)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} already exists; choose another name, or move the file "
                         "away first (flowkit new never overwrites a file)")


class ServeConfigError(ConfigurationError):
    """``flowkit serve`` would start open, or with a setting it cannot use."""


class ApiKeyError(FlowkitError, LookupError):
    """An API key name that is already taken (``flowkit keys add``) or unknown
    (``flowkit keys revoke``)."""


class WebhookPayloadError(FlowkitError, ValueError):
    """A webhook adapter cannot read a payload of a type it maps (a field it needs is
    missing or of the wrong kind). ``adapter`` and ``type`` name what was being read."""

    def __init__(self, adapter: str, type: str, problem: str) -> None:
        self.adapter = adapter
        self.type = type
        self.problem = problem
        super().__init__(f"the {adapter} adapter cannot read a {type!r} webhook: {problem}")

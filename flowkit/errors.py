"""Every exception flowkit raises. Each says what went wrong and what to do about it,
and carries its facts as attributes so tools can report them without parsing text."""

from __future__ import annotations

from pathlib import Path

from flowkit._redact import redact_url


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


class InvalidEventError(EventError):
    """An event was refused at the boundary; nothing of its call was stored.

    ``index`` is the event's position in the ``emit_many`` call (0 for ``emit``),
    ``event`` its name, ``field`` the field at fault (``course``, ``tags[3]``,
    ``profile.city``; None for the event as a whole) and ``problem`` what is wrong.
    """

    def __init__(self, problem: str, *, index: int, event: object = None,
                 field: str | None = None, hint: str = "") -> None:
        self.problem = problem
        self.index = index
        self.event = event
        self.field = field
        where = f"event #{index}" + (f" ({event!r})" if isinstance(event, str) else "")
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}" + (f"; {hint}" if hint else ""))


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
        super().__init__(f"SMTP_URL {redact_url(url)!r}: {problem}; write it as "
                         "smtp://user:password@host:587?starttls=1 or smtps://host")


class SmtpUnavailableError(FlowkitError, ConnectionError):
    """The SMTP server could not be reached, or refused the connection, the login or the
    sender. The batch's unsent rows are kept for the next delivery; ``sent`` went out."""

    def __init__(self, url: object, reason: str, sent: int) -> None:
        self.url = redact_url(url)
        self.reason = reason
        self.sent = sent
        super().__init__(f"cannot send email through {self.url}: {reason} ({sent} sent before "
                         "that; the rest stay queued for the next delivery)")


class TemplateError(FlowkitError, LookupError):
    """A template (an email, a notification, a message) is missing or malformed, uses a
    placeholder with no value, or breaks a rule of the sandbox (it reached for Python's
    internals, or built too much, or took too long). ``template`` names it (a file, or
    the action and parameter of an inline text) and ``line`` is its line, when known.
    Nothing is sent; the run is parked at once (a retry would meet the same template)."""

    def __init__(self, message: str, *, template: str | None = None,
                 line: int | None = None) -> None:
        self.template = template
        self.line = line
        super().__init__(message)


class InvalidEmailError(FlowkitError, ValueError):
    """An email address that flowkit will not store or send to: not one address (a
    list, a display name), a control character or line break, or bad syntax. ``address``
    is the value refused, ``problem`` what is wrong with it."""

    def __init__(self, address: str, problem: str, *, where: str = "") -> None:
        self.address = address
        self.problem = problem
        self.where = where
        shown = address if len(address) <= 80 else address[:77] + "..."
        at = f" ({where})" if where else ""
        super().__init__(f"{shown!r} is not an email address flowkit accepts{at}: {problem}; "
                         "give one address, like ada@example.com")


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


class ProjectExistsError(FlowkitError, FileExistsError):
    """``flowkit init`` would overwrite a file that is already there."""

    def __init__(self, folder: Path, existing: list[Path]) -> None:
        self.folder = folder
        self.existing = existing
        names = ", ".join(str(p) for p in existing[:3]) + (", ..." if len(existing) > 3 else "")
        super().__init__(f"{folder} already has {names}; run flowkit init in an empty "
                         "folder, or move those files away first (init never overwrites)")


class ServiceError(FlowkitError, ConnectionError):
    """The database or Redis cannot be used right now, or not at all.

    ``service`` is ``"database"`` or ``"redis"``; ``transient`` says whether waiting may
    fix it (a server down or restarting) or a person must (an unknown database, a missing
    driver, an unmigrated schema). The message says which and what to do.
    """

    def __init__(self, message: str, *, service: str, kind: str, transient: bool) -> None:
        self.service = service
        self.kind = kind
        self.transient = transient
        super().__init__(message)


class AlreadyRunningError(FlowkitError, RuntimeError):
    """Another ``flowkit run`` with its own embedded Redis uses the same database."""


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

"""Rendering texts in a sandbox: every template flowkit fills in goes through here.

Email subjects and bodies, notifications, in-app messages, invitations and
confirmations are Jinja2 templates written by the flow's authors (reviewed code). The
values they are filled with (the user's name, the event's fields) are not trusted: they
are rendered as values, never read as template source (``flowkit.compiler.texts``
refuses at compile time a template text computed at run time).

The environment is Jinja2's ``ImmutableSandboxedEnvironment``, so a template cannot
reach Python's internals (``''.__class__``), call a method that changes a value, or
read an attribute whose name starts with ``_``. On top of it:

- a placeholder with no value is an error (``StrictUndefined``), never an empty string;
- the only global is a bounded ``range``: no ``cycler``, ``joiner``, ``namespace`` or
  ``lipsum``;
- the output, every string a template builds (``*``, ``~``, ``%``, filters, method
  calls, a captured block) and every number it repeats by are bounded by
  ``Limits.max_chars``, and the render by ``Limits.seconds`` (checked at each call,
  attribute, loop step of ``range`` and output chunk);
- ``{% include %}``, ``{% import %}`` and ``{% extends %}`` see only the templates of
  the emails folder (none for an inline text).

A template that breaks a rule fails closed with a ``TemplateError`` naming the template
and the line, and nothing is sent. ``render(text, run, **values)`` is the helper custom
actions use; declare the parameter the text comes in as a template
(``@action(templates=("text",))``) so the compiler checks that it is a literal.
"""

from __future__ import annotations

import contextvars
import functools
import os
import re
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import jinja2
import jinja2.compiler
import jinja2.nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from flowkit.errors import TemplateError

INLINE = "<template>"  # the file name Jinja2 gives a template made from a string
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
# A width or precision of a million or more, or one taken from the arguments, in a
# %-format (``%0999999d``, ``%*d``) or in a {}-format's spec (``{:>999999}``, ``{:{}}``).
_WIDE_FORMAT = re.compile(r"%[-#0 +]*(\d{6,}|\*|\d*\.(\d{6,}|\*))"
                          r"|\{[^{}]*:[^{}]*(\d{6,}|\{)")


@attrs.frozen
class Limits:
    """How much a render may produce and how long it may take. ``from_env`` reads
    FLOWKIT_TEMPLATE_MAX_CHARS and FLOWKIT_TEMPLATE_SECONDS."""

    max_chars: int = 200_000
    seconds: float = 1.0
    max_range: int = 10_000

    @classmethod
    def from_env(cls) -> Limits:
        chars = os.environ.get("FLOWKIT_TEMPLATE_MAX_CHARS")
        seconds = os.environ.get("FLOWKIT_TEMPLATE_SECONDS")
        default = cls()
        return cls(max_chars=int(chars) if chars else default.max_chars,
                   seconds=float(seconds) if seconds else default.seconds)


@attrs.define
class _Budget:
    limits: Limits
    deadline: float


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "flowkit_template_budget", default=None)


def _limits() -> Limits:
    budget = _budget.get()
    return budget.limits if budget is not None else Limits()


def _tick() -> None:
    budget = _budget.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise SecurityError(f"the template took longer than {budget.limits.seconds:g} s")


def _sized(value: Any) -> Any:
    """``value``, unless it is a string or a collection longer than the limit."""
    if isinstance(value, str | bytes | list | tuple | dict | set) and \
            len(value) > _limits().max_chars:
        raise SecurityError(f"the template built a value of {len(value)} items or "
                            f"characters, more than the {_limits().max_chars} allowed")
    return value


def _number(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and \
            abs(value) > _limits().max_chars:
        raise SecurityError(f"the number {value} is larger than the "
                            f"{_limits().max_chars} a template may use")


def _arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        _number(value)
        _sized(value)


def _format_string(text: Any) -> None:
    if isinstance(text, str) and _WIDE_FORMAT.search(text):
        raise SecurityError("the template formats with a width or precision too large")


def _bounded_range(*args: int) -> Iterator[int]:
    """``range`` for templates: at most ``Limits.max_range`` numbers, and the clock is
    checked at each one."""
    numbers = range(*args)
    if len(numbers) > _limits().max_range:
        raise SecurityError(f"range of {len(numbers)} numbers; a template may loop at "
                            f"most {_limits().max_range} times")
    for number in numbers:
        _tick()
        yield number


def _replace_size(text: str, old: str, new: str, count: int = -1) -> int:
    times = (len(text) + 1 if old == "" else text.count(old)) if count < 0 else count
    return len(text) + times * (len(new) - len(old))


def _checked_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose options (widths, counts) and result are bounded; the value it
    filters is data, bounded where it entered."""
    first = 1 if getattr(fn, "jinja_pass_arg", None) else 0  # a context comes first

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        _tick()
        value, options = args[first:first + 1], args[first + 1:]
        if name == "format":
            _format_string(value[0] if value else None)
        else:
            _arguments(options, kwargs)
        if name == "replace" and len(options) >= 2 and value and \
                all(isinstance(a, str) for a in (*value, *options[:2])):
            _too_long(_replace_size(value[0], options[0], options[1]))
        return _sized(fn(*args, **kwargs))

    return checked


def _too_long(size: int) -> None:
    if size > _limits().max_chars:
        raise SecurityError(f"the template would build {size} characters, more than the "
                            f"{_limits().max_chars} allowed")


class _Generator(jinja2.compiler.CodeGenerator):
    """Jinja2's code generator, with every ``~`` concatenation's result bounded."""

    def visit_Concat(self, node: jinja2.nodes.Concat, frame: jinja2.compiler.Frame) -> None:
        self.write("environment.bounded(")
        super().visit_Concat(node, frame)
        self.write(")")


class Sandbox(ImmutableSandboxedEnvironment):
    """The sandboxed Jinja2 environment flowkit renders every template in."""

    code_generator_class = _Generator
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, *, autoescape: bool | Callable[[str | None], bool] = False,
                 loader: jinja2.BaseLoader | None = None) -> None:
        super().__init__(autoescape=autoescape, loader=loader,
                         undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
        self.globals.clear()
        self.globals["range"] = _bounded_range
        self.filters = {name: _checked_filter(name, fn) for name, fn in self.filters.items()}

    def concat(self, parts: Any) -> str:  # a captured block
        return str(self.bounded("".join(parts)))

    def bounded(self, value: Any) -> Any:
        _tick()
        return _sized(value)

    def call(__self, __context: Any, __obj: Any, *args: Any,  # Jinja2's parameter names
             **kwargs: Any) -> Any:
        _tick()
        for value in (*args, *kwargs.values()):
            _sized(value)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):  # a str method: its widths and counts are bounded
            _str_method(owner, getattr(__obj, "__name__", ""), args, kwargs)
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    _too_long(len(seq) * max(times, 0))
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(left) > 1 and right * max(abs(left).bit_length(), 1) > 4096:
                raise SecurityError(f"{left} ** {right} is too large for a template")
        elif operator == "%" and isinstance(left, str):
            _format_string(left)
        return _sized(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format``, wrapped by Jinja2's sandbox, with its widths bounded."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        _format_string(value.__self__)
        return wrapped

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)


def _str_method(text: str, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
                ) -> None:
    _arguments(args, kwargs)
    if name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        _too_long(_replace_size(text, args[0], args[1]))


def one_line(text: str) -> str:
    """``text`` with each run of line breaks and control characters made one space: a
    header (a subject) filled with a name that holds a newline stays one header."""
    return _CONTROL.sub(" ", text).strip()


@functools.cache
def text_sandbox() -> Sandbox:
    """The sandbox for inline texts (no autoescape, no loader: nothing to include)."""
    return Sandbox(loader=jinja2.DictLoader({}))


def file_sandbox(root: Path) -> Sandbox:
    """The sandbox for the templates of ``root``: ``.html`` ones autoescape."""
    return _file_sandbox(str(root.resolve()))


@functools.cache
def _file_sandbox(root: str) -> Sandbox:
    return Sandbox(autoescape=jinja2.select_autoescape(["html", "htm"],
                                                       default_for_string=False),
                   loader=_BodyLoader(root))


class _BodyLoader(jinja2.FileSystemLoader):
    """The templates of a folder, an email's ``Subject:`` line left out of its body (as
    an empty line, so that the body's line numbers are the file's): a value in the
    subject can never move the line the body starts at."""

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        head, newline, rest = source.partition("\n")
        if head.lower().startswith("subject:"):
            source = newline + rest
        return source, filename, uptodate


def fill(template: jinja2.Template, context: Mapping[str, Any], *, name: str,
         limits: Limits | None = None) -> str:
    """Render ``template`` within the limits; raise ``TemplateError`` naming ``name``
    and the line when it fails or breaks a rule of the sandbox."""
    limits = limits or Limits.from_env()
    token = _budget.set(_Budget(limits, time.monotonic() + limits.seconds))
    parts: list[str] = []
    size = 0
    try:
        for chunk in template.generate(dict(context)):
            size += len(chunk)
            if size > limits.max_chars:
                raise SecurityError(f"the output is longer than {limits.max_chars} "
                                    "characters")
            _tick()
            parts.append(chunk)
    except (jinja2.TemplateError, RecursionError, MemoryError, OverflowError) as error:
        raise _located(error, template, name) from None
    finally:
        _budget.reset(token)
    return "".join(parts)


@functools.lru_cache(maxsize=1024)
def compile_text(text: str, *, name: str) -> jinja2.Template:
    """An inline text as a sandboxed template (compiled once per text and name); a
    syntax error is a ``TemplateError``."""
    try:
        return text_sandbox().from_string(text)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"{name}, line {error.lineno}: {error.message}",
                            template=name, line=error.lineno) from None


def render_text(text: str, context: Mapping[str, Any], *, name: str = "text") -> str:
    """Fill the placeholders of a short text (a notification, a message) in the
    sandbox. ``text`` must come from the flow's source, never from run data."""
    return fill(compile_text(text, name=name), context, name=name)


def render(text: str, run: Any, /, **values: Any) -> str:
    """The platform's rendering helper for custom actions: ``text`` with the run's
    placeholders (``{{ user }}``, ``{{ manager }}``, ``{{ email }}``, ``{{ event }}``,
    ``{{ course }}``) and ``values``, in the sandbox. Declare the action's parameter
    that carries ``text`` with ``@action(templates=(...))``."""
    from flowkit.lms.actions import placeholders  # the actions use this module

    return render_text(text, {**placeholders(run), **values})


def _located(error: BaseException, template: jinja2.Template, name: str) -> TemplateError:
    line = _template_line(error, template)
    where = f"{name}:{line}" if line else name
    if isinstance(error, jinja2.UndefinedError):
        message = (f"{where}: {error.message}; give it a value or remove the placeholder")
    elif isinstance(error, SecurityError):
        message = f"{where}: refused by the sandbox: {str(error).rstrip('.')}"
    elif isinstance(error, jinja2.TemplateNotFound):
        message = (f"{where}: no template {error.name!r} to include or import (an inline "
                   "text includes none; an email only the templates of its folder)")
    elif isinstance(error, RecursionError | MemoryError | OverflowError):
        message = f"{where}: refused by the sandbox: {type(error).__name__}"
    else:
        message = f"{where}: {getattr(error, 'message', None) or error}"
    return TemplateError(message, template=name, line=line)


def _template_line(error: BaseException, template: jinja2.Template) -> int | None:
    lineno = getattr(error, "lineno", None)
    if isinstance(lineno, int):
        return lineno
    filename = template.filename or INLINE
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__)
             if f.filename == filename]
    return lines[-1] if lines else None


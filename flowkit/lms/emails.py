"""Email templates: Jinja2 files with a subject line, rendered per user.

A template is ``emails/<name>.txt`` or ``emails/<name>.html`` in the project (or in the
folder FLOWKIT_EMAILS names). Its first line is ``Subject: ...``; the rest, after a
blank line, is the body. HTML templates are autoescaped. A placeholder with no value is
an error, never an empty string: the run's action fails with the template's name and
the missing name, and is retried after the template or the data is fixed.

Placeholders: ``{{ user }}`` (the user's name, else their id), ``{{ manager }}`` (their
manager's name), ``{{ email }}``, ``{{ event }}`` (the trigger event's payload, e.g.
``{{ event.course }}``), ``{{ course }}`` when the trigger event names one, and every
keyword argument given to ``send_email``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import jinja2

from flowkit.errors import TemplateError


@attrs.frozen
class Email:
    subject: str
    body: str


def folder() -> Path:
    return Path(os.environ.get("FLOWKIT_EMAILS", "emails"))


def _environment(root: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )


def names(root: Path | None = None) -> list[str]:
    """The templates there are."""
    root = root or folder()
    return sorted({p.stem for p in root.glob("*.txt")} | {p.stem for p in root.glob("*.html")})


def render(name: str, context: Mapping[str, Any], root: Path | None = None) -> Email:
    """Render template ``name`` with ``context``."""
    root = root or folder()
    path = next((root / f"{name}{ext}" for ext in (".html", ".txt")
                 if (root / f"{name}{ext}").exists()), None)
    if path is None:
        known = ", ".join(names(root)) or "none"
        raise TemplateError(f"no email template {name!r} in {root}/ (known: {known}); "
                            f"add {root}/{name}.txt or {root}/{name}.html")
    head = path.read_text().partition("\n")[0]
    if not head.lower().startswith("subject:"):
        raise TemplateError(f"{path}: the first line must be 'Subject: ...'")
    env = _environment(root)
    try:
        subject = env.from_string(head.split(":", 1)[1].strip()).render(context)
        body = env.get_template(path.name).render(context).partition("\n")[2].lstrip("\n")
    except jinja2.UndefinedError as error:
        raise TemplateError(f"email template {name!r}: {error}; give it a value "
                            "(send_email(..., name=value)) or remove the placeholder") from error
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"{path}:{error.lineno}: {error.message}") from error
    return Email(subject=subject, body=body)


def render_text(text: str, context: Mapping[str, Any]) -> str:
    """Fill the placeholders of a short text (a notification, a track message)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    try:
        return env.from_string(text).render(context)
    except jinja2.UndefinedError as error:
        raise TemplateError(f"{text!r}: {error}; give it a value or remove the "
                            "placeholder") from error

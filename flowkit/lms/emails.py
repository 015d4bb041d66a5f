"""Email templates: Jinja2 files with a subject line, rendered per user in the sandbox.

A template is ``emails/<name>.txt`` or ``emails/<name>.html`` in the project (or in the
folder FLOWKIT_EMAILS names). Its first line is ``Subject: ...``; the rest, after a
blank line, is the body. The body of an ``.html`` template is autoescaped; a ``.txt``
body and every subject are left as written (a subject is a header, not HTML), and in a
subject a value's line breaks and control characters become spaces. A placeholder with
no value is an error, never an empty string: the run's action fails with the
template's name, line and the missing name, and is retried after the template or the
data is fixed. Templates render in ``flowkit.lms.rendering``'s sandbox.

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
from flowkit.lms import rendering


@attrs.frozen
class Email:
    subject: str
    body: str


def folder() -> Path:
    return Path(os.environ.get("FLOWKIT_EMAILS", "emails"))


def names(root: Path | None = None) -> list[str]:
    """The templates there are."""
    root = root or folder()
    return sorted({p.stem for p in root.glob("*.txt")} | {p.stem for p in root.glob("*.html")})


def path_of(name: str, root: Path | None = None) -> Path | None:
    """The file of template ``name`` (``.html`` before ``.txt``), or None."""
    root = root or folder()
    return next((root / f"{name}{ext}" for ext in (".html", ".txt")
                 if (root / f"{name}{ext}").is_file()), None)


def render(name: str, context: Mapping[str, Any], root: Path | None = None) -> Email:
    """Render template ``name`` with ``context``."""
    root = root or folder()
    path = path_of(name, root) if _plain_name(name) else None
    if path is None:
        known = ", ".join(names(root)) or "none"
        raise TemplateError(f"no email template {name!r} in {root}/ (known: {known}); "
                            f"add {root}/{name}.txt or {root}/{name}.html", template=name)
    head = path.read_text(encoding="utf-8").partition("\n")[0]
    if not head.lower().startswith("subject:"):
        raise TemplateError(f"{path}:1: the first line must be 'Subject: ...'",
                            template=str(path), line=1)
    try:
        subject_template = rendering.text_sandbox().from_string(
            head.split(":", 1)[1].strip())
        body_template = rendering.file_sandbox(root).get_template(path.name)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"{path}:{error.lineno}: {error.message}", template=str(path),
                            line=error.lineno) from None
    subject = rendering.fill(subject_template, context, name=f"{path} (subject)")
    body = rendering.fill(body_template, context, name=str(path))
    return Email(subject=rendering.one_line(subject), body=body.lstrip("\n"))


def _plain_name(name: str) -> bool:
    """A template is named by its file's stem: no folder, no dot-dot."""
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")


def render_text(text: str, context: Mapping[str, Any], *, name: str = "text") -> str:
    """Fill the placeholders of a short text (a notification, a track message), in the
    sandbox. ``text`` comes from the flow's source, never from run data."""
    return rendering.render_text(text, context, name=name)

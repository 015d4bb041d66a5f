"""The premade automation templates, which ``flowkit new <template> <name>`` writes as
ready modules.

A template is the source of a module, a ``string.Template`` in which ``$name`` is the
new automation's name (it names the module, ``automations/<name>.py``, and its flow)
and ``$email`` the name of the email it sends, plus the text of that email: it is
``emails/<name with dashes>.txt``, in the ``emails/`` folder beside the automations
folder, where ``send_email`` looks by default. The email is written as it is, so its
``{{ user }}`` placeholders reach ``send_email``.

``write`` checks everything before it writes anything: the template must exist, the
name must be a Python identifier that the module does not already use, and no file it
would write may exist (it never overwrites one).
"""

from __future__ import annotations

import ast
import keyword
import string
from pathlib import Path

import attrs

from flowkit.errors import (  # noqa: F401  (re-exported)
    AutomationExistsError,
    InvalidNameError,
    PremadeTemplateError,
    UnknownTemplateError,
)


@attrs.frozen
class Template:
    """A premade template: its slug, its title in the school's list, what it does, the
    module's source (``$name``, ``$email``) and its email's text (or None)."""

    slug: str
    title: str
    summary: str
    module: str = attrs.field(repr=False)
    email: str | None = attrs.field(default=None, repr=False)

    def render(self, name: str) -> str:
        """The module's source for an automation named ``name``."""
        return string.Template(self.module).substitute(name=name, email=email_name(name))


ENROLL_ON_SIGNUP = '''\
"""Enroll users in courses upon signup (flowkit's premade template "enroll-on-signup").

Trigger: a user signs up. Action: enroll them in COURSES. Delay: wait 1 hour. Action:
send them the welcome email, emails/$email.txt.

Choose the courses users are enrolled in, whether each enrollment records a payment
(PAYMENT: False for none, True for the course's catalog price, or an amount such as 49)
and whether it issues an invoice (INVOICE). While the catalog is empty, enroll() accepts
any course; once it holds courses, these must be in it.
"""

from __future__ import annotations

from flowkit import Run, on, wait
from flowkit.lms import enroll, send_email

COURSES = ("python-101",)
PAYMENT = False
INVOICE = False


@on("user.signed_up")
async def $name(run: Run) -> None:
    await enroll(*COURSES, payment=PAYMENT, invoice=INVOICE)
    await wait(hours=1)
    await send_email("$email", courses=", ".join(COURSES))
'''

WELCOME_EMAIL = """\
Subject: Welcome, {{ user }}!

Hi {{ user }},

Your account is ready, and you are enrolled in {{ courses }}. Open your dashboard to
start: the first unit takes about twenty minutes, and we keep your place.
"""

TAG_ON_SIGNUP = '''\
"""Tag users on signup (flowkit's premade template "tag-on-signup").

Trigger: a user signs up. Action: add the tag TAG. Condition (optional): only users who
came through one of SOURCES (the event's source), or who registered on REGISTERED_FROM
or later (an ISO date, compared with the date part of the event's registered_at). Leave
both at None to tag every new user.
"""

from __future__ import annotations

from typing import Any

from flowkit import Run, on
from flowkit.lms import add_tag

TAG = "signed-up"
SOURCES: tuple[str, ...] | None = None  # e.g. ("ads", "partner")
REGISTERED_FROM: str | None = None  # e.g. "2026-01-01"


def wanted(event: dict[str, Any]) -> bool:
    """The condition: whether this signup is tagged."""
    if SOURCES is not None and event.get("source") not in SOURCES:
        return False
    registered = str(event.get("registered_at") or "")[:10]
    return REGISTERED_FROM is None or registered >= REGISTERED_FROM


@on("user.signed_up", where=wanted)
async def $name(run: Run) -> None:
    await add_tag(TAG)
'''

_TEMPLATES = {t.slug: t for t in (
    Template("enroll-on-signup", "Enroll users in courses upon signup",
             "enroll each new user in courses, wait 1 hour, send a welcome email",
             ENROLL_ON_SIGNUP, WELCOME_EMAIL),
    Template("tag-on-signup", "Tag users on signup",
             "tag each new user, optionally only by source or registration date",
             TAG_ON_SIGNUP),
)}


def get(slug: str) -> Template:
    """The premade template ``slug``."""
    try:
        return _TEMPLATES[slug]
    except KeyError:
        raise UnknownTemplateError(slug, tuple(_TEMPLATES)) from None


def email_name(name: str) -> str:
    """The name of the email an automation ``name`` sends (``welcome_new`` ->
    ``welcome-new``): email templates are named with dashes."""
    return name.replace("_", "-")


def _check_name(template: Template, name: str) -> None:
    if not name:
        raise InvalidNameError(name, "give it a name, as in `flowkit new "
                               f"{template.slug} welcome_new_users`")
    if not name.isidentifier() or keyword.iskeyword(name):
        raise InvalidNameError(name, "it names a module and a function, so it must be a "
                               "Python identifier, such as welcome_new_users")
    taken = _module_names(template.render("fk_probe")) - {"fk_probe"}
    if name in taken:
        raise InvalidNameError(name, f"the module uses that name already "
                               f"({', '.join(sorted(taken))})")


def _module_names(source: str) -> set[str]:
    """The names a module binds at its top level."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def write(template: str, name: str, folder: str | Path = "automations", *,
          emails: str | Path | None = None) -> tuple[Path, ...]:
    """Write the premade ``template`` as the automation ``name``: ``<folder>/<name>.py``
    and, if the template sends an email, ``<emails>/<name with dashes>.txt`` (``emails``
    defaults to the ``emails/`` folder beside ``folder``). Returns the paths written.

    Raises ``UnknownTemplateError``, ``InvalidNameError`` or ``AutomationExistsError``
    before writing anything.
    """
    chosen = get(template)
    _check_name(chosen, name)
    folder = Path(folder)
    files = {folder / f"{name}.py": chosen.render(name)}
    if chosen.email is not None:
        email_folder = Path(emails) if emails is not None else folder.parent / "emails"
        files[email_folder / f"{email_name(name)}.txt"] = chosen.email
    for path in files:
        if path.exists():
            raise AutomationExistsError(path)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as file:  # "x": never overwrite
            file.write(text)
    return tuple(files)


def list() -> tuple[Template, ...]:
    """The premade templates, in the school's order (this module's ``list`` shadows the
    builtin, which it does not use)."""
    return tuple(_TEMPLATES.values())

"""Every CLI command and option, environment variable, metric and exported name appears
in the docs (README.md and docs/): adding one without a word for its users fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click

import flowkit
import flowkit.errors
import flowkit.lms
import flowkit.testing
from flowkit.cli import main

ROOT = Path(__file__).resolve().parents[2]


def docs_text() -> str:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return "\n".join(page.read_text(encoding="utf-8") for page in pages)


def commands(group: click.Group, prefix: str = "flowkit") -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from commands(command, path)


def undocumented_options() -> list[str]:
    text = docs_text()
    missing = []
    for path, command in commands(main):
        if path not in text:
            missing.append(path)
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help" and opt not in text:
                    missing.append(f"{path} {opt}")
    return missing


def environment_variables() -> set[str]:
    names: set[str] = set()
    for source in (ROOT / "flowkit").rglob("*.py"):
        names |= set(re.findall(r"""["'](FLOWKIT_[A-Z0-9_]+|[A-Z]+_URL)["']""",
                                source.read_text(encoding="utf-8")))
    return names


def metric_names() -> set[str]:
    source = (ROOT / "flowkit" / "runtime" / "metrics.py").read_text(encoding="utf-8")
    return set(re.findall(r"""(?:Counter|Gauge|Histogram|Summary)\(\s*["']([a-z_]+)["']""",
                          source))


def exported_names() -> set[str]:
    errors = {name for name, value in vars(flowkit.errors).items()
              if isinstance(value, type) and issubclass(value, Exception)
              and value.__module__ == "flowkit.errors"}
    return {*flowkit.__all__, *flowkit.lms.__all__, *flowkit.testing.__all__, *errors}


def test_every_command_and_option_is_documented() -> None:
    assert undocumented_options() == []


def test_every_environment_variable_is_documented() -> None:
    text = docs_text()
    assert sorted(name for name in environment_variables() if name not in text) == []


def test_every_metric_is_documented() -> None:
    text = docs_text()
    found = metric_names()
    assert found, "no metric found in flowkit/runtime/metrics.py: update this test"
    assert sorted(name for name in found if name not in text) == []


def test_every_exported_name_is_documented() -> None:
    text = docs_text()
    assert sorted(name for name in exported_names()
                  if not re.search(rf"\b{re.escape(name)}\b", text)) == []


def test_the_reference_page_is_generated_from_the_code() -> None:
    from tests.docs.reference import PAGE, render

    text = PAGE.read_text(encoding="utf-8")
    assert render(text) == text, (
        "docs/reference.md is out of date: run `python -m tests.docs.reference`")

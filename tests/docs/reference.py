"""docs/reference.md's generated parts: every command with its options, every metric,
every error, from the code. Regenerate with ``python -m tests.docs.reference``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click

import flowkit.errors
from flowkit.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "reference.md"
_PART = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.DOTALL)


def commands(group: click.Group, prefix: str = "flowkit") -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from commands(command, path)
        else:
            yield path, command


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def cli() -> str:
    lines = []
    for path, command in commands(main):
        usage = " ".join(p.make_metavar(click.Context(command)) for p in command.params
                         if isinstance(p, click.Argument))
        summary = _cell((command.help or "").split("\n\n")[0])
        lines += [f"### `{path}{' ' + usage if usage else ''}`", "", summary, ""]
        options = [p for p in command.params if isinstance(p, click.Option)]
        if options:
            lines += ["| option | what it does |", "|---|---|"]
            for option in options:
                names = ", ".join(f"`{o}`" for o in [*option.opts, *option.secondary_opts])
                default = (f" (default: `{option.default}`)" if option.show_default
                           and option.default not in (None, False) else "")
                env = f" (`${option.envvar}`)" if option.envvar else ""
                lines.append(f"| {names} | {_cell(option.help)}{default}{env} |")
            lines.append("")
    return "\n".join(lines)


def metrics() -> str:
    source = (ROOT / "flowkit" / "runtime" / "metrics.py").read_text(encoding="utf-8")
    found = re.findall(r"""prom\.(Counter|Gauge|Histogram)\(\s*"([a-z_]+)",\s*"([^"]+)"""
                       r"""(?:,\s*\[([^\]]*)\])?""", source)
    lines = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    for kind, name, text, labels in found:
        lines.append(f"| `{name}` | {kind.lower()} | {labels.replace(chr(34), '') or '-'} | "
                     f"{text} |")
    return "\n".join(lines) + "\n"


def errors() -> str:
    lines = ["| error | is a | when |", "|---|---|---|"]
    for name, value in vars(flowkit.errors).items():
        if not (isinstance(value, type) and issubclass(value, Exception)
                and value.__module__ == "flowkit.errors"):
            continue
        bases = ", ".join(f"`{b.__name__}`" for b in value.__bases__)
        doc = _cell((value.__doc__ or "").split("\n\n")[0])
        lines.append(f"| `{name}` | {bases} | {doc} |")
    return "\n".join(lines) + "\n"


PARTS = {"cli": cli, "metrics": metrics, "errors": errors}


def render(text: str) -> str:
    return _PART.sub(lambda m: m[1] + PARTS[m[2]]() + m[4], text)


if __name__ == "__main__":
    PAGE.write_text(render(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")

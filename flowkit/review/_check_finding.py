"""A finding of ``flowkit check``, and where in the project it points."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import attrs

from flowkit.dsl.flow import Flow

Severity = Literal["error", "warning"]


@attrs.frozen
class Finding:
    """One problem: its severity, the check that found it, where it is (``file:line``),
    the flow it is in, what is wrong and how to fix it."""

    severity: Severity
    check: str
    file: str
    line: int
    flow: str
    message: str
    hint: str

    def __str__(self) -> str:
        return (f"{self.file}:{self.line}: {self.severity}: {self.flow}: {self.message} "
                f"[{self.check}] (fix: {self.hint})")

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def finding(flow: Flow, line: int, severity: Severity, check: str, message: str,
            hint: str) -> Finding:
    """A finding at ``line`` of the file that defines ``flow``."""
    return Finding(severity, check, shown(flow.program.file), line, flow.name, message, hint)


def shown(file: str) -> str:
    """``file`` relative to the working directory when it is inside it."""
    try:
        return str(Path(file).resolve().relative_to(Path.cwd()))
    except ValueError:
        return file


def def_line(flow: Flow) -> int:
    """The first line of the flow's definition (its first decorator)."""
    code = getattr(flow.program.fn, "__code__", None)
    return int(code.co_firstlineno) if code is not None else 1


def decorator_line(flow: Flow, text: str) -> int:
    """The line of the flow's decorators that quotes ``text``, else its first line."""
    try:
        lines, start = inspect.getsourcelines(flow.program.fn)
    except (OSError, TypeError):
        return def_line(flow)
    for offset, source in enumerate(lines):
        if source.lstrip().startswith(("def ", "async def ")):
            break
        if f"'{text}'" in source or f'"{text}"' in source:
            return start + offset
    return def_line(flow)


def distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from ``a`` to ``b``."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]


def near(name: str, known: Iterable[str], most: int = 1) -> str | None:
    """The known name closest to ``name``, if it is at most ``most`` edits away."""
    close = sorted((distance(name, k), k) for k in known if k != name)
    return close[0][1] if close and close[0][0] <= most else None

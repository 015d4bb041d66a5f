"""A small collector for the examples in README.md and docs/: opt-in, block by block.

A page takes part when it marks a block with an HTML comment on the line just before
its fence (invisible once rendered):

- ``<!-- test: file PATH -->``: the block is the file PATH of the page's project. If an
  earlier step made PATH (``flowkit init``, say), the page must show it as it is;
  otherwise the block is written there.
- ``<!-- test: run -->``: the Python block runs in the project (its ``test_*``
  functions are called); ``<!-- test: run continue -->`` runs it after the page's
  previous ``run`` block, as one script.
- ``<!-- test: sh -->``: the shell block runs in the project, line by line with
  ``set -e`` (``pip install`` lines are skipped: flowkit is already installed, unless
  FLOWKIT_DOCS_PIP=1 asks to install it from this checkout).
- ``<!-- test: ir MODULE FLOW -->``: the block is FLOW's IR, condensed as
  tests/docs/listing.py prints it (docs/compiler.md's listings).
- ``<!-- test: output -->``: the block is what the previous ``run`` or ``sh`` step
  printed; a line ``...`` stands for any lines.

A page's project is an empty temporary folder, or, with ``<!-- test-page: examples -->``
anywhere on the page, a copy of this repository's automations/, tracks/ and emails/.
Unmarked blocks are not run (so a page with no markers is not collected at all).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[2]
_MARK = re.compile(r"<!--\s*test:\s*(?P<kind>file|run|sh|output|ir)\s*(?P<arg>[^>]*?)\s*-->")
_FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")


@attrs.frozen
class Step:
    kind: str  # file | run | sh | output
    arg: str
    text: str
    line: int  # of the block's first line, 1-based

    def where(self, page: Path) -> str:
        return f"{page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    """The pages with at least one marked block."""
    found = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [page for page in found if _MARK.search(page.read_text(encoding="utf-8"))]


def uses_examples(page: Path) -> bool:
    return "<!-- test-page: examples -->" in page.read_text(encoding="utf-8")


def steps(page: Path) -> Iterator[Step]:
    """The page's marked blocks, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    mark: re.Match[str] | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence is None:
            stripped = line.strip()
            if stripped:
                mark = _MARK.fullmatch(stripped)
            index += 1
            continue
        close = fence["fence"]
        end = next((j for j in range(index + 1, len(lines))
                    if lines[j].startswith(close)), len(lines))
        if mark is not None:
            body = "\n".join(lines[index + 1:end]) + "\n"
            yield Step(mark["kind"], mark["arg"], body, index + 2)
        mark = None
        index = end + 1


def matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` is ``expected``, where a line ``...`` in ``expected`` stands
    for any lines (trailing spaces and blank edges ignored)."""
    want = [line.rstrip() for line in expected.strip("\n").splitlines()]
    got = [line.rstrip() for line in actual.strip("\n").splitlines()]
    pattern = "\n".join(".*?" if line == "..." else re.escape(line).replace(r"\.\.\.", ".*?")
                        for line in want)
    pattern = pattern.replace("\n.*?\n", "(?:\n.*?)?\n")
    return re.fullmatch(pattern, "\n".join(got), re.DOTALL) is not None

"""How much of each page's code is run by tests/docs: per page, its marked blocks (run,
sh, file, ir) against its fenced Python and shell blocks that are not marked. A page listed
in COVERED must keep at least the marked blocks it has now, so coverage cannot drop
silently; blocks that cannot run here (CI YAML, systemd units, curl against a server,
fragments) stay unmarked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.pages import _MARK, ROOT

_FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)")
_CODE = {"python", "py", "sh", "bash", "shell", "console"}

# page: fewest marked blocks it may have (raise it when you mark more)
COVERED = {
    "README.md": 2,
    "docs/compiler.md": 6,
    "docs/dsl.md": 10,
    "docs/index.md": 8,
    "docs/journey-rules.md": 5,
    "docs/lms/actions/add-tag.md": 2,
    "docs/lms/actions/add-to-space.md": 2,
    "docs/lms/actions/add-to-track.md": 4,
    "docs/lms/actions/enroll.md": 3,
    "docs/lms/actions/questions.md": 2,
    "docs/lms/actions/send-email.md": 2,
    "docs/lms/actions/send-message.md": 2,
    "docs/lms/actions/send-notification.md": 2,
    "docs/lms/actions.md": 2,
    "docs/lms/adapters.md": 5,
    "docs/lms/email.md": 8,
    "docs/lms/triggers/certificate-awarded.md": 3,
    "docs/lms/triggers/course-completed.md": 2,
    "docs/lms/triggers/inactivity.md": 3,
    "docs/lms/triggers/track-joined.md": 2,
    "docs/lms/triggers/unit-completed.md": 2,
    "docs/lms/triggers/user-enrolled.md": 2,
    "docs/lms/triggers/user-signed-in.md": 2,
    "docs/lms/triggers/user-signed-up.md": 2,
    "docs/lms/triggers/user-visited.md": 2,
    "docs/lms/use-cases.md": 3,
    "docs/review-check.md": 3,
    "docs/security.md": 3,
    "docs/step-ids.md": 2,
}


def code_blocks(page: Path) -> tuple[int, int]:
    """``page``'s marked blocks (outputs aside) and its unmarked Python and shell blocks."""
    lines = page.read_text(encoding="utf-8").splitlines()
    marked = unmarked = 0
    previous = ""
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            if lines[index].strip():
                previous = lines[index].strip()
            index += 1
            continue
        mark = _MARK.fullmatch(previous)
        if mark is not None and mark["kind"] != "output":
            marked += 1
        elif fence[2] in _CODE:
            unmarked += 1
        end = next((j for j in range(index + 1, len(lines))
                    if lines[j].startswith(fence[1])), len(lines))
        previous = ""
        index = end + 1
    return marked, unmarked


def coverage() -> dict[str, tuple[int, int]]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return {str(page.relative_to(ROOT)): code_blocks(page) for page in found}


def test_a_counted_block_is_marked_only_by_the_comment_just_before_it(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- test: run -->\n```python\nx = 1\n```\n\n```sh\nls\n```\n\n"
                    "<!-- test: output -->\n```text\nx\n```\n\n```yaml\na: 1\n```\n\n"
                    "<!-- test: ir m f -->\n```text\n0  end\n```\n")
    assert code_blocks(page) == (2, 1)


@pytest.mark.parametrize("page", sorted(COVERED))
def test_a_covered_page_keeps_its_marked_examples(page: str) -> None:
    marked, unmarked = coverage()[page]
    assert marked >= COVERED[page], (
        f"{page} runs {marked} of its {marked + unmarked} Python/shell blocks as tests, "
        f"fewer than the {COVERED[page]} it did; mark them again (tests/docs/pages.py)")


if __name__ == "__main__":
    for name, (marked, unmarked) in coverage().items():
        if marked or unmarked:
            print(f"{marked:>3} of {marked + unmarked:>3}  {name}")

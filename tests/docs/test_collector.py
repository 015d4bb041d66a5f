"""The docs collector itself: markers, wildcards, opt-in."""

from __future__ import annotations

from pathlib import Path

from tests.docs.pages import matches, steps

PAGE = """\
# A page

```python
print("not marked: not run")
```

<!-- test: run -->
```python
print("hello")
```

<!-- test: output -->
```text
hello
```
"""


def test_only_marked_blocks_are_steps(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    found = list(steps(page))
    assert [(s.kind, s.text) for s in found] == [("run", 'print("hello")\n'),
                                                ("output", "hello\n")]
    assert found[0].line == 9


def test_a_line_of_dots_stands_for_any_lines() -> None:
    assert matches("a\n...\nd\n", "a\nb\nc\nd\n")
    assert matches("a\n...\nd\n", "a\nd\n")
    assert not matches("a\nd\n", "a\nb\nd\n")
    assert matches("a  \n", "a\n")
    assert matches("1 passed in ...s\n", "1 passed in 2.90s\n")

"""The committed pages in docs/flows/ match the project's flows: when this fails, run
`flowkit docs` and commit docs/flows/."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowkit.review.docs import GENERATED, sync_docs
from flowkit.runtime.discovery import load_flows

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_flow_pages_are_up_to_date(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the default sources, and the paths the pages name
    sync_docs(load_flows(), tmp_path)
    expected = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.md")}
    committed = {p.name: text for p in (ROOT / "docs" / "flows").glob("*.md")
                 if (text := p.read_text(encoding="utf-8")).startswith(GENERATED)}
    stale = sorted(name for name in expected.keys() | committed.keys()
                   if expected.get(name) != committed.get(name))
    assert not stale, f"docs/flows/ is out of date ({', '.join(stale)}): run `flowkit docs`"

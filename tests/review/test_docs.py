"""`flowkit docs`: a page per flow and an index, rewritten only when stale, pages of
removed flows deleted, `--check` writing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from automations.bonus_course import bonus_course
from automations.onboarding_drip import onboarding_drip
from flowkit.cli import main
from flowkit.review.docs import GENERATED, DocsFolderError, flow_pages, sync_docs
from tests.review.test_graph import ONBOARDING_DRIP_MERMAID


def test_a_flow_page_has_its_triggers_exits_diagram_and_steps() -> None:
    page = flow_pages([onboarding_drip])["onboarding_drip.md"]
    assert page.startswith(GENERATED + "\n\n# onboarding_drip\n")
    assert "defined in `automations/onboarding_drip.py`" in page
    assert "- `user.enrolled` where `event['course'] == 'python-101'`" in page
    assert "- `course.completed` arrives with the same `course`" in page
    assert "**Re-entry**: a user starts again once their previous run has ended." in page
    assert f"```mermaid\n{ONBOARDING_DRIP_MERMAID}```" in page
    assert "| `send_email:welcome` | action | 17 | `send_email('welcome')` |" in page
    assert "| `completed a unit?` | branch | 21 |" in page


def test_the_index_links_every_page() -> None:
    index = flow_pages([onboarding_drip, bonus_course])["index.md"]
    assert "| [bonus_course](bonus_course.md) | `user.enrolled` | - | 2 |" in index
    assert "| [onboarding_drip](onboarding_drip.md) | `user.enrolled` | `course.completed` |" \
        in index


def test_pages_are_written_once_and_removed_with_their_flow(tmp_path: Path) -> None:
    first = sync_docs([onboarding_drip, bonus_course], tmp_path)
    assert first.written == ("bonus_course.md", "index.md", "onboarding_drip.md")
    assert sync_docs([onboarding_drip, bonus_course], tmp_path).stale == ()

    (tmp_path / "notes.md").write_text("# hand-written, not ours\n")
    checked = sync_docs([onboarding_drip], tmp_path, check=True)
    assert checked.stale == ("bonus_course.md", "index.md")
    assert (tmp_path / "bonus_course.md").exists()  # --check writes nothing

    synced = sync_docs([onboarding_drip], tmp_path)
    assert synced.removed == ("bonus_course.md",)
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ["index.md", "notes.md", "onboarding_drip.md"]


def test_a_file_not_written_by_flowkit_where_a_page_goes_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "onboarding_drip.md").write_text("# my own notes\n")
    with pytest.raises(DocsFolderError, match="was not written by `flowkit docs`"):
        sync_docs([onboarding_drip], tmp_path)


def test_docs_check_exits_1_listing_the_stale_pages(tmp_path: Path) -> None:
    runner = CliRunner()
    sources = ["--sources", "automations/onboarding_drip.py",
               "--sources", "automations/bonus_course.py"]
    out = tmp_path / "flows"
    written = runner.invoke(main, ["docs", "--out", str(out), *sources])
    assert written.exit_code == 0, written.output
    assert f"wrote {out / 'onboarding_drip.md'}" in written.output

    fresh = runner.invoke(main, ["docs", "--out", str(out), "--check", *sources])
    assert fresh.exit_code == 0, fresh.output
    assert "up to date" in fresh.output

    stale = runner.invoke(main, ["docs", "--out", str(out), "--check", *sources[:2]])
    assert stale.exit_code == 1
    assert f"{out / 'bonus_course.md'}: no longer a flow" in stale.output
    assert f"{out / 'index.md'}: changed" in stale.output
    assert (out / "bonus_course.md").exists()

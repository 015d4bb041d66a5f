"""`flowkit diff` on a real git repository with runs waiting in a database (SQLite and
PostgreSQL), including runs stranded by a change and then migrated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

V1 = '''from flowkit import action, on, wait


@action
def note(text):
    return text


@on("user.enrolled")
async def drip(run):
    await note("welcome")
    await wait(days=2)
    await note("reminder")
'''
V2 = V1.replace("    await wait(days=2)\n", "    await note(\"tip\")\n    await wait(days=3)\n")


def sh(repo: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=60)


def flowkit(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return sh(repo, sys.executable, "-m", "flowkit.cli", *args, env=env)


@pytest.fixture
def repo(tmp_path: Path, database_url: str) -> tuple[Path, dict[str, str]]:
    """A git repository of one flow, `drip`, with two runs waiting at `wait:2d` in the
    database (SQLite, then PostgreSQL)."""
    return make_repo(tmp_path, database_url)


@pytest.fixture
def sqlite_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The same, on SQLite only."""
    return make_repo(tmp_path, f"sqlite:///{tmp_path}/school.db")


def make_repo(tmp_path: Path, database_url: str) -> tuple[Path, dict[str, str]]:
    repo = tmp_path / "school"
    (repo / "automations").mkdir(parents=True)
    (repo / "automations" / "__init__.py").write_text("")
    (repo / "automations" / "drip.py").write_text(V1)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PYTHONPATH")}
    env.update(DATABASE_URL=database_url, GIT_AUTHOR_NAME="t",
               GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com")
    for command in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "v1"]):
        assert sh(repo, *command, env=env).returncode == 0
    for user in ("u1", "u2"):
        emitted = flowkit(repo, env, "emit", "user.enrolled", "--user", user, "course=c")
        assert emitted.returncode == 0, emitted.stderr
    return repo, env


def test_diff_reports_steps_and_the_runs_a_change_strands(
        repo: tuple[Path, dict[str, str]]) -> None:
    path, env = repo
    (path / "automations" / "drip.py").write_text(V2)
    url = env["DATABASE_URL"]

    report = flowkit(path, env, "diff", "HEAD", "--database-url", url)
    assert report.returncode == 1, report.stderr
    md = report.stdout
    assert "#### `drip` (changed" in md and "**2 waiting runs would be stranded (2)**" in md
    assert ("⛔ **strand**: 2 runs waiting at `wait:2d` will be stranded: the new version "
            "has no such step (`wait:3d` took its place)") in md
    assert "| `wait:2d` | removed | `wait(days=2)` |  | 2 |" in md
    assert "| `wait:3d` | added |  | `wait(days=3)` | 0 |" in md
    assert "| `note:tip` | added |  | `note('tip')` | 0 |" in md

    as_json = json.loads(flowkit(path, env, "diff", "HEAD", "--json",
                                 "--database-url", url).stdout)
    assert (as_json[0]["flow"], as_json[0]["stranded"], as_json[0]["compatible"]) == (
        "drip", 2, False)
    assert flowkit(path, env, "diff", "HEAD", "--database-url", url,
                   "--allow-stranded").returncode == 0
    assert flowkit(path, env, "diff", "HEAD", "--database-url", url,
                   "--allow", "strand").returncode == 0
    assert flowkit(path, env, "diff", "HEAD", "--database-url", url,
                   "--allow", "repeat,skip").returncode == 1

    # the waiting runs are moved to the new wait: nothing is stranded any more
    moved = flowkit(path, env, "runs", "migrate", "--flow", "drip", "--from", "wait:2d",
                    "--to", "wait:3d")
    assert moved.stdout.strip() == "moved 2 run(s) of drip from wait:2d to wait:3d"
    again = flowkit(path, env, "diff", "HEAD", "--database-url", url)
    assert again.returncode == 0
    assert "compatible with the runs waiting now" in again.stdout
    assert "stranded" not in again.stdout
    assert "| `wait:2d` | removed | `wait(days=2)` |  | 0 |" in again.stdout


def test_a_change_that_keeps_every_wait_is_compatible(
        sqlite_repo: tuple[Path, dict[str, str]]) -> None:
    path, env = sqlite_repo
    (path / "automations" / "drip.py").write_text(V1.replace('"reminder"', '"reminder!"'))
    report = flowkit(path, env, "diff", "HEAD", "--database-url", env["DATABASE_URL"])
    assert report.returncode == 0, report.stdout
    assert "compatible with the runs waiting now" in report.stdout
    assert "| `note:reminder` | removed |" in report.stdout  # a different literal, a new id
    assert ("changed: 2 runs waiting at `wait:2d` will run `note('reminder!')` instead of "
            "`note('reminder')`") in report.stdout


def test_no_change_and_a_bad_ref(sqlite_repo: tuple[Path, dict[str, str]]) -> None:
    path, env = sqlite_repo
    assert flowkit(path, env, "diff", "HEAD").stdout == "No flow changed since `HEAD`.\n"
    bad = flowkit(path, env, "diff", "no-such-ref")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: cannot read 'no-such-ref'")


def test_the_markdown_comment_has_counts_consequences_and_both_diagrams(
        sqlite_repo: tuple[Path, dict[str, str]]) -> None:
    path, env = sqlite_repo
    moved = V1.replace('    await note("welcome")\n    await wait(days=2)\n',
                       '    await wait(days=2)\n    await note("welcome")\n')
    (path / "automations" / "drip.py").write_text(moved)

    report = flowkit(path, env, "diff", "HEAD", "--format", "markdown",
                     "--database-url", env["DATABASE_URL"])

    assert report.returncode == 1
    md = report.stdout
    assert md.startswith("<!-- flowkit diff -->\n## flowkit diff against `HEAD`\n")
    assert ("**1 flow changed; 2 waiting runs would repeat an action (2)** (unacknowledged: "
            "`flowkit diff` fails until a reviewer passes `--allow repeat`).") in md
    assert ("⚠️ **repeat**: 2 runs waiting at `wait:2d` will run `note('welcome')` again"
            in md)
    before, after = md.split("**Before**")[1].split("**After**")
    assert before.index("s_note_welcome") < before.index("s_wait_2d")
    assert "```mermaid" in before and "```mermaid" in after
    assert after.index("s_wait_2d") < after.index("s_note_welcome")

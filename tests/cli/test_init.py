"""`flowkit init`: a project of one's own, whose tests pass with plain `pytest`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from flowkit.cli import main


def test_init_makes_a_project_in_a_new_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "school")])
    assert result.exit_code == 0, result.output
    project = tmp_path / "school"
    for path in ("automations/welcome.py", "tracks/first_week.py", "emails/hello.txt",
                 "emails/day-2-tips.txt", "tests/test_welcome.py", "pyproject.toml"):
        assert (project / path).is_file(), path
    readme = (project / "README.md").read_text()
    assert readme.startswith("# school\n")
    assert "pytest " in readme and "flowkit run " in readme
    assert result.output.splitlines()[-1] == (
        f"next: cd {project} && pytest, then flowkit simulate or flowkit run")


def test_init_never_overwrites_a_file(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("mine")
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert result.exit_code != 0
    assert "already has" in result.output and "README.md" in result.output
    assert (tmp_path / "README.md").read_text() == "mine"
    assert not (tmp_path / "automations").exists()


def test_the_scaffolded_tests_pass_with_plain_pytest(tmp_path: Path) -> None:
    CliRunner().invoke(main, ["init", str(tmp_path)])
    pytest = Path(sys.executable).parent / "pytest"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    done = subprocess.run([str(pytest), "-q"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=100)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout

"""The examples of README.md and docs/ run as tests (see tests/docs/pages.py for the
markers): a change to a flow, a message or a command fails here until the page follows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.pages import ROOT, Step, matches, pages, steps, uses_examples

FOOTER = '''

for _name, _test in list(globals().items()):
    if _name.startswith("test_") and callable(_test):
        _test()
'''


class Project:
    """A page's project folder, and the steps run in it."""

    def __init__(self, folder: Path, page: Path) -> None:
        self.folder = folder
        self.page = page
        self.script = ""
        self.printed: str | None = None
        bin_dir = str(Path(sys.executable).parent)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "REDIS_URL", "PYTHONPATH")}
        self.env.update(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                        COLUMNS="80")

    def file(self, step: Step) -> None:
        path = self.folder / step.arg
        if path.exists():
            assert path.read_text(encoding="utf-8") == step.text, (
                f"{step.where(self.page)} shows {step.arg} otherwise than it is")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(step.text, encoding="utf-8")

    def run(self, step: Step) -> None:
        self.script = (self.script if step.arg == "continue" else "") + step.text
        script = self.folder / "_page_example.py"
        script.write_text(self.script + FOOTER, encoding="utf-8")
        self.printed = self._call([sys.executable, str(script)], step,
                                  PYTHONPATH=str(self.folder))
        script.unlink()

    def sh(self, step: Step) -> None:
        lines = []
        for line in step.text.splitlines():
            if line.strip().startswith("pip install"):
                if os.environ.get("FLOWKIT_DOCS_PIP") == "1":
                    self._install(step)
                continue
            lines.append(line)
        self.printed = self._call(["bash", "-c", "set -e\n" + "\n".join(lines)], step)

    def _install(self, step: Step) -> None:
        """``pip install flowkit``, from this checkout, into a new virtual environment
        (about 40 s with a local wheel cache: opt-in, FLOWKIT_DOCS_PIP=1)."""
        venv = self.folder.parent / "venv"
        self._call([sys.executable, "-m", "venv", str(venv)], step)
        self._call([str(venv / "bin" / "pip"), "install", "-q", str(ROOT), "pytest"], step)
        self.env["PATH"] = f"{venv / 'bin'}{os.pathsep}{self.env['PATH']}"

    def ir(self, step: Step) -> None:
        module, flow = step.arg.split()
        printed = self._call([sys.executable, str(ROOT / "tests" / "docs" / "listing.py"),
                              module, flow], step, PYTHONPATH=str(self.folder))
        assert matches(step.text, printed), (
            f"{step.where(self.page)} shows {flow}'s IR otherwise than it compiles:\n{printed}")

    def output(self, step: Step) -> None:
        assert self.printed is not None, f"{step.where(self.page)}: output of nothing"
        assert matches(step.text, self.printed), (
            f"{step.where(self.page)} shows an output that the code no longer prints; "
            f"it prints:\n{self.printed}")

    def _call(self, command: list[str], step: Step, **env: str) -> str:
        done = subprocess.run(command, cwd=self.folder, env={**self.env, **env},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=100)  # what a reader sees: both streams
        assert done.returncode == 0, f"{step.where(self.page)} fails:\n{done.stdout[-3000:]}"
        return done.stdout


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_pages_examples_run_as_shown(page: Path, tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    if uses_examples(page):
        for name in ("automations", "tracks", "emails"):
            shutil.copytree(ROOT / name, folder / name)
    project = Project(folder, page)
    for step in steps(page):
        getattr(project, step.kind)(step)

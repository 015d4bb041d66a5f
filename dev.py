#!/usr/bin/env python3
"""Set up and run flowkit on a machine that has only python3.

    python3 dev.py demo    # the main job: workers, scheduler and Redis on a demo stream
    python3 dev.py test    # the whole test suite: ruff, mypy and pytest

Each command first makes ``.venv`` and installs flowkit into it with its dev extras,
again only when pyproject.toml has changed. Any further arguments go to the command
(``python3 dev.py test -k drip``, ``python3 dev.py flowkit status``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".flowkit-installed"


def ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not _has_pip():  # none yet, or a half-made one from an interrupted first run
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print("dev.py: installing flowkit and its dev dependencies into .venv", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def _has_pip() -> bool:
    python = BIN / "python"
    return python.exists() and subprocess.run(
        [str(python), "-m", "pip", "--version"], capture_output=True).returncode == 0


def run(*argv: str) -> int:
    print("$", " ".join(argv), flush=True)
    return subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=ROOT).returncode


def main(args: list[str]) -> int:
    if not args or args[0] not in ("demo", "test", "flowkit"):
        print(__doc__)
        return 2
    ensure_venv()
    command, rest = args[0], args[1:]
    if command == "demo":
        return run("flowkit", "run", "--demo", *rest)
    if command == "flowkit":
        return run("flowkit", *rest)
    for step in (("ruff", "check", "."), ("mypy", "flowkit")):
        code = run(*step)
        if code:
            return code
    return run("pytest", *rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

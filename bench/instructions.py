"""The engine's own work per flow in machine instructions, not seconds: S1's flow inline
(``bench.engine_path``) run under valgrind's callgrind at two sizes, the difference
divided by the extra flows, so that starting Python and making the schema cancel out.

    python -m bench.instructions            # this checkout
    python -m bench.instructions --flows 500 2000

Instruction counts repeat to within a few parts in ten thousand whatever else the
machine is doing, where timings here move by 10 to 30 % from one minute to the next:
a before/after pair of a change to the engine's Python is two runs of this, one on
each commit. Counts the Python process only, not PostgreSQL's (``bench.engine_path``
reports the server's CPU). Needs valgrind and the database of ``bench.engine_path``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys


def instructions(flows: int) -> int:
    """Instructions callgrind counted for ``bench.engine_path`` with ``flows`` flows."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, "-m", "bench.engine_path", "--flows", str(flows),
               "--repeat", "1"]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"bench.engine_path under callgrind failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flows", type=int, nargs=2, default=(500, 2000),
                        metavar=("SMALL", "LARGE"))
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    small, large = args.flows
    counts = {n: instructions(n) for n in (small, large)}
    per_flow = (counts[large] - counts[small]) / (large - small)
    print(f"{per_flow:,.0f} instructions per flow (routing and firing; "
          f"{counts[small]:,} for {small} flows, {counts[large]:,} for {large})")


if __name__ == "__main__":
    main()

"""``flowkit diff <git-ref>``: what a change does to each flow, and to the runs waiting.

The flows at the ref are compiled in a separate process from a copy of the ref's
``automations/``, ``tracks/`` and ``emails/`` (so the two versions never share a module),
the working tree's in this one. Steps are matched by id: a step is added, removed,
changed (same id, another call) or moved (same id, another place among the steps).
What that means for the runs resting in the flow (stranded, an action repeated or
skipped, a deadline or a condition changed) is ``flowkit.review.effects``; given a
database, the runs resting at each step are counted. ``diff_report`` writes it out.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from io import BytesIO
from pathlib import Path

import attrs

from flowkit.errors import DiffError
from flowkit.ir import FlowIR, Step
from flowkit.review.effects import Effect, effects

FOLDERS = ("automations", "tracks", "emails")


@attrs.frozen
class StepChange:
    step: str
    change: str  # added | removed | changed | moved | weights (a split's)
    before: str | None = None
    after: str | None = None
    waiting: int = 0  # runs resting at this step in the old version


@attrs.frozen
class FlowDiff:
    flow: str
    status: str  # added | removed | changed
    version_before: str | None
    version_after: str | None
    steps: tuple[StepChange, ...]
    effects: tuple[Effect, ...] = ()
    counted: bool = False  # whether runs were counted in a database

    @property
    def stranded(self) -> int:
        """Runs resting at a step the new version no longer has."""
        return sum(e.runs or 0 for e in self.effects if e.kind == "strand")

    def blocking(self, allowed: Iterable[str] = ()) -> list[Effect]:
        """The effects a reviewer must acknowledge (strand, repeat, skip), but those
        of the kinds ``allowed``."""
        return [e for e in self.effects if e.blocking and e.kind not in allowed]

    @property
    def compatible(self) -> bool:
        """Whether every run waiting in the old version resumes in the new one with
        nothing stranded, repeated or skipped (without a database: whatever runs might
        rest at its waits)."""
        return not self.blocking()


@attrs.frozen
class Snapshot:
    """The flows of one version of the project, with their Mermaid diagrams."""

    flows: dict[str, FlowIR]
    diagrams: dict[str, str] = attrs.field(factory=dict)


def flows_at(ref: str, repo: Path) -> dict[str, FlowIR]:
    """The flows of ``ref``, compiled from a copy of its flow folders."""
    return snapshot_at(ref, repo).flows


def snapshot_at(ref: str, repo: Path) -> Snapshot:
    """The flows of ``ref`` and their diagrams, from a copy of its flow folders."""
    try:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref, "--",
             *[f for f in FOLDERS if _tracked(repo, ref, f)]],
            cwd=repo, capture_output=True, check=True).stdout
    except subprocess.CalledProcessError as error:
        raise DiffError(f"cannot read {ref!r}: {error.stderr.decode().strip()}") from error
    with tempfile.TemporaryDirectory(prefix="flowkit-diff-") as tmp:
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        sources = [f for f in ("automations", "tracks") if (Path(tmp) / f).is_dir()]
        if not sources:
            return Snapshot({})
        done = subprocess.run(
            [sys.executable, "-m", "flowkit.cli", "compile", "--json", "--diagrams",
             *sources],
            cwd=tmp, capture_output=True, text=True,
            env={**_clean_env(), "PYTHONPATH": tmp, "FLOWKIT_EMAILS": f"{tmp}/emails"})
        if done.returncode != 0:
            raise DiffError(f"the flows at {ref!r} do not compile: "
                            f"{done.stderr.strip().splitlines()[-1] if done.stderr else ''}")
        compiled = json.loads(done.stdout)
        return Snapshot({d["name"]: FlowIR.from_dict(d) for d in compiled},
                        {d["name"]: d["mermaid"] for d in compiled if "mermaid" in d})


def _tracked(repo: Path, ref: str, folder: str) -> bool:
    listed = subprocess.run(["git", "ls-tree", "--name-only", ref, folder], cwd=repo,
                            capture_output=True, text=True)
    return bool(listed.stdout.strip())


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def compare(before: dict[str, FlowIR], after: dict[str, FlowIR],
            resting: dict[tuple[str, str], int] | None = None) -> list[FlowDiff]:
    """Flow by flow, what changed; ``resting`` counts runs by (flow, step)."""
    counted = resting is not None
    resting = resting or {}
    out = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old is not None and new is not None and old.version == new.version:
            continue
        steps = _step_changes(old.steps if old else (), new.steps if new else (),
                              name, resting)
        status = "added" if old is None else "removed" if new is None else "changed"
        here = {step: n for (flow, step), n in resting.items() if flow == name}
        found = effects(name, old, new, here if counted else None)
        out.append(FlowDiff(name, status, old.version if old else None,
                            new.version if new else None, tuple(steps), tuple(found),
                            counted))
    return out


def _step_changes(old: Iterable[Step], new: Iterable[Step], flow: str,
                  resting: dict[tuple[str, str], int]) -> list[StepChange]:
    old_steps = {s.id: s for s in old}
    new_steps = {s.id: s for s in new}
    old_order = [s for s in old_steps if s in new_steps]
    new_order = [s for s in new_steps if s in old_steps]
    changes = []
    for sid, step in old_steps.items():
        waiting = resting.get((flow, sid), 0)
        if sid not in new_steps:
            changes.append(StepChange(sid, "removed", step.call, None, waiting))
        elif new_steps[sid].call != step.call or new_steps[sid].kind != step.kind:
            # a split whose weights change keeps its users' arms only where they fall
            # in the same arm under the new weights: said as its own kind of change
            change = "weights" if step.kind == new_steps[sid].kind == "split" else "changed"
            changes.append(StepChange(sid, change, step.call, new_steps[sid].call,
                                      waiting))
        elif old_order.index(sid) != new_order.index(sid):
            changes.append(StepChange(sid, "moved", step.call, step.call, waiting))
    changes += [StepChange(sid, "added", None, step.call)
                for sid, step in new_steps.items() if sid not in old_steps]
    return changes


def resting_runs(database_url: str) -> dict[tuple[str, str], int]:
    """How many runs wait or are parked at each (flow, step)."""
    import sqlalchemy as sa

    from flowkit.store import database
    from flowkit.store.schema import runs

    engine = database.create_engine(database_url)
    try:
        with database.reading(engine) as conn:
            rows = conn.execute(
                sa.select(runs.c.flow, runs.c.step, sa.func.count())
                .where(runs.c.status.in_(("waiting", "parked")))
                .group_by(runs.c.flow, runs.c.step))
            return {(r[0], r[1]): int(r[2]) for r in rows}
    finally:
        engine.dispose()

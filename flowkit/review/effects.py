"""What a change does to the runs already waiting: the semantics behind ``flowkit diff``.

A run resting at a step (waiting at a wait or a ``wait_for``, or parked at any step)
resumes at the same step id in the new version. For each such step this module compares
what the old and the new code would do from there on:

- ``strand``: the new version has no such step, or reads a variable the run did not
  save (a renamed one) before assigning it; the run is parked when it resumes.
- ``repeat``: an action that ran before the step (and could not run again after it in
  the old code) comes after it in the new code: the run does it a second time.
- ``skip``: an action that was still to come after the step no longer is (moved before
  it, or removed): the run never does it.
- ``deadline``: a wait still to come (or the one the run rests at) lasts another time.
- ``condition``: a branch or an ``if``/``while`` still to come tests something else.
- ``changed``: an action still to come is called differently; ``new``: an action that
  is new in the new code is still to come.
- ``trigger``, ``exit``, ``option``: what the flow's decorators say changed.

``strand``, ``repeat`` and ``skip`` are what a reviewer must acknowledge
(``flowkit diff --allow``); the rest is reported. Runs are counted per resting step
when a database is given; without one, every wait and ``wait_for`` of the old version
is a step where runs may rest, and the effects are what *would* happen to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from flowkit.ir import FlowIR, JumpIf, Node, Step
from flowkit.review._check_paths import successors
from flowkit.review._effects_locals import missing_reads
from flowkit.review.describe import shorten

BLOCKING = ("strand", "repeat", "skip")
RESTS = ("wait", "wait_for")


@attrs.frozen
class Effect:
    """One consequence of a change for the runs resting at ``step`` (``""`` for the
    whole flow); ``runs`` is how many (``None``: not counted, no database given)."""

    kind: str
    step: str
    subject: str  # the step id or declaration line concerned
    runs: int | None
    text: str

    @property
    def blocking(self) -> bool:
        return self.kind in BLOCKING and self.runs != 0


def effects(name: str, old: FlowIR | None, new: FlowIR | None,
            resting: dict[str, int] | None) -> list[Effect]:
    """The effects on the runs of flow ``name`` of going from ``old`` to ``new``;
    ``resting`` counts runs by step (``None``: no database)."""
    if old is None:
        return []
    places = _places(old, resting)
    out: list[Effect] = []
    for step, runs in places.items():
        if new is None:
            out.append(Effect("strand", step, step, runs,
                              _strand_text(name, step, runs, None, flow_gone=True)))
            continue
        out += _at(name, old, new, step, runs)
    if new is not None:
        live = None if resting is None else sum(resting.values())
        out += _declaration(old, new, live)
    return out


def _places(old: FlowIR, resting: dict[str, int] | None) -> dict[str, int | None]:
    """The steps where runs rest, with their counts."""
    if resting is None:
        return {s.id: None for s in old.steps if s.kind in RESTS}
    return {step: n for step, n in sorted(resting.items(), key=lambda i: _order(old, i[0]))
            if n}


def _order(ir: FlowIR, step: str) -> int:
    ids = [s.id for s in ir.steps]
    return ids.index(step) if step in ids else len(ids)


# -- one resting step --------------------------------------------------------------------

def _at(name: str, old: FlowIR, new: FlowIR, step: str, runs: int | None) -> list[Effect]:
    new_ids = {s.id for s in new.steps}
    if step not in new_ids:
        replaced = _replacement(old, new, step)
        return [Effect("strand", step, step, runs, _strand_text(name, step, runs, replaced))]
    if step not in {s.id for s in old.steps}:
        return []
    before = _ran_before(old, step)
    after_old = _still_to_come(old, step)
    after_new = _still_to_come(new, step)
    old_steps = {s.id: s for s in old.steps}
    new_steps = {s.id: s for s in new.steps}
    pairs = _pairs(old, new)
    out: list[Effect] = []
    here = _resting_call(old_steps[step], new_steps[step], runs)
    if here is not None:
        out.append(here)
    for sid in _sorted(new, after_new):
        action = new_steps[sid]
        if sid in before and sid not in after_old and action.kind == "action":
            out.append(Effect("repeat", step, sid, runs, _say(
                runs, step, f"will {_doing(action)} again: `{sid}` ran before this step "
                f"and now comes after it")))
    for sid in _sorted(old, after_old):
        was = old_steps[sid]
        if was.kind != "action" or sid in after_new:
            continue
        instead = pairs.get(sid)
        if instead is not None and instead in after_new:
            out.append(Effect("changed", step, sid, runs, _say(
                runs, step, f"will {_doing(new_steps[instead])} instead of "
                f"{_doing(was, bare=True)} (`{sid}` became `{instead}`)")))
            continue
        where = "moved before this step" if sid in new_steps else "removed"
        out.append(Effect("skip", step, sid, runs, _say(
            runs, step, f"will not {_doing(was)}: `{sid}` was still to come and is {where}")))
    out += _later_changes(step, runs, old_steps, new_steps, after_old, after_new, pairs)
    out += _conditions(old, new, step, runs)
    out += [Effect("strand", step, local, runs, _say(
        runs, step, f"will be parked: the new code reads `{local}` (line {line}), which "
        f"they did not save (a renamed variable?); keep its old name, or after deploying "
        f"move them (`flowkit runs migrate --flow {name} --from {step} --to STEP`) or end "
        f"them (`flowkit runs end --flow {name} --step {step} --reason ...`)"))
        for local, line in missing_reads(old, new, _from(new, step))]
    return out


def _resting_call(was: Step, now: Step, runs: int | None) -> Effect | None:
    """What a changed call at the very step the runs rest at means for them."""
    if was.call == now.call and was.kind == now.kind:
        return None
    if was.kind == now.kind == "wait":
        return Effect("deadline", was.id, was.id, runs, _say(
            runs, was.id, f"keep the deadline `{was.call}` set when they began waiting; "
            f"runs that reach `{was.id}` from now on wait `{now.call}`"))
    if was.kind == now.kind == "wait_for":
        return Effect("deadline", was.id, was.id, runs, _say(
            runs, was.id, f"keep waiting as `{was.call}` said (its event and deadline were "
            f"set when they began waiting); runs that reach it from now on wait "
            f"`{now.call}`"))
    return Effect("changed", was.id, was.id, runs, _say(
        runs, was.id, f"will resume at `{was.id}` as `{now.call}` (was `{was.call}`)"))


def _later_changes(step: str, runs: int | None, old_steps: dict[str, Step],
                   new_steps: dict[str, Step], after_old: set[str], after_new: set[str],
                   pairs: dict[str, str]) -> list[Effect]:
    out: list[Effect] = []
    paired_new = {pairs[s] for s in pairs if s in after_old}
    for sid in sorted(after_old & after_new - {step}, key=lambda s: new_steps[s].line):
        was, now = old_steps[sid], new_steps[sid]
        if was.call == now.call:
            continue
        kind = "condition" if now.kind == "branch" else \
            "deadline" if now.kind in RESTS else "changed"
        verb = {"condition": "will decide", "deadline": "will wait at"}.get(kind, "will run")
        out.append(Effect(kind, step, sid, runs, _say(
            runs, step, f"{verb} `{sid}` as `{now.call}` (was `{was.call}`)")))
    for sid in sorted(after_new - set(old_steps), key=lambda s: new_steps[s].line):
        now = new_steps[sid]
        if sid in paired_new:
            if now.kind in RESTS:
                was = next(old_steps[o] for o, n in pairs.items() if n == sid)
                out.append(Effect("deadline", step, sid, runs, _say(
                    runs, step, f"will wait `{now.call}` at `{sid}` (was `{was.call}` at "
                    f"`{was.id}`)")))
            continue
        if now.kind == "action":
            out.append(Effect("new", step, sid, runs, _say(
                runs, step, f"will also {_doing(now)} (`{sid}` is new)")))
    return out


def _conditions(old: FlowIR, new: FlowIR, step: str, runs: int | None) -> list[Effect]:
    """Plain ``if``/``while`` tests still to come that changed."""
    was, now = _tests_after(old, step), _tests_after(new, step)
    gone, came = sorted(was - now), sorted(now - was)
    if not gone and not came:
        return []
    change = "; ".join([*(f"no longer `{t}`" for t in gone), *(f"now `{t}`" for t in came)])
    return [Effect("condition", step, "", runs, _say(
        runs, step, f"will meet changed conditions: {change}"))]


# -- the flow's decorators ---------------------------------------------------------------

def _declaration(old: FlowIR, new: FlowIR, live: int | None) -> list[Effect]:
    out = []
    gone, came = set(old.declaration) - set(new.declaration), \
        set(new.declaration) - set(old.declaration)
    for line in sorted(gone | came):
        added = line in came
        kind = "trigger" if line.startswith("on ") else \
            "exit" if line.startswith("exit when") else "option"
        out.append(Effect(kind, "", line, live, _declaration_text(kind, line, added, live)))
    return out


def _declaration_text(kind: str, line: str, added: bool, live: int | None) -> str:
    who = "runs already going" if live is None else _runs(live) + " already going"
    if kind == "exit":
        return (f"{who} will also end when: {line}" if added
                else f"{who} will no longer end when: {line}")
    if kind == "trigger":
        return (f"new runs also start: {line}" if added
                else f"no new runs start: {line}") + f"; {who} are not affected"
    return f"{'now' if added else 'no longer'} `{line}`: applies to new runs"


# -- paths through the step machine --------------------------------------------------------

def _index(ir: FlowIR, step: str) -> int:
    return next(i for i, n in enumerate(ir.nodes) if isinstance(n, Step) and n.id == step)


def _reach(nodes: Sequence[Node], starts: Iterable[int]) -> set[int]:
    seen: set[int] = set()
    pending = [s for s in starts if s < len(nodes)]
    while pending:
        i = pending.pop()
        if i not in seen:
            seen.add(i)
            pending.extend(successors(nodes, i))
    return seen


def _step_ids(ir: FlowIR, indexes: Iterable[int]) -> set[str]:
    return {n.id for i in indexes if isinstance(n := ir.nodes[i], Step)}


def _from(ir: FlowIR, step: str) -> list[int]:
    """Where a run resting at ``step`` goes on from: past a wait, or into the step
    again (a parked action or branch is run again)."""
    i = _index(ir, step)
    node = ir.nodes[i]
    assert isinstance(node, Step)
    return [i + 1] if node.kind in RESTS else [i]


def _still_to_come(ir: FlowIR, step: str) -> set[str]:
    return _step_ids(ir, _reach(ir.nodes, _from(ir, step)))


def _ran_before(ir: FlowIR, step: str) -> set[str]:
    """The steps on some path from the start to ``step``."""
    target = _index(ir, step)
    forward = _reach(ir.nodes, [0])
    leads = {i for i in forward if target in _reach(ir.nodes, successors(ir.nodes, i))}
    return _step_ids(ir, leads - {target})


def _tests_after(ir: FlowIR, step: str) -> set[str]:
    return {n.test for i in _reach(ir.nodes, _from(ir, step))
            if isinstance(n := ir.nodes[i], JumpIf) and not n.test.startswith("__fk_")}


def _sorted(ir: FlowIR, ids: set[str]) -> list[str]:
    return [s.id for s in ir.steps if s.id in ids]


def _pairs(old: FlowIR, new: FlowIR) -> dict[str, str]:
    """Removed steps paired with the added step that took their place: the same callee
    after the same surviving step (``wait:7d`` → ``wait:5d``, ``send_email:hi`` →
    ``send_email:hello``)."""
    new_ids, old_ids = {s.id for s in new.steps}, {s.id for s in old.steps}
    removed = [(s, _anchor(old.steps, k, new_ids)) for k, s in enumerate(old.steps)
               if s.id not in new_ids]
    added = [(s, _anchor(new.steps, k, old_ids)) for k, s in enumerate(new.steps)
             if s.id not in old_ids]
    pairs: dict[str, str] = {}
    for was, anchor in removed:
        match = next((now for now, at in added if at == anchor and now.callee == was.callee
                      and now.kind == was.kind and now.id not in pairs.values()), None)
        if match is not None:
            pairs[was.id] = match.id
    return pairs


def _anchor(steps: Sequence[Step], k: int, kept: set[str]) -> str | None:
    return next((s.id for s in reversed(steps[:k]) if s.id in kept), None)


def _replacement(old: FlowIR, new: FlowIR, step: str) -> str | None:
    return _pairs(old, new).get(step)


# -- words -------------------------------------------------------------------------------

def _runs(n: int) -> str:
    return f"{n} run{'' if n == 1 else 's'}"


def _say(runs: int | None, step: str, what: str) -> str:
    if runs is None:
        return f"runs waiting at `{step}` (if any) {what.replace('will ', 'would ', 1)}"
    return f"{_runs(runs)} waiting at `{step}` {what}"


def _doing(step: Step, *, bare: bool = False) -> str:
    """What an action does, in words: ``send 'Week 1, …'`` or ``run `add_tag('x')```."""
    name = step.callee.rsplit(".", 1)[-1]
    _, _, first = step.id.partition(":")
    first = first.split("#")[0]
    if name.startswith("send_") and first:
        return f"send {shorten(first, 30)!r}" if not bare else repr(shorten(first, 30))
    return f"run `{step.call}`" if not bare else f"`{step.call}`"


def _strand_text(flow: str, step: str, runs: int | None, replaced: str | None,
                 flow_gone: bool = False) -> str:
    if flow_gone:
        why = "the new code has no flow by that name"
        fix = f"after deploying, end them with `flowkit runs end --flow {flow} --reason ...`"
    else:
        why = "the new version has no such step" + (
            f" (`{replaced}` took its place)" if replaced else "")
        fix = (f"after deploying, move them with `flowkit runs migrate --flow {flow} "
               f"--from {step} --to {replaced or 'STEP'}` (a wait there starts afresh) or "
               f"end them with `flowkit runs end --flow {flow} --step {step} --reason ...`")
    return _say(runs, step, f"will be stranded: {why}; {fix}")

"""Code changes while runs wait: a waiting run resumes at its step id in the new
version; a run whose step is gone is parked, never dropped, and can be migrated."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pendulum
import pytest

from flowkit import Engine
from flowkit.clock import VirtualClock
from flowkit.dsl.flow import Flow
from flowkit.errors import UnknownFlowError

V1 = '''
from flowkit import on, wait, action

@action
def note(text):
    return text

@on("user.enrolled")
async def drip(run):
    await note("welcome")
    await wait(days=2)
    await note("reminder")
'''
V2_SAME_STEP = V1.replace('await note("reminder")', 'await note("reminder, reworded")')
V2_STEP_GONE = V1.replace("wait(days=2)", "wait(days=3)")


def load(tmp_path: Path, source: str, name: str) -> Flow:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    flow: Flow = module.drip
    return flow


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(pendulum.datetime(2026, 3, 2, 9, tz="UTC"))


def start_on_v1(tmp_path: Path, url: str, clock: VirtualClock) -> None:
    with Engine(url, [load(tmp_path, V1, "drip_v1")], clock=clock) as engine:
        engine.emit("user.enrolled", user="u1", course="c")


def test_a_waiting_run_resumes_at_the_same_step_in_the_new_version(
        tmp_path: Path, clock: VirtualClock) -> None:
    url = f"sqlite:///{tmp_path}/v.db"
    start_on_v1(tmp_path, url, clock)
    v2 = load(tmp_path, V2_SAME_STEP, "drip_v2")
    with Engine(url, [v2], clock=clock) as engine:
        clock.set(clock.now().add(days=2))
        engine.tick()
        (run,) = engine.runs(user="u1")
        assert run.status == "completed"
        assert run.version == v2.version
        assert [a.result for a in engine.actions(user="u1")] == [
            "welcome", "reminder, reworded"]


def test_a_run_whose_step_is_gone_is_parked_then_migrated(
        tmp_path: Path, clock: VirtualClock) -> None:
    url = f"sqlite:///{tmp_path}/v.db"
    start_on_v1(tmp_path, url, clock)
    v1_version = load(tmp_path, V1, "drip_v1b").version
    with Engine(url, [load(tmp_path, V2_STEP_GONE, "drip_v3")], clock=clock) as engine:
        clock.set(clock.now().add(days=2))
        engine.tick()
        (run,) = engine.runs(user="u1")
        assert (run.status, run.step, run.version) == ("parked", "wait:2d", v1_version)
        assert "no longer has" in (run.reason or "")
        with pytest.raises(UnknownFlowError, match="no step 'wait:9d'"):
            engine.migrate("drip", "wait:2d", "wait:9d")
        assert engine.migrate("drip", "wait:2d", "wait:3d") == [run.id]
        (run,) = engine.runs(user="u1")
        assert (run.status, run.step) == ("waiting", "wait:3d")
        assert run.wakes_at == clock.now().add(days=3)
        assert "migrated" in run.kinds()
        clock.set(clock.now().add(days=3))
        engine.tick()
        assert engine.runs(user="u1")[0].status == "completed"
        assert [a.result for a in engine.actions(user="u1")] == ["welcome", "reminder"]

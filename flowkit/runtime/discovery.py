"""Finding flows: in modules, files and folders (``automations/`` and ``tracks/``).

A flow file is loaded from its path under a module name of its own (as pytest's
``importlib`` mode does): ``automations/welcome.py`` is the module
``automations.welcome`` unless another file already holds that name, so no other
package called ``automations`` or ``tracks`` can stand in for the project's flows. (The
project's folder is added at the end of ``sys.path``, for the imports flows make of
their neighbours.) ``find_flows`` loads for review: a flow that does not compile and a
module that does not import are problems, and every other flow still loads;
``load_flows`` loads to run, and raises the first problem.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import attrs

from flowkit.dsl.flow import BrokenFlow, Flow, reviewing
from flowkit.errors import DuplicateFlowError, UnknownFlowError

DEFAULT_FOLDERS = ("automations", "tracks")
Source = str | Path | Flow | ModuleType


@attrs.frozen
class LoadProblem:
    """What could not be loaded: a module that does not import (``flow`` is ``None``),
    or a flow that does not compile."""

    source: str  # the file or module name
    error: BaseException
    flow: str | None = None


def flows_in_module(module: ModuleType) -> list[Flow]:
    """The flows a module defines (not those it imports from another module)."""
    return [v for v in vars(module).values()
            if isinstance(v, Flow) and v.module == module.__name__]


def broken_in_module(module: ModuleType) -> list[BrokenFlow]:
    """The flows of a module loaded for review that do not compile."""
    return [v for v in vars(module).values()
            if isinstance(v, BrokenFlow) and v.module == module.__name__]


def _root(path: Path) -> tuple[Path, list[str]]:
    """The folder above the project's flow folders, and ``path``'s dotted name in it."""
    parts, root = [path.stem], path.parent
    while (root / "__init__.py").exists():
        parts.insert(0, root.name)
        root = root.parent
    if root.name in DEFAULT_FOLDERS:
        parts.insert(0, root.name)
        root = root.parent
    return root, parts


def module_name(path: Path) -> str:
    """The name ``path`` is loaded under: dotted from the folder above the project's
    flow folders (``automations.welcome``), made unique when another file has it."""
    path = path.resolve()
    name = ".".join(_root(path)[1])
    held = sys.modules.get(name)
    if held is None or _file_of(held) == path:
        return name
    return f"{name}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"


def _file_of(module: ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None


def import_file(path: Path) -> ModuleType:
    """The module of the flow file ``path``, loaded from it (once per process, unless
    the file changed since)."""
    path = path.resolve()
    if not path.is_file():
        raise UnknownFlowError(f"no such file: {path}")
    name = module_name(path)
    held = sys.modules.get(name)
    stamp = path.stat().st_mtime_ns
    if held is not None and getattr(held, "__flowkit_stamp__", stamp) == stamp:
        return held  # loaded already, by us (and not changed since) or by an import
    root = str(_root(path)[0])
    if root not in sys.path:
        # Last, so that a flow can import a helper beside it (``from automations.common
        # import ...``) without the project's folders standing in for another package.
        sys.path.append(root)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__flowkit_stamp__ = stamp  # type: ignore[attr-defined]
    sys.modules[name] = module  # while it runs: inspect reads the flows' source by it
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _modules(source: Source) -> list[str | Path | ModuleType]:
    if isinstance(source, ModuleType):
        return [source]
    path = Path(str(source)) if not isinstance(source, Flow) else Path()
    if path.is_dir():
        return [f for f in sorted(path.glob("*.py")) if f.name != "__init__.py"]
    if path.suffix == ".py":
        return [path]
    return [str(source)]


def _import(target: str | Path | ModuleType) -> ModuleType:
    if isinstance(target, ModuleType):
        return target
    if isinstance(target, Path):
        return import_file(target)
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as error:
        if error.name and target.startswith(error.name):
            raise UnknownFlowError(
                f"{target!r} is neither a module nor a .py file nor a folder") from error
        raise


def _with_companions(flows: Iterable[Flow]) -> list[Flow]:
    out: list[Flow] = []
    for flow in flows:
        out.append(flow)
        out.extend(_with_companions(flow.companions))
    return out


def find_flows(sources: Iterable[Source] | None = None
               ) -> tuple[list[Flow], list[LoadProblem]]:
    """The flows of ``sources`` (default: automations/ and tracks/ of the working
    directory) with their companions, each once, and what could not be loaded: every
    module is imported, and every flow that compiles is kept."""
    if sources is None:
        sources = [folder for folder in DEFAULT_FOLDERS if Path(folder).is_dir()]
    flows: list[Flow] = []
    problems: list[LoadProblem] = []
    for source in sources:
        if isinstance(source, Flow):
            flows += [f for f in _with_companions([source]) if f not in flows]
            continue
        if not isinstance(source, str | Path | ModuleType):
            problems.append(LoadProblem(repr(source), UnknownFlowError(
                f"cannot load flows from {source!r}: give flows, module names, .py files "
                "or folders")))
            continue
        if not isinstance(source, ModuleType | Path) and not Path(source).exists() \
                and str(source).endswith(".py"):
            problems.append(LoadProblem(str(source), UnknownFlowError(
                f"no such file: {source}")))
            continue
        for target in _modules(source):
            try:
                with reviewing():
                    module = _import(target)
            except Exception as error:  # whatever a module raises is a problem, not raised
                problems.append(LoadProblem(str(target), error))
                continue
            problems += [LoadProblem(str(target), b.error, b.name)
                         for b in broken_in_module(module)]
            flows += [f for f in _with_companions(flows_in_module(module)) if f not in flows]
    return flows, problems


def flow_names(sources: Iterable[Source] | None = None) -> set[str] | None:
    """The names of the flows of ``sources`` (default: the project's), those that do not
    compile included: what ``inspect`` and ``status`` call the flows in the code.
    ``None`` when that cannot be told: no code to look at (no automations/ or tracks/
    here), or a module that does not import."""
    if sources is None and not any(Path(f).is_dir() for f in DEFAULT_FOLDERS):
        return None
    flows, problems = find_flows(sources)
    if any(p.flow is None for p in problems):
        return None
    return {f.name for f in flows} | {p.flow for p in problems if p.flow}


def load_flows(sources: Iterable[Source] | None = None) -> list[Flow]:
    """The flows of ``sources`` (default: the folders automations/ and tracks/ of the
    working directory), each once, with names checked to be unique. Raises the first
    problem: a module that does not import, a flow that does not compile."""
    flows, problems = find_flows(sources)
    if problems:
        raise problems[0].error
    found: dict[str, Flow] = {}
    for flow in flows:
        known = found.get(flow.name)
        if known is not None:
            raise DuplicateFlowError(flow.name, f"{known.module}", f"{flow.module}")
        flow.program.check_late_names()
        found[flow.name] = flow
    from flowkit.lms.tracks import check_destinations  # the domain's load-time checks

    check_destinations(found.values())
    return list(found.values())


__all__ = ["DEFAULT_FOLDERS", "LoadProblem", "Source", "broken_in_module", "find_flows",
           "flow_names", "flows_in_module", "import_file", "load_flows", "module_name"]



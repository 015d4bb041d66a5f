"""Finding flows: in modules, files and folders (``automations/`` and ``tracks/``)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from flowkit.dsl.flow import Flow
from flowkit.errors import DuplicateFlowError, UnknownFlowError

DEFAULT_FOLDERS = ("automations", "tracks")
Source = str | Path | Flow | ModuleType


def flows_in_module(module: ModuleType) -> list[Flow]:
    """The flows a module defines (not those it imports from another module)."""
    return [v for v in vars(module).values()
            if isinstance(v, Flow) and v.module == module.__name__]


def _import_path(path: Path) -> ModuleType:
    path = path.resolve()
    root = path.parent
    # automations/x.py is imported as automations.x when automations/ is a folder of
    # modules beside the project, so that flows import their neighbours normally.
    parts = [path.stem]
    while (root / "__init__.py").exists():
        parts.insert(0, root.name)
        root = root.parent
    if root.name in DEFAULT_FOLDERS:
        parts.insert(0, root.name)
        root = root.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module(".".join(parts))


def _load(source: Source) -> list[Flow]:
    if isinstance(source, Flow):
        return [source]
    if isinstance(source, ModuleType):
        return flows_in_module(source)
    path = Path(source)
    if path.is_dir():
        return [flow for file in sorted(path.glob("*.py")) if file.name != "__init__.py"
                for flow in flows_in_module(_import_path(file))]
    if path.suffix == ".py":
        if not path.exists():
            raise UnknownFlowError(f"no such file: {path}")
        return flows_in_module(_import_path(path))
    if isinstance(source, str):
        try:
            return flows_in_module(importlib.import_module(source))
        except ModuleNotFoundError as error:
            if error.name and source.startswith(error.name):
                raise UnknownFlowError(
                    f"{source!r} is neither a module nor a .py file nor a folder"
                ) from error
            raise
    raise UnknownFlowError(f"cannot load flows from {source!r}")


def _with_companions(flows: list[Flow]) -> list[Flow]:
    out: list[Flow] = []
    for flow in flows:
        out.append(flow)
        out.extend(_with_companions(list(flow.companions)))
    return out


def load_flows(sources: Iterable[Source] | None = None) -> list[Flow]:
    """The flows of ``sources`` (default: the folders automations/ and tracks/ of the
    working directory), each once, with names checked to be unique."""
    if sources is None:
        sources = [folder for folder in DEFAULT_FOLDERS if Path(folder).is_dir()]
    found: dict[str, Flow] = {}
    for source in sources:
        for flow in _with_companions(_load(source)):
            known = found.get(flow.name)
            if known is flow:
                continue
            if known is not None:
                raise DuplicateFlowError(flow.name, f"{known.module}", f"{flow.module}")
            flow.program.check_late_names()
            found[flow.name] = flow
    from flowkit.lms.tracks import check_destinations  # the domain's load-time checks

    check_destinations(found.values())
    return list(found.values())

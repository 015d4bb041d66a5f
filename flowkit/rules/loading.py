"""Where the project's journey rules come from when an Engine is not given them."""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

from flowkit.errors import ConfigurationError
from flowkit.rules.policy import Rules

PROJECT_FILE = "journey_rules.py"


def project_rules() -> Rules:
    """``FLOWKIT_RULES`` (``package.module:name``), else the ``rules`` value of
    ``journey_rules.py`` in the working directory, else no rules."""
    spec = os.environ.get("FLOWKIT_RULES")
    if spec:
        module_name, _, name = spec.partition(":")
        try:
            value = getattr(importlib.import_module(module_name), name or "rules")
        except (ImportError, AttributeError) as error:
            raise ConfigurationError(f"FLOWKIT_RULES={spec!r} names no rules: {error}; "
                                     "write it as package.module:name") from error
        return _checked(value, spec)
    path = Path(PROJECT_FILE)
    if not path.is_file():
        return Rules()
    loaded = importlib.util.spec_from_file_location("journey_rules", path.resolve())
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    return _checked(getattr(module, "rules", None), str(path))


def _checked(value: object, where: str) -> Rules:
    if not isinstance(value, Rules):
        raise ConfigurationError(f"{where} must define `rules = Rules(...)` (from "
                                 f"flowkit.rules), found {value!r}")
    return value

"""The pytest plugin (registered by flowkit's ``pytest11`` entry point): the ``sim``
fixture and the ``flows`` marker that says what it simulates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flowkit.runtime.discovery import DEFAULT_FOLDERS
from flowkit.testing.simulation import Simulation


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> Iterator[Simulation]:
    """A Simulation of the flows named by the test's ``flows`` marker (default:
    ``automations/`` and ``tracks/`` of the working directory), closed after the test.

    ``@pytest.mark.flows(onboarding_drip, "automations.tag_on_signup")``
    """
    marker = request.node.get_closest_marker("flows")
    sources = list(marker.args) if marker else None
    if sources is None:
        sources = [folder for folder in DEFAULT_FOLDERS if Path(folder).is_dir()]
    simulation = Simulation(*sources)
    try:
        yield simulation
    finally:
        simulation.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "flows(*sources): the flows the `sim` fixture simulates"
    )

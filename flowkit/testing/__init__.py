"""Testing flows: ``Simulation`` (a virtual clock) and the pytest fixture ``sim``."""

from flowkit.testing.simulation import Simulation

__all__ = ["Simulation"]

"""The small discrete-event core shared by the layers that need simulated time."""

from trnsim.sim.core import Event, Simulator

__all__ = ["Event", "Simulator"]

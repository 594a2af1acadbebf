"""Hardware specs and the sourced catalog: ``load_chip``, ``load_system``, ``load_core``, ``catalog``."""

from trnsim.hardware.catalog import Catalog, catalog, load_chip, load_core, load_file, load_system
from trnsim.hardware.quantity import Quantity
from trnsim.hardware.specs import ChipSpec, NeuronCoreSpec, SystemSpec

__all__ = [
    "Catalog", "ChipSpec", "NeuronCoreSpec", "Quantity", "SystemSpec",
    "catalog", "load_chip", "load_core", "load_file", "load_system",
]

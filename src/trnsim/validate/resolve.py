"""Ground-truth rows -> catalog chips and systems (the name matching lives in trnsim.hardware.resolve)."""

from __future__ import annotations

from trnsim.hardware.resolve import chip_for_text, node_system_for_chip, system_for_text
from trnsim.hardware.specs import ChipSpec
from trnsim.validate.registry import NotSupported
from trnsim.validate.rows import GroundTruthRow

def chip_for_row(row: GroundTruthRow) -> ChipSpec:
    """The row's accelerator as a catalog chip; NotSupported if the catalog lacks it."""
    for text in (row.accelerator, row.system):
        chip = chip_for_text(text) if text else None
        if chip is not None:
            return chip
    raise NotSupported(f"accelerator {row.accelerator!r} is not in the hardware catalog")


__all__ = ["chip_for_row", "chip_for_text", "node_system_for_chip", "system_for_text"]

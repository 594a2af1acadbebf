"""Map the free-text hardware names of ground-truth rows to catalog chips and systems."""

from __future__ import annotations

import re

from trnsim.hardware import catalog
from trnsim.hardware.specs import ChipSpec, SystemSpec
from trnsim.validate.registry import NotSupported
from trnsim.validate.rows import GroundTruthRow

_CLEAN = re.compile(r"\(.*?\)")


def _candidates(text: str) -> list[str]:
    t = _CLEAN.sub(" ", text).strip().lower().replace("_", "-")
    words = t.split()
    out = [t, "-".join(words)]
    out += ["-".join(words[:k]) for k in range(len(words) - 1, 0, -1)]
    if words:  # hyphen prefixes of the first word, longest first ("nvidia-l40s-n16" -> "nvidia-l40s", "nvidia")
        parts = words[0].split("-")
        out += ["-".join(parts[:k]) for k in range(len(parts) - 1, 0, -1)]
    return [c for c in dict.fromkeys(out) if c]


def chip_for_text(text: str) -> ChipSpec | None:
    """The catalog chip named by ``text`` ("H100 SXM", "h200_sxm", "Trainium1 (1 NeuronCore-v2)"), or None."""
    cat = catalog()
    for c in _candidates(text):
        if cat.resolve_name("chip", c):
            return cat.chip(c)
    return None


def system_for_text(text: str) -> SystemSpec | None:
    """The catalog system named by ``text`` ("trn1.32xlarge", "p5en.48xlarge"), or None."""
    cat = catalog()
    for c in _candidates(text):
        if cat.resolve_name("system", c):
            return cat.system(c)
    return None


def chip_for_row(row: GroundTruthRow) -> ChipSpec:
    """The row's accelerator as a catalog chip; NotSupported if the catalog lacks it."""
    for text in (row.accelerator, row.system):
        chip = chip_for_text(text) if text else None
        if chip is not None:
            return chip
    raise NotSupported(f"accelerator {row.accelerator!r} is not in the hardware catalog")

"""Free-text hardware names (as benchmark tables write them) -> catalog chips and systems.

Tries the whole text, then shorter word and hyphen prefixes, then single words, against the
catalog's names and aliases: "H100 SXM (H200 same)" -> h100-sxm, "h200_sxm" -> h200,
"NVIDIA H100 80GB HBM3" -> h100-sxm, "DGX B200" -> b200. A form factor written in the text but not
in the match ("H100 PCIe", "H100 NVL") is a different part: no match rather than a wrong one.
"""

from __future__ import annotations

import re

from trnsim.hardware.catalog import catalog, normalize
from trnsim.hardware.specs import ChipSpec, SystemSpec

_PAREN = re.compile(r"\(.*?\)")
_VENDORS = ("nvidia", "aws", "amazon")
_FORM_FACTORS = ("pcie", "nvl")


def candidates(text: str) -> list[str]:
    """Catalog keys to try for ``text``, most specific first."""
    words = [w for w in _PAREN.sub(" ", text).lower().replace("_", " ").split() if w]
    while words and words[0] in _VENDORS:
        words = words[1:]
    out = ["-".join(words)]
    out += ["-".join(words[:k]) for k in range(len(words) - 1, 0, -1)]
    if words:  # hyphen prefixes of the first word ("nvidia-l40s-n16" -> "nvidia-l40s")
        parts = words[0].split("-")
        out += ["-".join(parts[:k]) for k in range(len(parts) - 1, 0, -1)]
    out += words[1:]  # single words ("dgx b200" -> "b200")
    return [c for c in dict.fromkeys(out) if c]


def _form_factor_ok(text: str, matched: str, spec: ChipSpec | SystemSpec) -> bool:
    tokens = set(re.split(r"[^a-z0-9]+", text.lower()))
    names = " ".join([spec.name, *spec.aliases, matched]).lower()
    return all(ff not in tokens or ff in names for ff in _FORM_FACTORS)


def _find(kind: str, text: str):
    cat = catalog()
    for c in candidates(text):
        key = cat.resolve_name(kind, c)
        if key is not None:
            spec = cat.get(kind, key)
            return spec if kind == "system" or _form_factor_ok(text, c, spec) else None
    return None


def chip_for_text(text: str) -> ChipSpec | None:
    """The catalog chip named by ``text``, or None."""
    return _find("chip", text) if text and text.strip() else None


def node_system_for_chip(chip: ChipSpec) -> SystemSpec | None:
    """The smallest catalog system built from ``chip`` (fewest nodes, then name): the node a benchmark row
    that names only its accelerator ran on (p5.48xlarge for H100 SXM, trn2.48xlarge for Trainium2,
    gb200-nvl72 for GB200). None when no system uses the chip (then a row's fabric is unknown)."""
    cat = catalog()
    best = None
    for name in sorted(cat.names("system")):
        s = cat.system(name)
        if s.chip == chip.name and (best is None or s.nodes < best.nodes):
            best = s
    return best


def system_for_text(text: str) -> SystemSpec | None:
    """The catalog system named by ``text`` ("trn1.32xlarge", "p5en.48xlarge"), or None."""
    return _find("system", text) if text and text.strip() else None


__all__ = ["candidates", "chip_for_text", "normalize", "system_for_text"]

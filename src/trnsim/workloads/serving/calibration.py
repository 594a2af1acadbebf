"""The serving model's constants — the ONE place they live, each with its provenance.

``assumed``: physically motivated, not fitted. ``fitted on <rows>``: chosen to fit the named dev rows
(by family, never keyed by row id).
"""

from __future__ import annotations

from typing import Any

# Fixed cost of one engine iteration (scheduling, kernel/graph launch, sampling, host<->device sync).
# assumed: vLLM/TRT-LLM step overheads of a few ms are reported for small models; CUDA-graph engines ~1 ms.
ITER_OVERHEAD_GPU = 1.0e-3
# Neuron runtime: one NEFF launch per step, on-device sampling.  assumed.
ITER_OVERHEAD_NEURON = 1.0e-3

# Roofline fallback used only while trnsim.ops / trnsim.network are not importable (assumed).
FALLBACK_COMPUTE_EFF = 0.7
FALLBACK_MEMORY_EFF = 0.8
FALLBACK_OP_LATENCY = 2e-6
FALLBACK_LINK_EFF = 0.7
COLLECTIVE_BASE = 5e-6


def iteration_overhead(chip: Any, model: Any, dep: Any) -> float:
    """Fixed seconds per engine iteration for this platform."""
    if getattr(chip, "family", "gpu") == "gpu":
        return ITER_OVERHEAD_GPU
    return ITER_OVERHEAD_NEURON

# Fraction of the link rate a KV-cache transfer between disaggregated pools achieves (assumed; NIXL/
# Neuron DMA transfers of large contiguous blocks).
KV_TRANSFER_EFF = 0.7

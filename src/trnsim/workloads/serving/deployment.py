"""Deployment: how a model is served on a system — replicas, parallelism, precision, batching limits, KV cache.

Parallelism degrees here count **chips** (GPUs or Trainium/Inferentia chips). AWS documents Neuron TP in
NeuronCores: on Trn1/Inf2 a chip has 2 NeuronCore-v2, on Trn2/Trn3 a chip shows 4 logical NeuronCores
with the default LNC=2 (8 physical cores, hardware.md §2c). :func:`chips_from_cores` converts (so
``tp=64`` NeuronCores on a trn2.48xlarge is 16 chips and ``tp=32`` on a trn1.32xlarge is 16 chips). A degree
smaller than one chip (``tp=1`` NeuronCore on Inferentia2) gives a *fractional* chip: the replica gets that
share of the chip's compute, bandwidth and memory.

KV cache capacity = (HBM per chip x ``mem_fraction`` - weights per chip - ``reserved_bytes``) / KV bytes per
token per chip, in blocks of ``block_size`` tokens. Weights per chip = total parameters x weight bytes /
chips per replica (experts spread over all chips of the replica).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from trnsim.errors import TrnsimError

_WBYTES = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "mxfp8": 1, "fp4": 0.5, "mxfp4": 0.5,
           "nvfp4": 0.5, "int4": 0.5}


def dtype_bytes(dtype: str) -> float:
    try:
        return _WBYTES[dtype]
    except KeyError:
        raise TrnsimError(f"unknown precision {dtype!r}", f"use one of {', '.join(_WBYTES)}") from None


def logical_cores_per_chip(chip: Any, lnc: int | None = None) -> int:
    """NeuronCores per chip as AWS counts them for TP (LNC=2 default on NC-v3+), 1 for a GPU."""
    if getattr(chip, "family", "gpu") == "gpu":
        return 1
    cores = int(getattr(chip, "cores", 1))
    if lnc is None:
        lnc = 2 if cores >= 8 else 1  # Trn2/Trn3 default LNC=2 (hardware.md §2c); NC-v2 chips have no LNC
    return max(1, cores // lnc)


def chips_from_cores(chip: Any, cores: int, lnc: int | None = None) -> float:
    """NeuronCores (AWS convention) -> chips (may be fractional, e.g. 1 core of a 2-core Inferentia2)."""
    return cores / logical_cores_per_chip(chip, lnc)


Router = Literal["round_robin", "least_loaded", "prefix_affinity"]


@dataclass(frozen=True)
class Deployment:
    """One serving deployment (see module docstring). ``tp``/``pp``/``ep`` count chips per replica.

    ``disaggregated``: ``prefill_replicas`` replicas do prefill only, ``replicas`` do decode; the KV cache
    moves between them over the fabric. ``prefill_tp`` (default ``tp``) sizes the prefill replicas.
    ``schedule``: ``continuous`` (vLLM-style continuous batching with chunked prefill) or ``static``
    (fixed batches run prefill-then-decode to completion, as Transformers-NeuronX benchmarks do).
    """

    replicas: int = 1
    tp: float = 1
    pp: int = 1
    ep: int = 1
    dtype: str = "bf16"  # matmul precision (and weights unless weight_dtype is given)
    weight_dtype: str | None = None  # e.g. int8 weights with bf16 matmuls (Transformers-NeuronX)
    kv_dtype: str | None = None  # default: dtype (fp8 weights keep an fp8 KV cache, as TRT-LLM does)
    max_batch: int = 256  # max running sequences per replica
    max_batched_tokens: int = 8192  # token budget per iteration (chunked prefill)
    chunked_prefill: bool = True
    block_size: int = 16
    mem_fraction: float = 0.9  # share of HBM the engine may use (vLLM gpu_memory_utilization)
    reserved_bytes: float = 0.0  # per chip, for activations/runtime beyond the fraction
    kv_capacity_tokens: int | None = None  # override the memory-derived KV capacity (per replica)
    prefix_caching: bool = True
    router: Router = "round_robin"
    disaggregated: bool = False
    prefill_replicas: int = 0
    prefill_tp: float | None = None
    schedule: Literal["continuous", "static"] = "continuous"
    # KV admission: "on_demand" (vLLM: blocks allocated as sequences grow, preemption when full) or
    # "reserve" (TensorRT-LLM GUARANTEED_NO_EVICT: a request is admitted only with room for isl + osl).
    # The event engine implements on_demand; the analytic path honours both.
    kv_policy: Literal["on_demand", "reserve"] = "on_demand"
    # Prompt attention: "fused" (FlashAttention-style, scores stay on chip) or "unfused" (QK^T, softmax and
    # PV as separate graph ops, the [q, kv] scores of every head going through HBM in full, masked not
    # skipped: Transformers-NeuronX context encoding, see cost.IterationCost._unfused_attn_ops).
    prefill_attention: Literal["fused", "unfused"] = "fused"
    # Speed of the serving stack's kernels (GEMMs, attention, collectives) relative to the engine releases
    # the operator efficiencies describe (1.0). An older release of the same engine runs the same work
    # slower: e.g. ``calibration.software_speed("mlperf-v4.1")`` for mid-2024 TensorRT-LLM. Fixed
    # per-iteration host costs are not scaled.
    kernel_speed: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise TrnsimError(f"replicas must be >= 1, got {self.replicas}")
        if not self.tp > 0 or self.pp < 1 or self.ep < 1:
            raise TrnsimError(f"parallel degrees must be positive (tp={self.tp}, pp={self.pp}, ep={self.ep})")
        if self.max_batch < 1 or self.max_batched_tokens < 1:
            raise TrnsimError("max_batch and max_batched_tokens must be >= 1")
        if self.block_size < 1:
            raise TrnsimError(f"block_size must be >= 1, got {self.block_size}")
        if not 0 < self.mem_fraction <= 1:
            raise TrnsimError(f"mem_fraction must be in (0, 1], got {self.mem_fraction}")
        if not 0 < self.kernel_speed <= 10:
            raise TrnsimError(f"kernel_speed must be in (0, 10], got {self.kernel_speed}",
                              "1.0 is the reference software stack; 0.8 means kernels 25% slower")
        if self.disaggregated and self.prefill_replicas < 1:
            raise TrnsimError("a disaggregated deployment needs prefill_replicas >= 1")
        dtype_bytes(self.dtype)
        dtype_bytes(self.kv_dtype_)
        dtype_bytes(self.weight_dtype_)

    @property
    def kv_dtype_(self) -> str:
        if self.kv_dtype:
            return self.kv_dtype
        return "fp8" if self.dtype in ("fp8", "mxfp8", "fp4", "mxfp4", "nvfp4") else (
            "bf16" if self.dtype in ("int8", "int4") else self.dtype)

    @property
    def weight_dtype_(self) -> str:
        return self.weight_dtype or self.dtype

    @property
    def chips_per_replica(self) -> float:
        return self.tp * self.pp

    @property
    def total_chips(self) -> float:
        n = self.replicas * self.chips_per_replica
        if self.disaggregated:
            n += self.prefill_replicas * (self.prefill_tp or self.tp) * self.pp
        return n

    def with_(self, **kw: Any) -> "Deployment":
        return replace(self, **kw)

    def prefill_deployment(self) -> "Deployment":
        """The deployment of the prefill pool of a disaggregated deployment."""
        return replace(self, replicas=self.prefill_replicas, tp=self.prefill_tp or self.tp,
                       disaggregated=False, prefill_replicas=0, prefill_tp=None)

    def describe(self) -> str:
        s = f"{self.replicas} x (TP{_n(self.tp)}"
        if self.pp > 1:
            s += f" PP{self.pp}"
        if self.ep > 1:
            s += f" EP{self.ep}"
        s += f") {self.dtype}"
        if self.kernel_speed != 1.0:
            s += f", kernels at {self.kernel_speed:.2f}x"
        if self.disaggregated:
            s = f"prefill {self.prefill_replicas} x TP{_n(self.prefill_tp or self.tp)} + decode " + s
        return s


def _n(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class MemoryPlan:
    """Per-chip memory of one replica and the KV capacity it leaves."""

    hbm_bytes: float
    usable_bytes: float
    weight_bytes: float
    kv_bytes: float
    kv_bytes_per_token: float  # per chip
    kv_tokens: int  # per replica
    kv_blocks: int
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def weight_bytes_total(model: Any, dtype: str) -> float:
    return float(model.total_params) * dtype_bytes(dtype)


def kv_bytes_per_token(model: Any, kv_dtype: str, tp: float, pp: int = 1) -> float:
    """KV bytes one token adds on one chip of a replica (heads split over ``tp`` chips, layers over ``pp``).
    A replica smaller than a chip keeps its whole cache on its share of the chip."""
    tpi = max(1, int(round(tp)))
    try:
        b = float(model.kv_cache_bytes_per_token(kv_dtype, tp=tpi))
    except TypeError:
        b = float(model.kv_cache_bytes_per_token(kv_dtype)) / tpi
    return b / pp


def memory_plan(model: Any, chip: Any, dep: Deployment) -> MemoryPlan:
    """Per-chip memory (per chip-share when the replica is smaller than one chip)."""
    chips = dep.chips_per_replica
    share = min(1.0, chips)
    hbm = float(chip.hbm_capacity.si) * share
    usable = hbm * dep.mem_fraction - dep.reserved_bytes * share
    w = weight_bytes_total(model, dep.weight_dtype_) / max(chips, 1.0)
    kvb = kv_bytes_per_token(model, dep.kv_dtype_, dep.tp, dep.pp)
    kv = usable - w
    if dep.kv_capacity_tokens is not None:
        tokens = int(dep.kv_capacity_tokens)
    elif kv <= 0:
        raise TrnsimError(
            f"{getattr(model, 'name', 'model')} weights need {w / 2**30:.1f} GiB per chip but only "
            f"{usable / 2**30:.1f} GiB is usable on {getattr(chip, 'name', 'the chip')} with {_n(chips)} chip(s) "
            f"per replica (TP{_n(dep.tp)} x PP{dep.pp} in chips)",
            "raise --tp/--pp or use a smaller precision",
        )
    else:
        tokens = int(kv / kvb) if kvb > 0 else 1 << 40
    blocks = max(1, tokens // dep.block_size)
    return MemoryPlan(hbm, usable, w, max(kv, 0.0), kvb, blocks * dep.block_size, blocks)

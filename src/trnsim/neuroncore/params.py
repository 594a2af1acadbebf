"""Constants of one NeuronCore, read once from its catalog spec into plain floats for the hot loop.

Every number here comes from :class:`~trnsim.hardware.specs.NeuronCoreSpec` (``costs`` in engine
cycles, ``ratios``, ``latencies``, engine clocks, DMA, SBUF/PSUM geometry) or from the chip spec
(HBM bandwidth). Nothing is hard-coded in the timing model itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trnsim.errors import TrnsimError
from trnsim.hardware.specs import NeuronCoreSpec

ENGINES = ("tensor", "vector", "scalar", "gpsimd", "sync")
_TARGET_CORE = {"trn1": "trn1", "inf2": "trn1", "gen2": "neuroncore-v2", "trn2": "trn2",
                "gen3": "neuroncore-v3", "trn3": "trn3", "gen4": "neuroncore-v4"}
_VERSION_CORE = {2: "neuroncore-v2", 3: "neuroncore-v3", 4: "neuroncore-v4"}


@dataclass(frozen=True)
class CoreParams:
    """Plain-float view of a core spec (seconds, bytes/s, cycles) for the simulator."""

    name: str
    version: int
    clock: dict[str, float]            # Hz per engine
    costs: dict[str, float]            # cycles
    ratios: dict[str, float]
    latencies: dict[str, float]        # seconds
    sbuf_partitions: int
    sbuf_bytes_per_partition: float
    psum_banks: int
    psum_bank_bytes: float
    dma_engines: int
    dma_queues_per_engine: int
    dma_partitions_per_engine: int
    dma_engine_bw: float               # effective bytes/s per DMA engine
    dma_fixed_cost: float              # s, issue-to-start latency of one transfer
    dma_hwdge_issue: float             # s, engine time to issue a hardware-DGE DMA (0 if none)
    hbm_bandwidth: float               # bytes/s available to this core (inf if unknown)
    tensor_rows: int
    tensor_cols: int
    peak_flops: dict[str, float] = field(default_factory=dict)

    def cycles(self, engine: str, n: float) -> float:
        """``n`` cycles of ``engine`` in seconds."""
        return n / self.clock[engine]

    def ratio(self, key: str, default: float = 1.0) -> float:
        return self.ratios.get(key, default)

    def cost(self, key: str) -> float:
        try:
            return self.costs[key]
        except KeyError:
            raise TrnsimError(f"core {self.name}: cost constant {key!r} missing from the catalog",
                              "add it under [core.costs] of the core's TOML file") from None


def resolve_core(trace_target: str | None, nc_version: int | None,
                 core_spec: NeuronCoreSpec | str | None) -> NeuronCoreSpec:
    """The core spec given, or the one of the trace's target (``trn1``/``trn2``/``trn3``)."""
    from trnsim.hardware import load_core

    if isinstance(core_spec, NeuronCoreSpec):
        return core_spec
    if isinstance(core_spec, str):
        return load_core(core_spec)
    key = _TARGET_CORE.get((trace_target or "").lower())
    if key is None and nc_version in _VERSION_CORE:
        key = _VERSION_CORE[nc_version]
    if key is None:
        raise TrnsimError(f"unknown NKI target {trace_target!r}", "use trn1, trn2 or trn3")
    try:
        return load_core(key)
    except TrnsimError:
        if nc_version in _VERSION_CORE:
            return load_core(_VERSION_CORE[nc_version])
        raise


def chip_hbm_bandwidth(trace_target: str | None) -> float:
    """HBM bandwidth of the trace target's chip in bytes/s, or inf if the chip is not in the catalog."""
    from trnsim.hardware import load_chip

    try:
        return load_chip(trace_target or "").hbm_bandwidth.si
    except Exception:
        return float("inf")


def params_from_spec(core: NeuronCoreSpec, hbm_bandwidth: float = float("inf")) -> CoreParams:
    """Read every constant the model needs from ``core``."""
    dma = core.dma
    peaks = {d: core.tensor_peak_flops(d) for d in set(core.tensor.dtype_rate) | {"bf16"}}
    return CoreParams(
        name=core.name,
        version=core.version,
        clock={e: core.engines[e].clock.si for e in ENGINES},
        costs={k: q.si for k, q in core.costs.items()},
        ratios={k: q.si for k, q in core.ratios.items()},
        latencies={k: q.si for k, q in core.latencies.items()},
        sbuf_partitions=core.sbuf.partitions,
        sbuf_bytes_per_partition=core.sbuf.bytes_per_partition.si,
        psum_banks=core.psum.banks,
        psum_bank_bytes=core.psum.bank_bytes_per_partition.si,
        dma_engines=dma.engines,
        dma_queues_per_engine=dma.queues_per_engine,
        dma_partitions_per_engine=dma.partitions_per_engine,
        dma_engine_bw=dma.engine_bandwidth_effective.si,
        dma_fixed_cost=dma.fixed_cost.si,
        dma_hwdge_issue=dma.hwdge_issue_cost.si if dma.hwdge_issue_cost is not None else 0.0,
        hbm_bandwidth=hbm_bandwidth,
        tensor_rows=core.tensor.rows,
        tensor_cols=core.tensor.cols,
        peak_flops=peaks,
    )

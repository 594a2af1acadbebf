"""Typed, frozen, validated hardware specs: NeuronCore, chip (Trainium/Inferentia/GPU), system.

Every number is a :class:`~trnsim.hardware.quantity.Quantity` (value, unit, provenance, source).
Hot paths read ``.si`` (SI float). Specs reference each other by name; the catalog resolves the
references and attaches the resolved objects (``ChipSpec.core_spec``, ``SystemSpec.chip_spec``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trnsim.hardware.quantity import Q, Quantity

DTYPES = ("fp32", "tf32", "bf16", "fp16", "fp8", "mxfp8", "mxfp4", "fp4", "nvfp4", "int8")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Named(_Frozen):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    display_name: str = ""
    aliases: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.display_name or self.name


# ----------------------------------------------------------------------------- NeuronCore
class EngineSpec(_Frozen):
    """One compute engine of a NeuronCore (Tensor, Vector, Scalar, GpSimd) or the Sync sequencer."""

    clock: Q("frequency")
    lanes: int = Field(default=128, gt=0, description="partitions processed in parallel")
    elements_per_cycle: dict[str, int] = Field(
        default_factory=dict,
        description="input elements per cycle per partition group by dtype class, where published",
    )


class SbufSpec(_Frozen):
    partitions: int = Field(gt=0, le=1024)
    bytes_per_partition: Q("bytes")

    @property
    def total_bytes(self) -> float:
        return self.partitions * self.bytes_per_partition.si


class PsumSpec(_Frozen):
    partitions: int = Field(gt=0, le=1024)
    banks: int = Field(gt=0)
    bank_bytes_per_partition: Q("bytes")

    @property
    def total_bytes(self) -> float:
        return self.partitions * self.banks * self.bank_bytes_per_partition.si


class DmaSpec(_Frozen):
    engines: int = Field(gt=0)
    queues_per_engine: int = Field(gt=0)
    partitions_per_engine: int = Field(gt=0)
    engine_bandwidth: Q("bandwidth")
    engine_bandwidth_effective: Q("bandwidth")
    fixed_cost: Q("time")
    hwdge_issue_cost: Q("time") | None = None


class TensorEngineSpec(_Frozen):
    rows: int = Field(gt=0, description="systolic array rows (contraction/partition dim)")
    cols: int = Field(gt=0, description="systolic array columns (stationary free dim)")
    moving_fmax: int = Field(gt=0, description="max moving free size per matmul")
    stationary_fmax: int = Field(gt=0)
    dtype_rate: dict[str, float] = Field(
        default_factory=dict,
        description="matmul throughput relative to bf16 per dtype (fp32: 0.25, fp8 double_row: 2, mx: 4)",
    )


class NeuronCoreSpec(_Named):
    """One NeuronCore: engines, on-chip memories, DMA, and the published cost constants."""

    version: int = Field(ge=1, le=9, description="NeuronCore version: 2 (Trn1/Inf2), 3 (Trn2), 4 (Trn3)")
    engines: dict[str, EngineSpec]
    tensor: TensorEngineSpec
    sbuf: SbufSpec
    psum: PsumSpec
    dma: DmaSpec
    costs: dict[str, Q("cycles", minimum=0.0, strict=False)] = Field(default_factory=dict)
    ratios: dict[str, Q("ratio")] = Field(default_factory=dict)
    latencies: dict[str, Q("time", minimum=0.0, strict=False)] = Field(default_factory=dict)

    REQUIRED_ENGINES: tuple[str, ...] = ("tensor", "vector", "scalar", "gpsimd", "sync")

    @field_validator("engines")
    @classmethod
    def _engines_present(cls, v: dict[str, EngineSpec]) -> dict[str, EngineSpec]:
        missing = [e for e in ("tensor", "vector", "scalar", "gpsimd", "sync") if e not in v]
        if missing:
            raise ValueError(f"missing engines {missing}; every NeuronCore needs tensor, vector, scalar, gpsimd, sync")
        return v

    def cost(self, key: str) -> float:
        """A cost constant in engine cycles (e.g. ``min_ii``)."""
        return self.costs[key].si

    def tensor_peak_flops(self, dtype: str = "bf16") -> float:
        """TensorE peak FLOP/s of this core: rows x cols x 2 x clock x dtype rate."""
        rate = self.tensor.dtype_rate.get(dtype, 1.0)
        return self.tensor.rows * self.tensor.cols * 2 * self.engines["tensor"].clock.si * rate


# ----------------------------------------------------------------------------- chips
class ChipSpec(_Named):
    """An accelerator chip: AWS Trainium/Inferentia or an Nvidia GPU."""

    vendor: Literal["aws", "nvidia"]
    family: Literal["trainium", "inferentia", "gpu"]
    generation: str
    status: Literal["shipping", "announced", "projected"] = "shipping"
    cores: int = Field(gt=0, description="NeuronCores per chip, or SMs per GPU")
    core: str | None = Field(default=None, description="NeuronCore spec name (AWS chips)")
    peak_flops: dict[str, Q("flops")]
    sparse_flops: dict[str, Q("flops")] = Field(default_factory=dict)
    hbm_capacity: Q("bytes")
    hbm_bandwidth: Q("bandwidth")
    hbm_stacks: int | None = Field(default=None, gt=0)
    sram: Q("bytes") | None = None
    dma_bandwidth: Q("bandwidth") | None = None
    scale_up_bandwidth: Q("bandwidth") = Field(description="chip-to-chip bandwidth per chip, one direction")
    scale_up_technology: str = ""
    tdp: Q("power") | None = None
    idle_power: Q("power") | None = None
    price: Q("price") | None = None
    process: str | None = None
    core_spec: NeuronCoreSpec | None = Field(default=None, exclude=True)

    @field_validator("peak_flops", "sparse_flops")
    @classmethod
    def _known_dtypes(cls, v: dict[str, Quantity]) -> dict[str, Quantity]:
        bad = [k for k in v if k not in DTYPES]
        if bad:
            raise ValueError(f"unknown dtype {bad[0]!r}; use one of {', '.join(DTYPES)}")
        return v

    @model_validator(mode="after")
    def _aws_has_core(self) -> "ChipSpec":
        if self.vendor == "aws" and not self.core:
            raise ValueError("AWS chips need 'core' naming their NeuronCore spec (e.g. 'neuroncore-v4')")
        if "bf16" not in self.peak_flops:
            raise ValueError("peak_flops needs at least 'bf16'")
        return self

    def flops(self, dtype: str) -> float:
        """Dense peak FLOP/s for ``dtype``, falling back to the nearest slower format that exists."""
        for d in _FALLBACK.get(dtype, (dtype,)):
            if d in self.peak_flops:
                return self.peak_flops[d].si
        return self.peak_flops["bf16"].si

    def best_dtype(self, prefer: tuple[str, ...] = ("mxfp8", "fp8", "bf16")) -> str:
        """First dtype of ``prefer`` this chip has a peak for; by default its best dense low-precision
        format (what ``precision = "auto"`` means in compare workloads and sweeps)."""
        return next((d for d in prefer if d in self.peak_flops), "bf16")


_FALLBACK: dict[str, tuple[str, ...]] = {
    "fp4": ("fp4", "nvfp4", "mxfp4", "fp8", "bf16"),
    "nvfp4": ("nvfp4", "fp4", "fp8", "bf16"),
    "mxfp4": ("mxfp4", "mxfp8", "fp8", "bf16"),
    "mxfp8": ("mxfp8", "fp8", "bf16"),
    "fp8": ("fp8", "bf16"),
    "int8": ("int8", "fp8", "bf16"),
    "fp16": ("fp16", "bf16"),
    "tf32": ("tf32", "bf16"),
    "fp32": ("fp32",),
    "bf16": ("bf16",),
}


# ----------------------------------------------------------------------------- systems
Topology = Literal["none", "ring", "torus2d", "torus3d", "switch", "switch2", "nvswitch"]


class ScaleUpSpec(_Frozen):
    """The chip-to-chip domain (NeuronLink, NVLink)."""

    technology: str
    domain_size: int = Field(gt=0, description="chips that reach each other without the scale-out fabric")
    topology: Topology
    dims: tuple[int, ...] = ()
    bandwidth_per_chip: Q("bandwidth") = Field(description="per chip, one direction, aggregate over links")
    latency: Q("time")
    group_size: int | None = Field(default=None, gt=0, description="chips per level-1 switch (switch2)")
    in_network_reduction: bool = False

    @model_validator(mode="after")
    def _dims_match(self) -> "ScaleUpSpec":
        if self.dims:
            n = 1
            for d in self.dims:
                n *= d
            if n != self.domain_size:
                raise ValueError(f"dims {list(self.dims)} multiply to {n}, not domain_size {self.domain_size}")
        if self.topology in ("torus2d", "torus3d") and len(self.dims) != int(self.topology[-2]):
            raise ValueError(f"topology {self.topology} needs dims with {self.topology[-2]} entries")
        return self


class ScaleOutSpec(_Frozen):
    """The network between scale-up domains (EFA, InfiniBand)."""

    technology: str
    bandwidth_per_node: Q("bandwidth")
    latency: Q("time")


class HostSpec(_Frozen):
    cpu: str = ""
    vcpus: int = Field(default=0, ge=0)
    memory: Q("bytes") | None = None
    power: Q("power") | None = None


class PriceSpec(_Frozen):
    on_demand: Q("price") | None = None
    reserved: Q("price") | None = None
    capacity_block: Q("price") | None = None


class SystemTotals(_Frozen):
    """Published system totals, checked against chips x per-chip values."""

    peak_flops: dict[str, Q("flops")] = Field(default_factory=dict)
    hbm_capacity: Q("bytes") | None = None
    hbm_bandwidth: Q("bandwidth") | None = None


class SystemSpec(_Named):
    """A deployable system: an instance, a server, an UltraServer or a rack."""

    vendor: Literal["aws", "nvidia"]
    status: Literal["shipping", "announced", "projected"] = "shipping"
    chip: str
    num_chips: int = Field(gt=0)
    nodes: int = Field(default=1, gt=0, description="servers/instances in the system")
    scale_up: ScaleUpSpec
    scale_out: ScaleOutSpec | None = None
    host: HostSpec = Field(default_factory=HostSpec)
    price: PriceSpec = Field(default_factory=PriceSpec)
    totals: SystemTotals = Field(default_factory=SystemTotals)
    tolerance: float = Field(default=0.02, ge=0, le=1, description="allowed relative gap of totals vs chips x per-chip")
    total_notes: dict[str, str] = Field(default_factory=dict, description="why a total differs from chips x per-chip")
    chip_spec: ChipSpec | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _domain_fits(self) -> "SystemSpec":
        if self.scale_up.domain_size > self.num_chips and self.status != "projected":
            raise ValueError(
                f"scale_up.domain_size {self.scale_up.domain_size} exceeds num_chips {self.num_chips}"
            )
        if self.num_chips % self.nodes:
            raise ValueError(f"num_chips {self.num_chips} is not a multiple of nodes {self.nodes}")
        return self

    @property
    def chips_per_node(self) -> int:
        return self.num_chips // self.nodes

    @property
    def chip_(self) -> ChipSpec:
        """The resolved chip (set by the catalog)."""
        assert self.chip_spec is not None, "system not resolved through the catalog"
        return self.chip_spec

    def total_flops(self, dtype: str) -> float:
        return self.num_chips * self.chip_.flops(dtype)

    def total_hbm_capacity(self) -> float:
        return self.num_chips * self.chip_.hbm_capacity.si

    def total_hbm_bandwidth(self) -> float:
        return self.num_chips * self.chip_.hbm_bandwidth.si

    def price_per_hour(self, kind: str = "on_demand") -> float | None:
        """$/hour of the whole system for ``kind`` (on_demand, reserved, capacity_block), if known."""
        q = getattr(self.price, kind)
        return None if q is None else q.si

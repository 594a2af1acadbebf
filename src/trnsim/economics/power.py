"""Power of chips and systems as a function of utilisation (idle + dynamic), with facility overhead (PUE).

P_chip = TDP x (idle + (1 - idle) x (c x u_compute + m x u_memory + l x u_link)), with c + m + l = 1,
so a chip at full compute, memory and link utilisation draws its TDP. System power adds the host
(from the catalog, or a fraction of accelerator TDP) and multiplies by PUE.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict

from trnsim.errors import TrnsimError
from trnsim.hardware.quantity import Q
from trnsim.hardware.specs import ChipSpec, SystemSpec


class _PowerParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    idle_fraction: Q("ratio", minimum=0.0, strict=False)
    compute_share: Q("ratio", minimum=0.0, strict=False)
    memory_share: Q("ratio", minimum=0.0, strict=False)
    link_share: Q("ratio", minimum=0.0, strict=False)
    host_fraction: Q("ratio", minimum=0.0, strict=False)
    pue: Q("ratio")


@dataclass(frozen=True)
class Utilization:
    """Average utilisation of a chip's compute engines, HBM bandwidth and scale-up links (0..1)."""

    compute: float = 0.0
    memory: float = 0.0
    link: float = 0.0

    def clipped(self) -> "Utilization":
        return Utilization(*(min(1.0, max(0.0, x)) for x in (self.compute, self.memory, self.link)))


# link utilisation of a tensor-parallel serving replica (all-reduces in every layer): assumed, not measured
SERVING_TP_LINK_UTILIZATION = 0.2


def serving_utilization(model: Any, chip: ChipSpec, r: Any, tp: float, dtype: str, kv_dtype: str) -> Utilization:
    """Average engine/HBM/link utilisation at an analytic serving operating point ``r`` (an AnalyticResult of
    ``tp``-chip replicas in ``dtype``, KV cache in ``kv_dtype``): model FLOPs of the output rate, and per
    iteration the weights plus the batch's KV cache (at its mean length isl + osl/2) read from HBM."""
    from trnsim.workloads.serving.deployment import dtype_bytes

    flops = 2.0 * model.active_params * r.output_tokens_per_s / r.replicas / max(tp, 1e-9)
    u_c = flops / chip.flops(dtype)
    kv = model.kv_cache_bytes_per_token(kv_dtype)
    per_iter = model.total_params * dtype_bytes(dtype) / tp + r.batch * (r.isl + r.osl / 2) * kv / tp
    u_m = per_iter / r.iteration_s / chip.hbm_bandwidth.si
    return Utilization(compute=min(1.0, u_c), memory=min(1.0, u_m),
                       link=SERVING_TP_LINK_UTILIZATION if tp > 1 else 0.0)


@dataclass(frozen=True)
class PowerModel:
    idle_fraction: float
    compute_share: float
    memory_share: float
    link_share: float
    host_fraction: float
    pue: float

    @classmethod
    def default(cls) -> "PowerModel":
        return _default()

    def with_(self, **kw: float) -> "PowerModel":
        """A copy with some parameters overridden (e.g. ``pue=1.3``)."""
        return replace(self, **kw)


@lru_cache(maxsize=1)
def _default() -> PowerModel:
    text = (resources.files("trnsim.economics") / "power.toml").read_text(encoding="utf-8")
    p = _PowerParams.model_validate(tomllib.loads(text)["power"])
    shares = p.compute_share.si + p.memory_share.si + p.link_share.si
    if abs(shares - 1.0) > 1e-6:
        raise TrnsimError(f"economics/power.toml: compute+memory+link shares sum to {shares:g}, not 1")
    return PowerModel(p.idle_fraction.si, p.compute_share.si, p.memory_share.si, p.link_share.si,
                      p.host_fraction.si, p.pue.si)


def chip_tdp(chip: ChipSpec, tdp_w: float | None = None) -> float:
    """The chip's TDP in W (``tdp_w`` overrides the catalog)."""
    if tdp_w is not None:
        if tdp_w <= 0:
            raise TrnsimError(f"TDP must be > 0 W (got {tdp_w:g})")
        return tdp_w
    if chip.tdp is None:
        raise TrnsimError(f"chip {chip.name!r} has no TDP in the catalog", "add `tdp` to its chip file or pass a TDP override")
    return chip.tdp.si


def chip_power(chip: ChipSpec, util: Utilization, model: PowerModel | None = None, tdp_w: float | None = None) -> float:
    """Average power of one chip in W at utilisation ``util``."""
    m = model or PowerModel.default()
    u = util.clipped()
    tdp = chip_tdp(chip, tdp_w)
    dyn = m.compute_share * u.compute + m.memory_share * u.memory + m.link_share * u.link
    return tdp * (m.idle_fraction + (1.0 - m.idle_fraction) * dyn)


@dataclass(frozen=True)
class PowerBreakdown:
    """Average power in W: accelerators, host share, and the facility total (x PUE)."""

    chips_w: float
    host_w: float
    it_w: float
    facility_w: float
    chips: int

    @property
    def per_chip_facility_w(self) -> float:
        return self.facility_w / self.chips


def system_power(system: SystemSpec, util: Utilization, chips: int | None = None,
                 model: PowerModel | None = None, tdp_w: float | None = None) -> PowerBreakdown:
    """Power of ``chips`` accelerators of ``system`` (default: all of them) with their share of hosts, x PUE."""
    m = model or PowerModel.default()
    n = chips or system.num_chips
    chip = system.chip_
    chips_w = n * chip_power(chip, util, m, tdp_w)
    if system.host.power is not None:
        host_w = system.host.power.si * n / system.chips_per_node
    else:
        host_w = n * m.host_fraction * chip_tdp(chip, tdp_w)
    it = chips_w + host_w
    return PowerBreakdown(chips_w, host_w, it, it * m.pue, n)

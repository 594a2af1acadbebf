"""Side-by-side metrics of systems or chips, with ratios against a baseline (the numbers behind launch claims)."""

from __future__ import annotations

from dataclasses import dataclass

from trnsim.hardware.specs import ChipSpec, SystemSpec


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    scale: float  # divide SI value by this for display
    higher_is_better: bool = True


# dense peak compute per format: (key, label); a chip shows TFLOPS, a system PFLOPS
_FLOPS = (
    ("flops_low_precision", "dense low-precision compute (best of MXFP8/FP8)"),
    ("flops_mxfp8", "dense MXFP8"),
    ("flops_fp8", "dense FP8"),
    ("flops_bf16", "dense BF16"),
    ("flops_fp32", "dense FP32"),
)


def _flops_metrics(unit: str, scale: float) -> tuple[Metric, ...]:
    return tuple(Metric(key, label, unit, scale) for key, label in _FLOPS)


SYSTEM_METRICS = (
    Metric("chips", "chips", "", 1),
    *_flops_metrics("PFLOPS", 1e15),
    Metric("hbm_capacity", "HBM capacity", "TiB", 2**40),
    Metric("hbm_bandwidth", "HBM bandwidth", "TB/s", 1e12),
    Metric("scale_up_domain", "scale-up domain (chips)", "", 1),
    Metric("scale_up_bw_per_chip", "scale-up bandwidth per chip", "GB/s", 1e9),
    Metric("scale_out_bw", "scale-out bandwidth (whole system)", "Gbps", 1e9 / 8),
    Metric("price_on_demand", "on-demand price", "$/h", 1, higher_is_better=False),
)

CHIP_METRICS = (
    *_flops_metrics("TFLOPS", 1e12),
    Metric("hbm_capacity", "HBM capacity", "GiB", 2**30),
    Metric("hbm_bandwidth", "HBM bandwidth", "TB/s", 1e12),
    Metric("scale_up_bw", "scale-up bandwidth", "GB/s", 1e9),
    Metric("tdp", "TDP", "W", 1, higher_is_better=False),
)


def chip_values(chip: ChipSpec) -> dict[str, tuple[float | None, str]]:
    """metric key -> (SI value or None, annotation such as the dtype used)."""
    pf = chip.peak_flops
    lp_dtype = chip.best_dtype()
    return {
        "flops_low_precision": (pf[lp_dtype].si, lp_dtype),
        "flops_mxfp8": (pf["mxfp8"].si if "mxfp8" in pf else None, ""),
        "flops_fp8": (pf["fp8"].si if "fp8" in pf else None, ""),
        "flops_bf16": (pf["bf16"].si, ""),
        "flops_fp32": (pf["fp32"].si if "fp32" in pf else None, ""),
        "hbm_capacity": (chip.hbm_capacity.si, ""),
        "hbm_bandwidth": (chip.hbm_bandwidth.si, ""),
        "scale_up_bw": (chip.scale_up_bandwidth.si, chip.scale_up_technology),
        "tdp": (chip.tdp.si if chip.tdp else None, chip.tdp.kind if chip.tdp else ""),
    }


def system_values(system: SystemSpec) -> dict[str, tuple[float | None, str]]:
    """metric key -> (SI value or None, annotation) for a whole system (chips x per-chip)."""
    n = system.num_chips
    c = chip_values(system.chip_)
    out: dict[str, tuple[float | None, str]] = {"chips": (float(n), system.chip_.title)}
    for key in (*(k for k, _ in _FLOPS), "hbm_capacity", "hbm_bandwidth"):
        v, note = c[key]
        out[key] = (None if v is None else v * n, note)
    out["scale_up_domain"] = (float(system.scale_up.domain_size), system.scale_up.topology)
    out["scale_up_bw_per_chip"] = (system.scale_up.bandwidth_per_chip.si, system.scale_up.technology)
    so = system.scale_out
    out["scale_out_bw"] = ((so.bandwidth_per_node.si * system.nodes) if so else None, so.technology if so else "")
    price = system.price.on_demand
    out["price_on_demand"] = (price.si if price else None, price.kind if price else "not published")
    return out


def ratios(values: list[dict[str, tuple[float | None, str]]]) -> list[dict[str, float | None]]:
    """Each column's value divided by the first column's (None where either is missing)."""
    base = values[0]
    out = []
    for col in values:
        r: dict[str, float | None] = {}
        for k, (v, _) in col.items():
            b = base[k][0]
            r[k] = (v / b) if (v is not None and b) else None
        out.append(r)
    return out

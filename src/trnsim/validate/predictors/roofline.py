"""Catalog-only roofline bounds (rank 0): what the datasheet alone says. Better models rank higher.

These are bounds, not predictions of achieved performance: a GEMM at the chip's dense peak and
HBM bandwidth, a collective at the scale-up link bandwidth with no latency. Their errors show how
far measured results sit from the datasheet.
"""

from __future__ import annotations

from trnsim.errors import TrnsimError
from trnsim.network.collectives import bus_factor, normalize_kind, parse_size
from trnsim.validate.registry import NotSupported, Prediction, register
from trnsim.validate.resolve import chip_for_row
from trnsim.validate.rows import GroundTruthRow

_DTYPES = {"bf16": "bf16", "bfloat16": "bf16", "fp16": "fp16", "float16": "fp16", "fp8": "fp8",
           "fp8 e4m3fn": "fp8", "fp8-e4m3": "fp8", "fp32": "fp32", "tf32": "tf32"}
_BYTES = {"bf16": 2, "fp16": 2, "fp8": 1, "fp32": 4, "tf32": 4}


def _dtype(row: GroundTruthRow) -> str:
    raw = (row.cfg("dtype") or "bf16").strip().lower()
    d = _DTYPES.get(raw) or _DTYPES.get(raw.split()[0])
    if d is None:
        raise NotSupported(f"dtype {raw!r} not understood")
    return d


def _to_unit(seconds: float, unit: str) -> float:
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
    if unit not in scale:
        raise NotSupported(f"unit {unit!r} not handled")
    return seconds * scale[unit]


@register("gemm_microbench", name="gemm-roofline", rank=0)
def gemm_roofline(row: GroundTruthRow) -> Prediction:
    chip = chip_for_row(row)
    dtype = _dtype(row)
    peak = chip.flops(dtype)
    if row.metric == "max_achievable_TFLOPS":
        return Prediction(peak / 1e12, "roofline (dense peak)", f"{chip.name} {dtype} peak")
    if row.metric != "latency":
        raise NotSupported(f"metric {row.metric!r}")
    m, n, k = (row.cfg_int(x) or row.cfg_int(x.lower()) for x in ("M", "N", "K"))
    if not (m and n and k):
        raise NotSupported("config lacks M, N, K")
    flops = 2.0 * m * n * k
    nbytes = _BYTES[dtype] * (m * k + k * n + m * n)
    t = max(flops / peak, nbytes / chip.hbm_bandwidth.si)
    return Prediction(_to_unit(t, row.unit), "roofline (peak FLOPs, HBM bandwidth)", f"{chip.name} {dtype}")


# the collectives with a bus-bandwidth factor below 1 per byte (broadcast, reduce, send-recv are not bounded here)
_BOUNDED = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all")


def _size_bytes(row: GroundTruthRow) -> float:
    size = row.cfg("size_bytes") or row.cfg("size")
    try:
        return parse_size(size or "")
    except TrnsimError:
        raise NotSupported("config lacks size_bytes/size") from None


def _link_roofline(row: GroundTruthRow) -> Prediction:
    chip = chip_for_row(row)
    bw = chip.scale_up_bandwidth.si
    if row.metric in ("busbw", "bandwidth") and row.unit == "GB/s":
        return Prediction(bw / 1e9, "roofline (scale-up link bandwidth per chip)", chip.name)
    if row.metric in ("latency", "time") and row.unit in ("us", "ms", "s"):
        op = (row.cfg("op") or "").lower()
        n = row.cfg_int("ranks") or row.num_accelerators
        try:
            kind = normalize_kind(op)
        except TrnsimError:
            kind = ""
        if kind not in _BOUNDED or not n or n < 2:
            raise NotSupported(f"op {op!r} / ranks not understood")
        t = _size_bytes(row) * bus_factor(kind, n) / bw
        return Prediction(_to_unit(t, row.unit), "roofline (bytes / link bandwidth, no latency)", chip.name)
    raise NotSupported(f"metric {row.metric!r} in {row.unit!r}")


register("gpu_collective", name="link-roofline", rank=0)(_link_roofline)
register("neuron_collective", name="link-roofline", rank=0)(_link_roofline)

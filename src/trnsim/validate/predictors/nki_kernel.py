"""Predictor for ``nki_kernel`` rows through the NeuronCore timing model (:mod:`trnsim.neuroncore`).

* NKI matmul tutorial ladder (NKI-001..008): trnsim's own implementation of the four schedules
  (:mod:`trnsim.neuroncore.kernels.matmul_ladder`) run in timing-only mode and simulated;
  ``latency`` rows get the kernel time, ``HFU`` rows the TensorE FLOPs over the core's peak.
* DMA characterization rows: ``per_engine_bandwidth`` simulates one large contiguous HBM->SBUF
  transfer and reports bytes per engine over its data time; ``cross_engine_DMA_setup_latency``
  simulates a tiny transfer and reports its issue-to-start latency. Both read back catalog inputs
  (the model's constants come from the same vendor page), which the notes say.
"""

from __future__ import annotations

import re
from functools import lru_cache

from trnsim.validate.registry import NotSupported, Prediction, register
from trnsim.validate.rows import GroundTruthRow

_VARIANTS = (("fully_optimized", "optimized"), ("opt3", "optimized"), ("block_free", "block_free"),
             ("opt2", "block_free"), ("hoist", "hoisted"), ("opt1", "hoisted"), ("tiled", "tiled"))
_TARGETS = (("trainium3", "trn3"), ("trn3", "trn3"), ("neuroncore-v4", "trn3"), ("trainium2", "trn2"),
            ("trn2", "trn2"), ("neuroncore-v3", "trn2"), ("trainium1", "trn1"), ("trn1", "trn1"),
            ("neuroncore-v2", "trn1"), ("inf2", "trn1"))
_UNIT = {"ms": 1e3, "us": 1e6, "s": 1.0, "ns": 1e9}


def _target(row: GroundTruthRow) -> str:
    text = f"{row.system} {row.accelerator} {row.cfg('instance', '')}".lower()
    for key, t in _TARGETS:
        if key in text:
            return t
    raise NotSupported(f"no NeuronCore generation in {row.system!r} / {row.accelerator!r}")


def _schedule(row: GroundTruthRow) -> str:
    v = (row.cfg("variant") or "").lower().replace(" ", "_")
    for key, name in _VARIANTS:
        if key in v:
            return name
    raise NotSupported(f"unknown matmul schedule {row.cfg('variant')!r}")


@lru_cache(maxsize=16)
def ladder_profile(schedule: str, m: int, k: int, n: int, dtype: str, target: str):
    """KernelProfile of one ladder schedule on ``[m, k] @ [k, n]`` (timing-only)."""
    from trnsim.neuroncore import simulate
    from trnsim.neuroncore.kernels.matmul_ladder import SCHEDULES
    from trnsim.nki import run_kernel, shape_only

    run = run_kernel(SCHEDULES[schedule], shape_only((k, m), dtype), shape_only((k, n), dtype),
                     target=target, timing_only=True)
    return simulate(run.trace)


def _dtype(name: str) -> str:
    return {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32", "fp8": "float8_e4m3"}.get(name, name)


def _matmul(row: GroundTruthRow) -> Prediction:
    m, k, n = row.cfg_int("M"), row.cfg_int("K"), row.cfg_int("N")
    if not (m and k and n):
        raise NotSupported("matmul row without M, K, N in its config")
    target, sched = _target(row), _schedule(row)
    dtype = _dtype(row.cfg("dtype", "bf16") or "bf16")
    try:
        prof = ladder_profile(sched, m, k, n, dtype, target)
    except NotSupported:
        raise
    except Exception as e:  # a shape the schedule does not support, or the NKI layer missing
        raise NotSupported(f"cannot run schedule {sched} on [{m},{k}]@[{k},{n}]: {e}") from None
    metric = row.metric.lower()
    note = (f"trnsim schedule '{sched}' ({prof.instructions} instructions) simulated on {prof.core}; "
            f"TensorE {prof.busy_pct['tensor']:.1f}% busy, DMA {prof.dma.achieved_bandwidth / 1e9:.0f} GB/s")
    if metric in ("latency", "time", "duration"):
        if row.unit not in _UNIT:
            raise NotSupported(f"latency unit {row.unit!r} not handled")
        return Prediction(prof.total_time * _UNIT[row.unit], "neuroncore timing model", note)
    if metric in ("hfu", "mfu"):
        val = prof.hfu if metric == "hfu" else prof.mfu
        return Prediction(100.0 * val if row.unit == "%" else val, "neuroncore timing model", note)
    raise NotSupported(f"metric {row.metric!r} not predicted for NKI matmul rows")


def _dma_probe(target: str, shape: tuple[int, int]):
    """Profile of one HBM->SBUF load of a contiguous bf16 ``shape`` tensor."""
    from trnsim.neuroncore import simulate
    from trnsim.nki import isa as nisa
    from trnsim.nki import language as nl
    from trnsim.nki import run_kernel, shape_only

    def probe(x):
        t = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=t, src=x)
        out = nl.ndarray((1, 1), dtype=x.dtype, buffer=nl.shared_hbm)
        return out

    run = run_kernel(probe, shape_only(shape, "bfloat16"), target=target, timing_only=True)
    return simulate(run.trace)


def _dma(row: GroundTruthRow) -> Prediction:
    metric = row.metric.lower()
    try:
        target = _target(row)
    except NotSupported:
        if "trainium" not in row.accelerator.lower():
            raise
        target = "trn2"  # generation not stated: the fixed cost is the same for every generation
    from trnsim.neuroncore import core_params
    from trnsim.nki.trace import KernelTrace

    p = core_params(KernelTrace(target=target, nc_version=0))
    if metric == "per_engine_bandwidth":
        prof = _dma_probe(target, (128, 8192))
        ev = next(e for e in prof.events if e.track.startswith("dma"))
        per_engine = prof.dma.bytes / p.dma_engines
        bw = per_engine / (ev.end - ev.start)  # bytes/s during the data phase
        if row.unit not in ("B/ns", "GB/s"):
            raise NotSupported(f"bandwidth unit {row.unit!r} not handled")
        return Prediction(bw / 1e9, "neuroncore DMA model",
                          "one contiguous [128, 8192] bf16 HBM->SBUF load (16 KiB per partition); "
                          "reads back dma.engine_bandwidth_effective of the catalog (same vendor table)")
    if "setup_latency" in metric or "fixed" in metric:
        prof = _dma_probe(target, (128, 2))
        ev = next(e for e in prof.events if e.track.startswith("dma"))
        scale = _UNIT.get(row.unit)
        if scale is None:
            raise NotSupported(f"latency unit {row.unit!r} not handled")
        return Prediction(ev.start * scale, "neuroncore DMA model",
                          "issue-to-start latency of a 4 B/partition transfer; reads back dma.fixed_cost "
                          "of the catalog (same vendor page)")
    raise NotSupported(f"DMA metric {row.metric!r} not predicted")


@register("nki_kernel", name="neuroncore-model", rank=10)
def predict(row: GroundTruthRow) -> Prediction:
    kernel = (row.model_or_kernel or "").lower()
    if "matmul" in kernel or re.search(r"\bm=\d+", ";".join(f"{k}={v}" for k, v in row.config.items()).lower()):
        return _matmul(row)
    if "dma" in kernel or "dma" in row.metric.lower():
        return _dma(row)
    raise NotSupported(f"no trnsim implementation of NKI kernel {row.model_or_kernel!r}")

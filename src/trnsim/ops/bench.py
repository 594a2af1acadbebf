"""Benchmark harnesses as op lists: turn a microbenchmark description (accelerator text, config
``key=value`` pairs, metric) into the ops it runs on one chip, and its time into the metric.

Shared by the validation predictors (:mod:`trnsim.validate.predictors.kernels`) and the fit script
(:mod:`trnsim.ops.fit`), so the fit optimises exactly what validation reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from trnsim.errors import TrnsimError
from trnsim.hardware.specs import ChipSpec
from trnsim.models.op import Op
from trnsim.ops.shapes import attention_op, gemm_op, norm_dtype, quantize_op


class Unsupported(Exception):
    """The benchmark cannot be expressed (unknown accelerator, missing shape, unknown metric)."""


def resolve_accelerator(text: str, system: str = "") -> ChipSpec:
    """Catalog chip for an accelerator name as written in benchmark tables (``H100 SXM``, ``h100_sxm``, ``B200``).

    Name matching is :mod:`trnsim.hardware.resolve`'s. Raises :class:`Unsupported` naming the text when
    the part is not in the catalog, and for PCIe cards: the fitted GPU efficiencies come from SXM parts,
    and a 250-300 W card runs at other clocks, so they do not transfer.
    """
    from trnsim.hardware.resolve import chip_for_text

    raw = (text or system or "").strip()
    chip = chip_for_text(text) or chip_for_text(system)
    if chip is None:
        raise Unsupported(f"accelerator {raw!r} is not in the catalog")
    if "pcie" in chip.name:
        raise Unsupported(f"accelerator {raw!r} is a PCIe card: the fitted efficiencies come from SXM parts")
    return chip


@dataclass
class Case:
    """A benchmark on one chip: its ops, and how the summed time becomes the reported metric."""

    chip: ChipSpec
    ops: list[Op]
    to_metric: Callable[[float], float]
    note: str = ""
    tags: dict[str, str] = field(default_factory=dict)


_TIME_UNITS = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "usec": 1e-6, "ns": 1e-9}


def _metric(metric: str, unit: str, flops: float, byts: float) -> Callable[[float], float]:
    u = unit.strip().lower()
    m = metric.lower()
    if u in _TIME_UNITS:
        f = _TIME_UNITS[u]
        return lambda t: t / f
    if "tflop" in u or "tflop" in m:
        return lambda t: flops / t / 1e12
    if u in ("gb/s", "gbps") and "bandwidth" in m or u == "gb/s":
        return lambda t: byts / t / 1e9
    if u in ("tb/s",):
        return lambda t: byts / t / 1e12
    raise Unsupported(f"metric {metric!r} in {unit!r} is not supported (time, TFLOPS or GB/s)")


def _get(cfg: Mapping[str, str], *keys: str) -> str | None:
    low = {k.lower(): v for k, v in cfg.items()}
    for k in keys:
        v = low.get(k.lower())
        if v not in (None, ""):
            return v
    return None


def _int(cfg: Mapping[str, str], *keys: str) -> int | None:
    v = _get(cfg, *keys)
    if v is None:
        return None
    try:
        return int(float(v))
    except ValueError:
        return None


def _dtype(text: str | None, default: str = "bf16") -> str:
    if not text:
        return default
    t = text.lower()
    if "fp8" in t or "e4m3" in t or "e5m2" in t or "float8" in t:
        return "fp8"
    if "nvfp4" in t or "fp4" in t:
        return "fp4"
    try:
        return norm_dtype(t.split()[0])
    except TrnsimError:
        raise Unsupported(f"dtype {text!r} not understood") from None


def gemm_case(accelerator: str, system: str, cfg: Mapping[str, str], metric: str, unit: str,
              kernel: str = "") -> Case:
    """A GEMM microbenchmark: latency of one ``M x N x K`` GEMM, or MAMF TFLOPS at its best shape.

    TensorRT-LLM fp8 rows (``framework=trtllm``) run the ``Linear`` module on a bf16 input, so they
    include the dynamic per-tensor quantisation of the input (amax pass + quantise kernel).
    """
    chip = resolve_accelerator(accelerator, system)
    m = _int(cfg, "M", "best_M", "m")
    n = _int(cfg, "N", "best_N", "n")
    k = _int(cfg, "K", "best_K", "k")
    if not (m and n and k):
        raise Unsupported("config has no GEMM shape (M, N, K or best_M, best_N, best_K)")
    batch = _int(cfg, "batch", "B") or 1
    dt = _dtype(_get(cfg, "dtype"))
    g = gemm_op(m, n, k, dt, batch=batch)
    ops = [g]
    note = f"GEMM {m}x{n}x{k} {dt}" + (f" batch {batch}" if batch > 1 else "")
    fw = (_get(cfg, "framework") or "").lower()
    if dt == "fp8" and ("trtllm" in fw or "torch_flow" in kernel.lower()) and "scaled_mm" not in kernel:
        ops.insert(0, quantize_op(batch * m * k, "bf16", "fp8", dynamic=True, name="input-quantize"))
        note += " + dynamic input quantisation (TRT-LLM Linear)"
    return Case(chip, ops, _metric(metric, unit, g.flops, g.bytes), note)


def attention_case(accelerator: str, system: str, cfg: Mapping[str, str], metric: str, unit: str,
                   kernel: str = "") -> Case:
    """An attention kernel benchmark: prefill (``seq``/``q_len``, causal unless stated) or decode (``kv_len``)."""
    chip = resolve_accelerator(accelerator, system)
    b = _int(cfg, "batch", "bs", "b") or None
    hq = _int(cfg, "q_heads", "heads", "num_heads", "n_heads", "h")
    hk = _int(cfg, "kv_heads", "num_kv_heads", "n_kv_heads") or hq
    d = _int(cfg, "head_dim", "d", "head_size")
    dv = _int(cfg, "head_dim_v", "v_head_dim") or d
    seq = _int(cfg, "seq", "seq_len", "seqlen", "isl")
    q = _int(cfg, "q_len", "query_len")
    kv = _int(cfg, "kv_len", "kv_seq", "context_len")
    if not (b and hq and d and (seq or kv)):
        raise Unsupported("config has no attention shape (batch, heads, head_dim and seq or kv_len needed)")
    text = (kernel or "").lower()
    decode = (q == 1) or (seq is None and q is None) or "decode" in text or "generation" in text
    if decode:
        q_len, kv_len = (q or 1), (kv or seq)
    else:
        kv_len = kv or seq
        q_len = q or seq or kv_len
    causal_cfg = _get(cfg, "causal", "is_causal", "mask")
    if causal_cfg is not None:
        causal = causal_cfg.lower() in ("1", "true", "yes", "causal")
    else:
        causal = not decode and "non-causal" not in text and "noncausal" not in text
    window = _int(cfg, "window", "sliding_window") or 0
    dt = _dtype(_get(cfg, "dtype"))
    kv_dt = _get(cfg, "kv_dtype", "kv_cache_dtype")
    op = attention_op(b, q_len, kv_len, hq, hk, d, head_dim_v=dv, causal=causal, window=window, dtype=dt)
    if kv_dt and _dtype(kv_dt) != dt:
        from dataclasses import replace

        from trnsim.ops.shapes import attention_work, dtype_bytes
        shape = dict(op.shape)
        shape["kv_bytes_per_elem"] = dtype_bytes(_dtype(kv_dt))  # type: ignore[assignment]
        f, byts, _ = attention_work(shape, dt)
        op = replace(op, shape=shape, bytes_read=byts - op.bytes_written)
    note = (f"attention {'decode' if decode else 'prefill'} b={b} q={q_len} kv={kv_len} heads={hq}/{hk} "
            f"d={d}{'' if dv == d else f'/{dv}'} {'causal' if causal else 'non-causal'} {dt}")
    return Case(chip, [op], _metric(metric, unit, op.flops, op.bytes), note)

"""Builders for canonical ops (GEMM, attention, ...) and the shape arithmetic the cost models share.

The cost models read ``op.flops`` and ``op.bytes`` as given by the model layer; the helpers here build
ops with the conventional counts (used by the CLI, the validation predictors and the calibrators).
"""

from __future__ import annotations

from typing import Mapping

from trnsim.errors import TrnsimError
from trnsim.models.op import Op

_BYTES = {
    "fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0,
    "mxfp8": 8.25 / 8, "mxfp4": 4.25 / 8, "fp4": 0.5, "nvfp4": 4.5 / 8, "int4": 0.5,
}
_ALIASES = {
    "float32": "fp32", "float": "fp32", "bfloat16": "bf16", "float16": "fp16", "half": "fp16",
    "float8": "fp8", "fp8_e4m3": "fp8", "fp8_e5m2": "fp8", "e4m3": "fp8", "e5m2": "fp8",
    "float8_e4m3fn": "fp8", "fp8-e4m3": "fp8", "fp8 e4m3fn": "fp8", "fp8_e4m3fn": "fp8",
}


def norm_dtype(dtype: str) -> str:
    """``"bfloat16"`` -> ``"bf16"``, ``"fp8_e4m3"`` -> ``"fp8"``; raises TrnsimError if unknown."""
    key = str(dtype).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _BYTES:
        raise TrnsimError(f"unknown dtype {dtype!r}", f"use one of {', '.join(sorted(_BYTES))}")
    return key


def dtype_bytes(dtype: str) -> float:
    return _BYTES[norm_dtype(dtype)]


def gemm_op(m: int, n: int, k: int, dtype: str = "bf16", *, batch: int = 1, out_dtype: str = "bf16",
            name: str = "gemm", count: int = 1) -> Op:
    """A (batched) GEMM ``[batch] (m x k) @ (k x n)``: 2mnk FLOPs, reads A and B, writes C once."""
    if min(m, n, k, batch) < 1:
        raise TrnsimError(f"GEMM dims must be >= 1 (got m={m} n={n} k={k} batch={batch})")
    d = norm_dtype(dtype)
    b = dtype_bytes(d)
    ob = dtype_bytes(out_dtype)
    shape = {"m": int(m), "n": int(n), "k": int(k)}
    if batch != 1:
        shape["batch"] = int(batch)
    return Op(name=name, kind="gemm", flops=2.0 * m * n * k * batch,
              bytes_read=batch * (m * k + k * n) * b, bytes_written=batch * m * n * ob,
              dtype=d, shape=shape, count=count)


def attention_avg_kv(q_len: int, kv_len: int, causal: bool, window: int = 0, chunk: int = 0) -> float:
    """Average number of key positions one query attends to.

    Queries are the last ``q_len`` positions of a ``kv_len`` sequence; causal masking, a sliding
    ``window`` (0 = none) or chunked attention (keys of the query's own ``chunk`` only) limit what
    each query sees.
    """
    if not causal:
        return float(min(kv_len, window) if window else kv_len)
    if chunk:
        def upto(n: int) -> int:  # sum over p = 1..n of ((p - 1) % chunk) + 1
            full, r = divmod(n, chunk)
            return full * chunk * (chunk + 1) // 2 + r * (r + 1) // 2
        q = max(1, min(q_len, kv_len))
        return (upto(kv_len) - upto(kv_len - q)) / q
    lo = kv_len - q_len + 1            # keys visible to the first query
    hi = kv_len                        # keys visible to the last query
    if lo < 1:
        lo = 1
    nq = hi - lo + 1
    w = window if window else hi
    if w >= hi:
        total = (lo + hi) * nq / 2.0
    elif w <= lo:
        total = float(w) * nq
    else:
        total = (lo + w) * (w - lo + 1) / 2.0 + float(w) * (hi - w)
    return total / nq


def attention_work(shape: Mapping[str, int], dtype: str = "bf16") -> tuple[float, float, float]:
    """(FLOPs, bytes, average keys per query) of a FlashAttention-style forward pass.

    FLOPs count the useful QK^T and PV products: ``2 * batch * q_heads * q_len * L * (d + d_v)``
    with ``L`` the average visible keys (causal/window aware). Bytes: Q, K, V read once, O written once.
    """
    b = int(shape.get("batch", 1))
    q = int(shape.get("q_len", shape.get("seq", 1)))
    kv = int(shape.get("kv_len", q))
    hq = int(shape.get("q_heads", shape.get("heads", 1)))
    hk = int(shape.get("kv_heads", hq))
    d = int(shape.get("head_dim", 128))
    dv = int(shape.get("head_dim_v", d) or d)
    causal = bool(shape.get("causal", 0))
    window = int(shape.get("window", 0) or 0)
    L = attention_avg_kv(q, kv, causal, window, int(shape.get("chunk", 0) or 0))
    flops = 2.0 * b * hq * q * L * (d + dv)
    eb = dtype_bytes(dtype)
    kv_b = float(shape.get("kv_bytes_per_elem", 0)) or eb
    byts = b * (q * hq * d * eb + kv * hk * (d + dv) * kv_b + q * hq * dv * eb)
    return flops, byts, L


def attention_op(batch: int, q_len: int, kv_len: int, q_heads: int, kv_heads: int | None = None,
                 head_dim: int = 128, *, head_dim_v: int | None = None, causal: bool = True,
                 window: int = 0, dtype: str = "bf16", name: str = "attention", phase: str = "",
                 count: int = 1) -> Op:
    """A FlashAttention-style attention op (prefill when ``q_len == kv_len``, decode when ``q_len == 1``)."""
    kv_heads = kv_heads or q_heads
    if min(batch, q_len, kv_len, q_heads, kv_heads, head_dim) < 1:
        raise TrnsimError("attention dims must be >= 1")
    if q_heads % kv_heads:
        raise TrnsimError(f"q_heads {q_heads} is not a multiple of kv_heads {kv_heads}")
    if q_len > kv_len:
        raise TrnsimError(f"q_len {q_len} exceeds kv_len {kv_len}")
    shape = {"batch": batch, "q_len": q_len, "kv_len": kv_len, "q_heads": q_heads, "kv_heads": kv_heads,
             "head_dim": head_dim, "head_dim_v": head_dim_v or head_dim, "causal": int(bool(causal)),
             "window": int(window)}
    d = norm_dtype(dtype)
    flops, byts, _ = attention_work(shape, d)
    eb = dtype_bytes(d)
    written = batch * q_len * q_heads * (head_dim_v or head_dim) * eb
    return Op(name=name, kind="attention", flops=flops, bytes_read=byts - written, bytes_written=written,
              dtype=d, shape=shape, phase=phase or ("decode" if q_len == 1 else "prefill"), count=count)


def quantize_op(elements: int, src_dtype: str = "bf16", dst_dtype: str = "fp8", *, dynamic: bool = True,
                name: str = "quantize") -> Op:
    """Per-tensor activation quantisation: with ``dynamic`` an amax pass reads the input once more."""
    sb, db = dtype_bytes(src_dtype), dtype_bytes(dst_dtype)
    reads = elements * sb * (2 if dynamic else 1)
    return Op(name=name, kind="elementwise", flops=float(elements * (2 if dynamic else 1)),
              bytes_read=reads, bytes_written=elements * db, dtype=norm_dtype(src_dtype),
              shape={"elements": int(elements), "dynamic_quant": int(dynamic)})

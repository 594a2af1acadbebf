"""Canonical tiled NKI kernels timed on the NeuronCore timing model (for ``calibrate_trainium --method neuroncore``).

Each function returns the chip-level time of one op: the work is split over the chip's NeuronCores
(identical per-core kernels run in parallel, each with its share of HBM bandwidth), one per-core
kernel is traced with :func:`trnsim.nki.run_kernel` in timing-only mode and timed with
:func:`trnsim.neuroncore.simulate`.

Kernels (written with the NKI API, so they also run numerically on small shapes; see the tests):

* ``gemm_kernel``: ``C[M, N] = lhsT[K, M]^T @ rhs[K, N]``, 128 x 512 output tiles accumulated in one
  PSUM bank over 128-row K tiles; the operand that is re-read less stays resident in SBUF.
  fp8 on NeuronCore-v3+ uses ``perf_mode="double_row"`` (K = 256 per instruction).
* ``flash_attention_kernel``: FlashAttention forward with online softmax over 512-key blocks,
  causal blocks skipped, the diagonal masked with ``affine_select``, P transposed on TensorE.
* ``stream_kernel``: an elementwise scale, 128 partitions x 2,048 elements per tile.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable

import numpy as np

from trnsim.hardware.specs import ChipSpec

TARGETS = {2: "trn1", 3: "trn2", 4: "trn3"}


def _nl():
    import trnsim.nki.language as nl

    return nl


def _nisa():
    import trnsim.nki.isa as nisa

    return nisa


# ----------------------------------------------------------------------------- kernels
def gemm_kernel(lhsT, rhs, rhs_resident: bool = True, double_row: bool = False):
    nl, nisa = _nl(), _nisa()
    K, M = lhsT.shape
    N = rhs.shape[1]
    kt_rows = 256 if double_row else 128
    TM, TN, TK = min(128, M), min(512, N), min(kt_rows, K)
    nk = K // TK
    out_dt = nl.float32 if np.dtype(lhsT.dtype) == np.float32 else nl.bfloat16
    out = nl.ndarray((M, N), dtype=out_dt, buffer=nl.shared_hbm)

    def load(dst, src, k, lo, hi):
        if double_row:
            for j in range(2):
                nisa.dma_copy(dst=dst[:, j, :], src=src[k * TK + j * (TK // 2):k * TK + (j + 1) * (TK // 2), lo:hi])
        else:
            nisa.dma_copy(dst=dst, src=src[k * TK:(k + 1) * TK, lo:hi])

    def mm(acc, stat, mov):
        if double_row:
            nisa.nc_matmul(dst=acc, stationary=stat, moving=mov, perf_mode="double_row")
        else:
            nisa.nc_matmul(dst=acc, stationary=stat, moving=mov)

    live: deque = deque(maxlen=2)  # keep the last tiles' PSUM/SBUF buffers so the next get new addresses

    def finish(acc, m, n):
        res = nl.ndarray((TM, TN), dtype=out_dt, buffer=nl.sbuf)
        nisa.tensor_copy(dst=res, src=acc)
        nisa.dma_copy(dst=out[m * TM:(m + 1) * TM, n * TN:(n + 1) * TN], src=res)
        live.append((acc, res))

    # double-buffered streaming operand: all K tiles of one row/column block, one DMA per K tile, all
    # independent so they spread over the DMA queues; a fresh PSUM accumulator per output tile
    def slots(free):
        return (TK // 2, nk, 2, free) if double_row else (TK, nk, free)

    def view(buf, k):
        return buf[:, k, :, :] if double_row else buf[:, k, :]

    if rhs_resident:
        stream = [nl.ndarray(slots(TM), dtype=lhsT.dtype, buffer=nl.sbuf) for _ in range(2)]
        for n in nl.affine_range(N // TN):
            rb = nl.ndarray(slots(TN), dtype=rhs.dtype, buffer=nl.sbuf)
            for k in range(nk):
                load(view(rb, k), rhs, k, n * TN, (n + 1) * TN)
            for m in nl.affine_range(M // TM):
                lb = stream[m % 2]
                for k in range(nk):
                    load(view(lb, k), lhsT, k, m * TM, (m + 1) * TM)
                acc = nl.ndarray((TM, TN), dtype=nl.float32, buffer=nl.psum)
                for k in range(nk):
                    mm(acc, view(lb, k), view(rb, k))
                finish(acc, m, n)
    else:
        stream = [nl.ndarray(slots(TN), dtype=rhs.dtype, buffer=nl.sbuf) for _ in range(2)]
        for m in nl.affine_range(M // TM):
            lb = nl.ndarray(slots(TM), dtype=lhsT.dtype, buffer=nl.sbuf)
            for k in range(nk):
                load(view(lb, k), lhsT, k, m * TM, (m + 1) * TM)
            for n in nl.affine_range(N // TN):
                rb = stream[n % 2]
                for k in range(nk):
                    load(view(rb, k), rhs, k, n * TN, (n + 1) * TN)
                acc = nl.ndarray((TM, TN), dtype=nl.float32, buffer=nl.psum)
                for k in range(nk):
                    mm(acc, view(lb, k), view(rb, k))
                finish(acc, m, n)
    return out


def flash_attention_kernel(qT, kT, v, causal: bool = True, interleave: int = 2, kv_block: int = 512):
    """qT [d, Q] (queries are the last Q positions), kT [d, S], v [S, d] -> out [Q, d].

    ``interleave`` query tiles advance block by block together, so one tile's softmax (Vector/Scalar)
    overlaps another's matmuls (TensorE) -- the software pipelining NKI flash kernels use.
    """
    nl, nisa = _nl(), _nisa()
    d, Q = qT.shape
    S = kT.shape[1]
    TQ = min(128, Q)
    KB = min(kv_block, S)   # keys per softmax step; QK^T runs in 512-key matmuls (one PSUM bank each)
    MB = min(512, KB)
    P = min(128, S)
    out = nl.ndarray((Q, d), dtype=v.dtype, buffer=nl.shared_hbm)
    keys = nl.ndarray((d, S), dtype=kT.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=keys, src=kT)
    vals = nl.ndarray((P, max(1, S // P), d), dtype=v.dtype, buffer=nl.sbuf)
    for j in range(max(1, S // P)):
        nisa.dma_copy(dst=vals[:, j, :], src=v[j * P:(j + 1) * P, :])
    scale = 1.0 / math.sqrt(d)
    n_tiles = Q // TQ
    # the simulator frees a buffer when its last Python reference goes; holding the previous steps'
    # buffers gives each step fresh addresses (multi-buffering), as the compiler does for affine loops
    live: deque = deque(maxlen=interleave + 1)

    def start(i):
        q = nl.ndarray((d, TQ), dtype=qT.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=q, src=qT[:, i * TQ:(i + 1) * TQ])
        first = S - Q + i * TQ           # position of the tile's first query
        vis = min(S, first + TQ) if causal else S
        st = {"i": i, "q": q, "first": first, "nblk": math.ceil(vis / KB),
              "max": nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf),
              "sum": nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf),
              "acc": nl.ndarray((TQ, d), dtype=nl.float32, buffer=nl.sbuf)}
        nisa.memset(dst=st["max"], value=-3.0e38)
        nisa.memset(dst=st["sum"], value=0.0)
        nisa.memset(dst=st["acc"], value=0.0)
        return st

    def step(st, j):
        keep: list = []
        live.append(keep)
        first = st["first"]
        s_ps = nl.ndarray((TQ, KB), dtype=nl.float32, buffer=nl.psum)
        for c in range(KB // MB):
            nisa.nc_matmul(dst=s_ps[:, c * MB:(c + 1) * MB], stationary=st["q"],
                           moving=keys[:, j * KB + c * MB:j * KB + (c + 1) * MB])
        s = s_ps
        yield
        if causal and (j + 1) * KB - 1 > first:
            # key j*KB + c is visible to query row p iff first + p - j*KB - c >= 0
            raw = nl.ndarray((TQ, KB), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_copy(dst=raw, src=s_ps, engine="scalar")
            masked = nl.ndarray((TQ, KB), dtype=nl.float32, buffer=nl.sbuf)
            nisa.affine_select(dst=masked, pattern=[[-1, KB]], channel_multiplier=1, on_true_tile=raw,
                               on_false_value=-3.0e38, cmp_op=nl.greater_equal, offset=first - j * KB)
            s = masked
            yield
        blk_max = nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_reduce(dst=blk_max, op=nl.max, data=s, axis=1)
        new_max = nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_tensor(dst=new_max, data1=blk_max, data2=st["max"], op=nl.maximum)
        neg_max = nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=neg_max, data=new_max, op0=nl.multiply, operand0=-scale)
        # alpha = exp(scale * (old_max - new_max)) rescales the running sum and output
        alpha = nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=alpha, op=nl.exp, data=st["max"], bias=neg_max, scale=scale)
        yield
        p = nl.ndarray((TQ, KB), dtype=v.dtype, buffer=nl.sbuf)
        blk_sum = nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=p, op=nl.exp, data=s, bias=neg_max, scale=scale, reduce_op=nl.add, reduce_res=blk_sum,
                        reduce_cmd=nisa.reduce_cmd.reset_reduce)
        nisa.tensor_scalar(dst=st["sum"], data=st["sum"], op0=nl.multiply, operand0=alpha, op1=nl.add, operand1=blk_sum)
        nisa.tensor_copy(dst=st["max"], src=new_max, engine="gpsimd")
        yield
        o_ps = nl.ndarray((TQ, d), dtype=nl.float32, buffer=nl.psum)
        for c in range(KB // P):
            if c:
                keep.extend([pT_ps, pT])
            pT_ps = nl.ndarray((P, TQ), dtype=nl.float32, buffer=nl.psum)
            nisa.nc_transpose(dst=pT_ps, data=p[:, c * P:(c + 1) * P])
            pT = nl.ndarray((P, TQ), dtype=v.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=pT, src=pT_ps, engine="scalar" if c % 2 else "vector")
            nisa.nc_matmul(dst=o_ps, stationary=pT, moving=vals[:, (j * KB) // P + c, :])
            yield
        nisa.scalar_tensor_tensor(dst=st["acc"], data=st["acc"], op0=nl.multiply, operand0=alpha, op1=nl.add,
                                  operand1=o_ps)
        keep.extend([s_ps, s, blk_max, new_max, neg_max, alpha, p, blk_sum, o_ps, pT_ps, pT])

    def finish(st):
        inv = nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.reciprocal(dst=inv, data=st["sum"])
        o = nl.ndarray((TQ, d), dtype=v.dtype, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=o, data=st["acc"], op0=nl.multiply, operand0=inv)
        nisa.dma_copy(dst=out[st["i"] * TQ:(st["i"] + 1) * TQ, :], src=o)

    for g in range(0, n_tiles, interleave):
        group = [start(i) for i in range(g, min(n_tiles, g + interleave))]
        for j in range(max(st["nblk"] for st in group)):
            # advance the tiles' steps phase by phase, round robin: each engine's in-order stream then
            # alternates between independent tiles (software pipelining)
            gens = [step(st, j) for st in group if j < st["nblk"]]
            while gens:
                gens = [g for g in gens if next(g, StopIteration) is not StopIteration]
        for st in group:
            finish(st)
    return out


def stream_kernel(x, free: int = 2048):
    """y = 2 * x over a [rows, free] bf16 tensor, 128-partition tiles."""
    nl, nisa = _nl(), _nisa()
    R, F = x.shape
    out = nl.ndarray((R, F), dtype=x.dtype, buffer=nl.shared_hbm)
    TP = min(128, R)
    for i in nl.affine_range(R // TP):
        t = nl.ndarray((TP, F), dtype=x.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=t, src=x[i * TP:(i + 1) * TP, :])
        y = nl.ndarray((TP, F), dtype=x.dtype, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=y, data=t, op0=nl.multiply, operand0=2.0)
        nisa.dma_copy(dst=out[i * TP:(i + 1) * TP, :], src=y)
    return out


# ----------------------------------------------------------------------------- timing
_CACHE: dict[tuple, float] = {}


def _cached(fn: Callable[..., float]) -> Callable[..., float]:
    """Memoise per (chip name, args): chips are unhashable pydantic models."""

    def wrapper(chip: ChipSpec, *args: Any) -> float:
        key = (fn.__name__, chip.name, *args)
        if key not in _CACHE:
            _CACHE[key] = fn(chip, *args)
        return _CACHE[key]

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper

_NP_DT = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32", "tf32": "float32", "fp8": "float8_e4m3"}


def _np_dtype(dtype: str):
    nl = _nl()
    return getattr(nl, _NP_DT.get(dtype, "bfloat16"))


def _simulate(chip: ChipSpec, fn, args, kwargs, busy_cores: int) -> float:
    from trnsim.neuroncore import simulate
    from trnsim.nki import run_kernel

    target = TARGETS.get(chip.core_spec.version if chip.core_spec else 3, "trn2")
    run = run_kernel(fn, *args, target=target, timing_only=True, **kwargs)
    prof = simulate(run.trace, chip.core_spec, hbm_share=1.0 / max(1, busy_cores))
    return prof.total_time


def _split(chip: ChipSpec, m: int, n: int, k: int, dtype: str) -> tuple[int, int]:
    """Cores along (M, N): the split the analytic estimate finds fastest (dims must divide evenly)."""
    from trnsim.ops.calibrate_trainium import CoreModel, _splits

    best, choice = math.inf, (1, 1)
    cm = CoreModel(chip, chip.core_spec)  # type: ignore[arg-type]
    for a, b in _splits(chip.cores):
        if m % a or n % b:
            continue
        t = _analytic_core(cm, m // a, n // b, k, dtype, a * b)
        if t < best:
            best, choice = t, (a, b)
    return choice


def _analytic_core(cm, mc: int, nc: int, k: int, dtype: str, busy: int) -> float:
    from trnsim.ops.calibrate_trainium import _matmul_cycles

    core = cm.core
    rate = core.tensor.dtype_rate.get(dtype, 1.0)
    cyc = _matmul_cycles(mc, nc, k, rate, 128, 512, 128)
    b = {"fp32": 4, "fp8": 1}.get(dtype, 2)
    traffic = min(mc * k * b * max(1, nc // 512) + k * nc * b, k * nc * b * max(1, mc // 128) + mc * k * b)
    return max(cyc / cm.f_tensor, traffic / cm.dma_bw_core, traffic * busy / cm.hbm_bw)


@_cached
def gemm_time(chip: ChipSpec, m: int, n: int, k: int, dtype: str) -> float:
    from trnsim.nki import shape_only

    a, b = _split(chip, m, n, k, dtype)
    mc, nc = m // a, n // b
    dt = _np_dtype(dtype)
    double = dtype == "fp8" and (chip.core_spec.version if chip.core_spec else 3) >= 3 and k >= 256
    bsz = {"fp32": 4, "fp8": 1}.get(dtype, 2)
    rhs_resident = (mc * k * bsz * max(1, nc // 512)) <= (k * nc * bsz * max(1, mc // 128))
    return _simulate(chip, gemm_kernel, (shape_only((k, mc), dt), shape_only((k, nc), dt)),
                     {"rhs_resident": rhs_resident, "double_row": double}, a * b)


@_cached
def attention_time(chip: ChipSpec, batch: int, q_len: int, kv_len: int, q_heads: int, kv_heads: int, d: int,
                   dtype: str = "bf16") -> float:
    """Prefill: one unit per (batch, q head); decode: the GQA group's heads stacked as rows per KV head."""
    from trnsim.nki import shape_only

    dt = _np_dtype(dtype)
    if q_len == 1:
        units, rows, causal = batch * kv_heads, q_heads // kv_heads, False
    else:
        units, rows, causal = batch * q_heads, q_len, True
    per_core = math.ceil(units / chip.cores)
    busy = min(chip.cores, units)
    t = _simulate(chip, flash_attention_kernel,
                  (shape_only((d, rows), dt), shape_only((d, kv_len), dt), shape_only((kv_len, d), dt)),
                  {"causal": causal}, busy)
    return t * per_core


@_cached
def stream_time(chip: ChipSpec, nbytes: float) -> float:
    from trnsim.nki import shape_only

    free = 2048
    per_core_elems = max(128 * free, int(nbytes / 2 / 2 / chip.cores))  # in + out, bf16
    rows = max(128, (per_core_elems // free) // 128 * 128)
    t = _simulate(chip, stream_kernel, (shape_only((rows, free), _np_dtype("bf16")),), {}, chip.cores)
    return t * (nbytes / (2 * 2 * rows * free * chip.cores)) if nbytes > 2 * 2 * rows * free * chip.cores else t

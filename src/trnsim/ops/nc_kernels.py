"""Canonical tiled NKI kernels timed on the NeuronCore timing model (for ``calibrate_trainium --method neuroncore``).

Each function returns the chip-level time of one op: the work is split over the chip's NeuronCores
(identical per-core kernels run in parallel, each with its share of HBM bandwidth), one per-core
kernel is traced with :func:`trnsim.nki.run_kernel` in timing-only mode and timed with
:func:`trnsim.neuroncore.simulate`.

Kernels (written with the NKI API, so they also run numerically on small shapes; see the tests):

* ``gemm_kernel``: ``C[M, N] = lhsT[K, M]^T @ rhs[K, N]``, 128 x 512 output tiles accumulated in one
  PSUM bank over 128-row K tiles; the operand that is re-read less stays resident in SBUF.
  fp8 on NeuronCore-v3+ uses ``perf_mode="double_row"`` (K = 256 per instruction).
* attention: see :mod:`trnsim.ops.nc_attention` (decode and prefill kernels).
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

    # the resident operand is loaded once per outer block, the other streams through per inner block
    if rhs_resident:
        (res_src, res_w, n_outer), (str_src, str_w, n_inner) = (rhs, TN, N // TN), (lhsT, TM, M // TM)
    else:
        (res_src, res_w, n_outer), (str_src, str_w, n_inner) = (lhsT, TM, M // TM), (rhs, TN, N // TN)
    stream = [nl.ndarray(slots(str_w), dtype=str_src.dtype, buffer=nl.sbuf) for _ in range(2)]
    for o in nl.affine_range(n_outer):
        resident = nl.ndarray(slots(res_w), dtype=res_src.dtype, buffer=nl.sbuf)
        for k in range(nk):
            load(view(resident, k), res_src, k, o * res_w, (o + 1) * res_w)
        for i in nl.affine_range(n_inner):
            streamed = stream[i % 2]
            for k in range(nk):
                load(view(streamed, k), str_src, k, i * str_w, (i + 1) * str_w)
            acc = nl.ndarray((TM, TN), dtype=nl.float32, buffer=nl.psum)
            for k in range(nk):
                if rhs_resident:
                    mm(acc, view(streamed, k), view(resident, k))
                else:
                    mm(acc, view(resident, k), view(streamed, k))
            finish(acc, *((i, o) if rhs_resident else (o, i)))
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
def stream_time(chip: ChipSpec, nbytes: float) -> float:
    from trnsim.nki import shape_only

    free = 2048
    per_core_elems = max(128 * free, int(nbytes / 2 / 2 / chip.cores))  # in + out, bf16
    rows = max(128, (per_core_elems // free) // 128 * 128)
    t = _simulate(chip, stream_kernel, (shape_only((rows, free), _np_dtype("bf16")),), {}, chip.cores)
    return t * (nbytes / (2 * 2 * rows * free * chip.cores)) if nbytes > 2 * 2 * rows * free * chip.cores else t

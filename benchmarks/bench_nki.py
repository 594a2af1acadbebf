"""Benchmark of the NKI simulator: functional overhead vs NumPy and instructions simulated per second.

    python benchmarks/bench_nki.py [--n 2048] [--threads 1]

* functional: a 2048 x 2048 x 2048 bf16 tiled matmul (the two kernels of examples/kernels/matmul.py:
  K-block hoisted loads, and plain per-(m, n, k) loads; PSUM accumulation) vs the NumPy reference
  ``(A.astype(f32) @ B.astype(f32)).astype(bf16)``; target overhead < 3x.
* timing-only: the full-size 4096 x 8192 x 8192 tiled matmul of the NKI tutorial (~100k instructions)
  from shape-only inputs; target well under 5 s.
* instruction rate of a small-tile elementwise kernel (per-instruction overhead).

BLAS threads default to 1 for both sides (small-matrix BLAS calls degrade badly on a busy machine).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    _p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _p.add_argument("--n", type=int, default=2048)
    _p.add_argument("--threads", type=int, default=1, help="BLAS threads (set before NumPy loads)")
    _p.add_argument("--repeat", type=int, default=3)
    ARGS = _p.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(ARGS.threads))
    os.environ.setdefault("OMP_NUM_THREADS", str(ARGS.threads))

import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402

import trnsim.nki.isa as nisa  # noqa: E402
import trnsim.nki.language as nl  # noqa: E402
from trnsim.nki import run_kernel, shape_only  # noqa: E402
from trnsim.nki.install import installed  # noqa: E402

BF16 = ml_dtypes.bfloat16


def _example_kernels():
    """The two matmul kernels of examples/kernels/matmul.py (loaded with ``nki`` mapped to trnsim.nki)."""
    path = Path(__file__).resolve().parents[1] / "examples" / "kernels" / "matmul.py"
    spec = importlib.util.spec_from_file_location("example_matmul", path)
    mod = importlib.util.module_from_spec(spec)
    with installed():
        spec.loader.exec_module(mod)
    return mod.matmul_kernel, mod.matmul_tiled_kernel


def add_small_tiles(x, y):
    """Many small elementwise instructions: per-instruction overhead."""
    rows, cols = x.shape
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(rows // 128):
        for j in nl.affine_range(cols // 64):
            a = nl.ndarray((128, 64), dtype=x.dtype, buffer=nl.sbuf)
            b = nl.ndarray((128, 64), dtype=x.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=a, src=x[i * 128:(i + 1) * 128, j * 64:(j + 1) * 64])
            nisa.dma_copy(dst=b, src=y[i * 128:(i + 1) * 128, j * 64:(j + 1) * 64])
            nisa.tensor_tensor(dst=a, data1=a, data2=b, op=nl.add)
            nisa.dma_copy(dst=out[i * 128:(i + 1) * 128, j * 64:(j + 1) * 64], src=a)
    return out


def best(f, repeat):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = f()
        ts.append(time.perf_counter() - t0)
    return min(ts), r


def main(n: int, repeat: int) -> dict:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(BF16)  # [M, K]
    b = rng.standard_normal((n, n)).astype(BF16)  # [K, N]
    at = np.ascontiguousarray(a.T)
    t_ref, ref = best(lambda: (a.astype(np.float32) @ b.astype(np.float32)).astype(BF16), repeat)
    res: dict = {"n": n, "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "numpy_ref_s": t_ref}
    matmul_hoisted, matmul_tiled = _example_kernels()
    for name, kern in (("hoisted", matmul_hoisted), ("tiled", matmul_tiled)):
        t_sim, run = best(lambda: run_kernel(kern, at, b), repeat)
        err = float(np.max(np.abs(run.outputs.astype(np.float32) - ref.astype(np.float32))))
        res[f"functional_{name}_s"] = t_sim
        res[f"functional_{name}_overhead_x"] = t_sim / t_ref
        res[f"functional_{name}_instructions"] = len(run.trace.instructions)
        res[f"functional_{name}_max_abs_err"] = err
    big = (shape_only((8192, 4096), BF16), shape_only((8192, 8192), BF16))
    t_to, run = best(lambda: run_kernel(matmul_tiled, *big, timing_only=True), 1)
    res["timing_only_full_size_s"] = t_to
    res["timing_only_full_size_instructions"] = len(run.trace.instructions)
    res["timing_only_instr_per_s"] = len(run.trace.instructions) / t_to
    x = rng.standard_normal((1024, 4096)).astype(np.float32)
    t_small, run = best(lambda: run_kernel(add_small_tiles, x, x), repeat)
    res["functional_small_tiles_instr_per_s"] = len(run.trace.instructions) / t_small
    t_small_t, run = best(lambda: run_kernel(add_small_tiles, x, x, timing_only=True), repeat)
    res["timing_only_small_tiles_instr_per_s"] = len(run.trace.instructions) / t_small_t
    return res


if __name__ == "__main__":
    r = main(ARGS.n, ARGS.repeat)
    n = r["n"]
    print(f"NKI simulator benchmark (BLAS threads: {r['blas_threads']})")
    print(f"  NumPy reference {n}^3 bf16 matmul:          {r['numpy_ref_s'] * 1e3:8.1f} ms")
    for name in ("hoisted", "tiled"):
        print(f"  functional {name:8s} kernel ({r[f'functional_{name}_instructions']:6d} instr): "
              f"{r[f'functional_{name}_s'] * 1e3:8.1f} ms  overhead {r[f'functional_{name}_overhead_x']:.2f}x "
              f"(target < 3x)  max|err| {r[f'functional_{name}_max_abs_err']:.3g}")
    print(f"  timing-only 4096x8192x8192 tiled ({r['timing_only_full_size_instructions']} instr): "
          f"{r['timing_only_full_size_s']:.2f} s = {r['timing_only_instr_per_s']:,.0f} instr/s (target < 5 s)")
    print(f"  small tiles: functional {r['functional_small_tiles_instr_per_s']:,.0f} instr/s, "
          f"timing-only {r['timing_only_small_tiles_instr_per_s']:,.0f} instr/s")
    sys.exit(0)

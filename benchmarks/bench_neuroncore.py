"""Benchmark the NeuronCore timing model.

* instructions/s of :func:`trnsim.neuroncore.simulate` on a synthetic trace (DMA + matmul + copy);
* wall time to profile the full-size NKI matmul tutorial kernels ([4096, 8192] @ [8192, 8192] BF16,
  trn1) in timing-only mode: trace generation by the NKI layer + simulation (target: < 5 s).

Run: ``python benchmarks/bench_neuroncore.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time


def synthetic_trace(tiles: int):
    """``tiles`` x (2 loads, 1 matmul) plus a copy and a store every 16 matmuls, built directly."""
    from trnsim.nki.trace import Access, Buffer, Instruction, KernelTrace

    tr = KernelTrace(target="trn2", nc_version=3, kernel="synthetic")
    tr.add_buffer(Buffer(1, "x", "hbm", "bfloat16", (8192, 8192), 1, 8192 * 8192 * 2))
    tr.add_buffer(Buffer(2, "y", "hbm", "bfloat16", (8192, 8192), 1, 8192 * 8192 * 2, 0, 1 << 28))
    for i in range(4):
        tr.add_buffer(Buffer(10 + i, f"s{i}", "sbuf", "bfloat16", (128, 512), 128, 1024, 0, i * 1024))
    tr.add_buffer(Buffer(20, "p", "psum", "float32", (128, 512), 128, 2048))

    def sb(i):
        return Access(10 + i, "sbuf", "bfloat16", 2, 0, 128, 0, ((1, 512),), i * 1024)

    ps = Access(20, "psum", "float32", 4, 0, 128, 0, ((1, 512),), 0)
    add = tr.instructions.append
    for t in range(tiles):
        r, c = divmod(t, 16)
        src = Access(1, "hbm", "bfloat16", 2, 0, 1, (r % 64) * 128 * 8192 + c * 512, ((8192, 128), (1, 512)))
        add(Instruction(len(tr.instructions), "dma", "dma_copy", (src,), (sb(t % 2),)))
        add(Instruction(len(tr.instructions), "dma", "dma_copy", (src,), (sb(2 + t % 2),)))
        add(Instruction(len(tr.instructions), "tensor", "nc_matmul", (sb(t % 2), sb(2 + t % 2), ps), (ps,),
                        {"dtype": "bfloat16", "K": 128, "stationary": 128, "moving": 512}))
        if c == 15:
            dst = Access(2, "hbm", "bfloat16", 2, 0, 1, r * 128 * 8192, ((8192, 128), (1, 512)), 1 << 28)
            add(Instruction(len(tr.instructions), "vector", "tensor_copy", (ps,), (sb(t % 2),)))
            add(Instruction(len(tr.instructions), "dma", "dma_copy", (sb(t % 2),), (dst,)))
    return tr


def bench_model(tiles: int) -> float:
    from trnsim.neuroncore import simulate

    tr = synthetic_trace(tiles)
    t0 = time.perf_counter()
    simulate(tr)
    dt = time.perf_counter() - t0
    rate = len(tr.instructions) / dt
    print(f"timing model: {len(tr.instructions):,} instructions in {dt:.2f} s = {rate:,.0f} instructions/s")
    return rate


def bench_tutorial(names: list[str]) -> None:
    from trnsim.neuroncore import simulate
    from trnsim.neuroncore.kernels.matmul_ladder import SCHEDULES
    from trnsim.nki import run_kernel, shape_only

    k, m, n = 8192, 4096, 8192
    for name in names:
        t0 = time.perf_counter()
        run = run_kernel(SCHEDULES[name], shape_only((k, m), "bfloat16"), shape_only((k, n), "bfloat16"),
                         target="trn1", timing_only=True)
        t1 = time.perf_counter()
        prof = simulate(run.trace)
        t2 = time.perf_counter()
        ni = len(run.trace.instructions)
        print(f"tutorial matmul '{name}' full size, timing-only: {ni:,} instructions; trace {t1 - t0:.2f} s + "
              f"simulate {t2 - t1:.2f} s ({ni / (t2 - t1):,.0f} instr/s) = {t2 - t0:.2f} s total; "
              f"predicted {prof.total_time * 1e3:.2f} ms, HFU {100 * prof.hfu:.1f}%")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small synthetic trace, optimized kernel only")
    args = ap.parse_args()
    bench_model(5_000 if args.quick else 40_000)
    bench_tutorial(["optimized"] if args.quick else ["optimized", "block_free", "hoisted", "tiled"])


if __name__ == "__main__":
    main()

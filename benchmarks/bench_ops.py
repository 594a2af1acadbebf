"""Operator and collective cost-model speed (the training simulator calls them ~1e4 times per second).

Run: .venv/bin/python benchmarks/bench_ops.py
"""

from __future__ import annotations

import time

from trnsim.hardware import load_chip
from trnsim.network import Group, Topology, collective_time
from trnsim.ops import op_time
from trnsim.ops.shapes import attention_op, gemm_op


def per_call(fn, n: int) -> float:
    fn(0)
    t = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t) / n


def main() -> None:
    ops = [gemm_op(4096, 4096, 4096), attention_op(8, 2048, 2048, 32, 8, 128)]
    for chip in ("h100", "trn2", "trn3"):
        c = load_chip(chip)
        dt = per_call(lambda i: [op_time(o, c) for o in ops], 5000) / len(ops)
        print(f"op_time on {chip:<5}: {dt * 1e6:6.1f} us per call")
    topo = Topology.from_system("p5.48xlarge", chips=512)
    dt = per_call(lambda i: collective_time("all-reduce", 1000.0 + i, Group(64, per_domain=1), topo), 3000)
    print(f"collective_time (uncached sizes): {dt * 1e6:6.1f} us per call")
    dt = per_call(lambda i: collective_time("all-reduce", 1000.0, Group(64, per_domain=1), topo), 3000)
    print(f"collective_time (cached): {dt * 1e6:6.1f} us per call")


if __name__ == "__main__":
    main()

"""Search speed: configurations evaluated per second for a >= 100,000-plan training sweep, in-process and
on local processes, and the Ray executor's overhead vs local processes (same machine).

Target (issue 9): >= 2,000 configurations per second per core on the analytic path.
Run: .venv/bin/python benchmarks/bench_search.py [--quick]
"""

from __future__ import annotations

import os
import sys
import time

from trnsim.search import InProcess, LocalProcesses, spec_from_dict, run_sweep

AXES = {
    "system": ["trn2-ultraserver", "trn3-ultraserver-gen2", "trn3-ultraserver-gen1", "gb200-nvl72", "p5.48xlarge"],
    "model": ["llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "mixtral-8x7b"],
    "chips": [512, 1024, 2048],
    "tp": [1, 2, 4, 8, 16, 32],
    "pp": [1, 2, 4, 8, 16, 32],
    "cp": [1, 2, 4],
    "micro_batch": [1, 2, 4],
    "recompute": ["none", "selective", "full"],
    "zero": [1, 3],
}


def spec(quick: bool):
    axes = dict(AXES)
    if quick:
        axes["chips"] = [1024]
        axes["model"] = axes["model"][:2]
    return spec_from_dict({"sweep": {"kind": "training", "batch_size": 512},
                           "fixed": {"seq": 8192, "global_batch": 2048, "precision": "auto"},
                           "axes": axes, "objectives": {"tokens_per_s_per_chip": "max", "usd_per_mtok": "min"}})


def timed(name: str, sp, ex) -> float:
    t = time.perf_counter()
    res = run_sweep(sp, ex)
    dt = time.perf_counter() - t
    print(f"{name:<22} {sp.size:>8} configs in {dt:7.2f} s = {sp.size / dt:8.0f} configs/s "
          f"({len(res.ok)} valid, {sum(res.pruned.values())} pruned, {sum(res.errors.values())} errors)")
    return dt


def main() -> None:
    quick = "--quick" in sys.argv
    sp = spec(quick)
    cores = os.cpu_count() or 1
    print(f"training sweep of {sp.size} plans on {cores} cores (target >= 2,000 configs/s per core)")
    t_in = timed("in-process (1 core)", sp, InProcess())
    t_pr = timed(f"processes ({cores})", sp, LocalProcesses(workers=cores))
    print(f"per core: in-process {sp.size / t_in:.0f}/s, processes {sp.size / t_pr / cores:.0f}/s per core")
    try:
        import ray
    except ImportError:
        print("ray not installed: skipping the Ray executor (pip install 'trnsim[ray]')")
        return
    from trnsim.search import RayExecutor

    t0 = time.perf_counter()
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    print(f"ray.init: {time.perf_counter() - t0:.2f} s")
    try:
        t_ray = timed(f"ray (local, {cores} cpus)", sp, RayExecutor())
    finally:
        ray.shutdown()
    print(f"Ray overhead vs local processes: {100 * (t_ray / t_pr - 1):+.0f}% wall time")


if __name__ == "__main__":
    main()

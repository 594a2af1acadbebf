"""Speed of the serving simulator: simulated requests per wall-second.

Base case: 10,000 requests (ShareGPT-like lognormal lengths, mean ISL 1,000 / OSL 250) at a moderate
(9 req/s per replica) and a heavy (25 req/s per replica, ~70% of capacity) load on a 16-chip deployment (Llama-3.1-8B, 4 replicas x TP4 on a trn2.48xlarge). Then 10x the
requests, and 10x the replicas (and the load). Target: >= 20,000 requests per wall-second on 2 cores.

    python benchmarks/bench_serving.py [--quick]
"""

from __future__ import annotations

import sys
import time

from trnsim.hardware import load_system
from trnsim.models import load_model
from trnsim.workloads.serving import Deployment, IterationCost, Workload, simulate_serving

MODEL, SYSTEM = "llama-3.1-8b", "trn2.48xlarge"


def run(replicas: int, requests: int, qps_per_replica: float, repeat: int = 3) -> dict:
    spec, system = load_model(MODEL), load_system(SYSTEM)
    dep = Deployment(replicas=replicas, tp=4)
    cost = IterationCost(spec, system.chip_, dep, system=system)
    wl = Workload.poisson(qps=qps_per_replica * replicas, isl="lognormal:1000:0.8", osl="lognormal:250:0.8",
                          num_requests=requests, seed=1)
    simulate_serving(spec, system, dep, Workload.poisson(qps=10, num_requests=200), cost=cost)  # warm the cost memo
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = simulate_serving(spec, system, dep, wl, cost=cost)
        wall = time.perf_counter() - t0
        if best is None or wall < best[0]:
            best = (wall, r)
    wall, r = best  # type: ignore[misc]
    return {"replicas": replicas, "chips": dep.total_chips, "requests": requests, "wall_s": wall,
            "req_per_wall_s": requests / wall, "events": r.events, "iterations": r.iterations,
            "sim_s": r.duration, "out_tok_s": r.output_tokens_per_s, "ttft_p99_ms": r.ttft["p99"] * 1e3,
            "cost_evals": cost.evaluations}


def main() -> None:
    quick = "--quick" in sys.argv
    rows = [run(4, 10_000, 9.0), run(4, 10_000, 25.0)]
    if not quick:
        rows.append(run(4, 100_000, 9.0, repeat=1))
        rows.append(run(40, 100_000, 9.0, repeat=1))
    print(f"{'replicas':>8} {'chips':>6} {'requests':>9} {'wall s':>8} {'req/wall-s':>11} {'events':>8} "
          f"{'iterations':>11} {'sim s':>8} {'out tok/s':>10} {'TTFT p99 ms':>12}")
    for x in rows:
        print(f"{x['replicas']:>8} {x['chips']:>6g} {x['requests']:>9,} {x['wall_s']:>8.2f} {x['req_per_wall_s']:>11,.0f} "
              f"{x['events']:>8,} {x['iterations']:>11,} {x['sim_s']:>8.1f} {x['out_tok_s']:>10,.0f} "
              f"{x['ttft_p99_ms']:>12.1f}")


if __name__ == "__main__":
    main()

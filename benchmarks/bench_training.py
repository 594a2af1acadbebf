"""Speed of the training simulator.

* analytic step time per (model, system, plan): cold (op costs rebuilt: a new tp/cp/ep/micro-batch/
  precision shape) and warm (a plan that re-uses cached op costs: other pp/dp/vpp/zero/recompute);
  target < 5 ms per plan on 2 cores;
* the full ``simulate_training`` result (analytic) and the event-driven (detailed) schedule;
* ``--plan auto``: valid plans evaluated per second.

    python benchmarks/bench_training.py [--quick]
"""

from __future__ import annotations

import statistics
import sys
import time

from trnsim.hardware import load_system
from trnsim.models import load_model
from trnsim.parallel import Plan
from trnsim.workloads.training import auto_plans, simulate_training, step_time
from trnsim.workloads.training import costs as _costs

CASES = [
    ("llama-3.1-8b", "p5.48xlarge", 64, Plan(tp=2, pp=1, dp=32, global_batch=256, seq_len=8192, precision="fp8")),
    ("llama-3.1-70b", "p5.48xlarge", 512, Plan(tp=8, pp=4, dp=16, vpp=2, global_batch=1024, seq_len=4096)),
    ("llama-3.1-405b", "trn3-ultraserver-gen2", 128, Plan(tp=8, pp=8, dp=2, global_batch=256, seq_len=8192,
                                                          recompute="full")),
    ("mixtral-8x7b", "p5.48xlarge", 64, Plan(tp=2, pp=2, dp=16, ep=8, global_batch=256, seq_len=4096)),
    ("llama-2-7b", "trn1.32xlarge", 512, Plan(tp=4, pp=4, dp=32, global_batch=1024, seq_len=4096)),
]


def _time(fn, n: int) -> float:
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main(quick: bool = False) -> None:
    n = 5 if quick else 20
    print(f"{'model':16s} {'system':24s} {'plan':28s} {'cold ms':>8s} {'warm ms':>8s} {'result ms':>9s} {'detailed ms':>11s}")
    worst = 0.0
    for model_name, system_name, chips, plan in CASES:
        model, system = load_model(model_name), load_system(system_name)
        step_time(model, system, plan, chips=chips)  # import / catalog warm-up

        def cold():
            _costs._COMPUTE_CACHE.clear()
            step_time(model, system, plan, chips=chips)

        t_cold = _time(cold, n)
        step_time(model, system, plan, chips=chips)
        other = plan.with_(recompute="selective" if plan.recompute != "selective" else "none")
        t_warm = _time(lambda: step_time(model, system, other, chips=chips), n)
        t_res = _time(lambda: simulate_training(model, system, plan, chips=chips, check_memory=False), n)
        t_det = _time(lambda: simulate_training(model, system, plan, chips=chips, check_memory=False,
                                                fidelity="detailed"), max(3, n // 4))
        worst = max(worst, t_cold)
        print(f"{model_name:16s} {system_name:24s} {plan.label():28s} {t_cold * 1e3:8.2f} {t_warm * 1e3:8.3f} "
              f"{t_res * 1e3:9.3f} {t_det * 1e3:11.2f}")
    print(f"worst cold analytic step time: {worst * 1e3:.2f} ms per (model, system, plan) (target < 5 ms)")
    for model_name, system_name, chips, gbs, seq in [("llama-3.1-405b", "trn3-ultraserver-gen2", 144, 1152, 8192),
                                                     ("llama-3.1-70b", "p5.48xlarge", 1024, 1024, 8192)]:
        model, system = load_model(model_name), load_system(system_name)
        _costs._COMPUTE_CACHE.clear()
        res = auto_plans(model, system, chips, seq_len=seq, global_batch=gbs)
        print(f"--plan auto {model_name} on {chips} x {system.chip_.name}: {res.evaluated} valid plans in "
              f"{res.seconds:.2f} s = {res.plans_per_s:,.0f} plans/s; best {res.results[0].plan.label()} "
              f"{res.results[0].step_time:.2f} s/step")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)

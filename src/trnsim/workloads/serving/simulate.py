"""``simulate_serving(model, system, deployment, workload) -> ServingResult``: the event-driven path."""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from trnsim.errors import TrnsimError
from trnsim.sim import Simulator
from trnsim.workloads.serving.cost import IterationCost
from trnsim.workloads.serving.deployment import Deployment, MemoryPlan, memory_plan
from trnsim.workloads.serving.engine import Replica, Stats
from trnsim.workloads.serving.result import SLO, ServingResult, latency_stats
from trnsim.workloads.serving.workload import Request, Workload


def resolve(model: Any, system: Any) -> tuple[Any, Any, Any]:
    """(model spec, system spec or None, chip spec) from names or objects. ``system`` may name a chip."""
    if isinstance(model, str):
        from trnsim.models import load_model

        model = load_model(model)
    if isinstance(system, str):
        from trnsim.hardware import catalog, load_chip, load_system

        cat = catalog()
        if cat.resolve_name("system", system):
            system = load_system(system)
        elif cat.resolve_name("chip", system):
            return model, None, load_chip(system)
        else:
            system = load_system(system)  # raises the catalog's one-line error with suggestions
    chip = getattr(system, "chip_", None) or system
    if getattr(chip, "hbm_capacity", None) is None:
        raise TrnsimError(f"{system!r} is neither a system nor a chip")
    return model, (system if chip is not system else None), chip


class _Pool:
    """Replicas of one role plus the router that picks among them."""

    def __init__(self, replicas: list[Replica], policy: str) -> None:
        self.replicas = replicas
        self.policy = policy
        self.rr = 0

    def pick(self, req: Request) -> Replica:
        reps = self.replicas
        if len(reps) == 1:
            return reps[0]
        if self.policy == "prefix_affinity" and req.prefix_group >= 0:
            return reps[req.prefix_group % len(reps)]
        if self.policy in ("least_loaded", "prefix_affinity"):
            return min(reps, key=lambda r: (r.outstanding, r.idx))
        r = reps[self.rr % len(reps)]
        self.rr += 1
        return r


def _build_pool(sim: Simulator, model: Any, system: Any, chip: Any, dep: Deployment, stats: Stats, role: str,
                cost: IterationCost | None, plan: MemoryPlan, offset: int, **kw) -> list[Replica]:
    """``dep.replicas`` replicas; a PP replica becomes ``pp`` virtual engines sharing its KV cache (each
    runs the full model, stage by stage, on its own batch: vLLM's virtual engines)."""
    cost = cost or IterationCost(model, chip, dep, system=system)
    out = []
    ve = dep.pp
    if ve > 1:
        from dataclasses import replace

        plan = replace(plan, kv_blocks=max(1, plan.kv_blocks // ve))
    for i in range(dep.replicas * ve):
        name = f"{role}{i // ve}" + (f".ve{i % ve}" if ve > 1 else "")
        out.append(Replica(offset + i, sim, cost, dep, plan, stats, role=role, name=name, **kw))
    return out


def simulate_serving(model: Any, system: Any, deployment: Deployment, workload: Workload, *,
                     slo: SLO | None = None, trace: bool = False,
                     progress: Callable[[int, int], None] | None = None,
                     cost: IterationCost | None = None, max_sim_time: float | None = None) -> ServingResult:
    """Simulate ``workload`` on ``deployment`` of ``model`` on ``system`` request by request.

    ``model``/``system`` may be names. ``slo`` defines goodput (default: none, so every completed request
    counts). ``trace`` keeps the batch list for :meth:`ServingResult.write_perfetto`. ``progress(done,
    total)`` is called as requests complete. ``cost`` injects an :class:`IterationCost` (tests).
    """
    wall0 = time.perf_counter()
    model, sys_spec, chip = resolve(model, system)
    dep = deployment
    slo = slo or SLO()
    sim = Simulator()
    stats = Stats(trace=trace)
    reqs = workload.requests()
    n_total = len(reqs)
    done = [0]
    step = max(1, n_total // 200)

    plan = memory_plan(model, chip, dep)
    longest = max(r.isl + r.osl for r in reqs)
    if longest > plan.kv_tokens // max(1, dep.pp):
        raise TrnsimError(
            f"a request needs {longest:,} KV tokens but a replica's cache holds {plan.kv_tokens // max(1, dep.pp):,}",
            "raise --tp, shorten the requests or lower the precision",
        )

    def finished(r: Request) -> None:
        done[0] += 1
        if progress is not None and (done[0] % step == 0 or done[0] == n_total):
            progress(done[0], n_total)
        if closed is not None:
            closed(r)

    closed: Callable[[Request], None] | None = None
    transfer = None
    if dep.disaggregated:
        pdep = dep.prefill_deployment()
        pplan = memory_plan(model, chip, pdep)
        decode = _Pool(_build_pool(sim, model, sys_spec, chip, dep.with_(disaggregated=False), stats, "decode",
                                   cost, plan, 0, on_finish=finished), dep.router)
        transfer = _kv_transfer_fn(model, sys_spec, chip, dep)

        def handoff(r: Request, _rep: Replica) -> None:
            if r.generated >= r.osl:
                r.finish = sim.now
                finished(r)
                return
            dt = transfer(r.isl + r.generated - 1)
            stats.kv_transfers += 1
            stats.kv_transfer_time += dt
            sim.after(dt, lambda: decode.pick(r).receive_prefilled(r))

        prefill = _Pool(_build_pool(sim, model, sys_spec, chip, pdep, stats, "prefill", None, pplan,
                                    len(decode.replicas), on_first_token=handoff), dep.router)
        entry = prefill
        all_reps = prefill.replicas + decode.replicas
    else:
        entry = _Pool(_build_pool(sim, model, sys_spec, chip, dep, stats, "replica", cost, plan, 0,
                                  on_finish=finished), dep.router)
        all_reps = entry.replicas

    def arrive(r: Request) -> None:
        entry.pick(r).enqueue(r)

    if workload.arrival == "concurrency":
        pending = iter(reqs)
        first = [next(pending, None) for _ in range(min(workload.concurrency, n_total))]

        def closed_next(_r: Request) -> None:
            nxt = next(pending, None)
            if nxt is not None:
                nxt.arrival = sim.now
                sim.after(0.0, arrive, nxt)

        closed = closed_next
        for r in first:
            r.arrival = 0.0
            sim.at(0.0, arrive, r)
    else:
        # arrivals are scheduled lazily (one pending arrival event at a time) to keep the heap small
        it = iter(reqs)

        def next_arrival() -> None:
            r = nxt[0]
            arrive(r)
            while True:
                n = next(it, None)
                if n is None:
                    return
                if n.arrival <= sim.now:
                    arrive(n)
                    continue
                nxt[0] = n
                sim.at(n.arrival, next_arrival)
                return

        first_r = next(it, None)
        nxt = [first_r]
        if first_r is not None:
            sim.at(first_r.arrival, next_arrival)

    sim.run(until=max_sim_time)
    wall = time.perf_counter() - wall0
    return _result(model, sys_spec, chip, dep, workload, reqs, stats, slo, plan, wall, all_reps)


def _kv_transfer_fn(model: Any, system: Any, chip: Any, dep: Deployment) -> Callable[[int], float]:
    """Seconds to move a sequence's KV cache (all layers) from a prefill to a decode replica. The prefill
    and decode chips pair up (tp-to-tp), each sending its shard: over the scale-up fabric if both pools fit
    in one scale-up domain, else over the scale-out fabric (the per-chip NIC share)."""
    from trnsim.workloads.serving.deployment import kv_bytes_per_token

    per_tok = kv_bytes_per_token(model, dep.kv_dtype_, dep.tp, dep.pp)  # per chip
    if system is not None and dep.total_chips <= system.scale_up.domain_size:
        bw, lat = float(chip.scale_up_bandwidth.si), float(system.scale_up.latency.si)
    elif system is not None and system.scale_out is not None:
        bw = float(system.scale_out.bandwidth_per_node.si) / system.chips_per_node
        lat = float(system.scale_out.latency.si)
    else:
        bw, lat = float(chip.scale_up_bandwidth.si), 5e-6
    from trnsim.workloads.serving import calibration as cal

    eff = cal.KV_TRANSFER_EFF

    def f(tokens: int) -> float:
        return lat + tokens * per_tok / (bw * eff)

    return f


def _result(model, system, chip, dep, workload, reqs, stats, slo, plan, wall, replicas) -> ServingResult:
    arr = np.array([r.arrival for r in reqs])
    fin = np.array([r.finish for r in reqs])
    ft = np.array([r.first_token for r in reqs])
    sched = np.array([r.scheduled for r in reqs])
    isl = np.array([r.isl for r in reqs])
    osl = np.array([r.osl for r in reqs])
    ok = np.isfinite(fin)
    ttft = ft - arr
    e2e = fin - arr
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(osl > 1, (fin - ft) / (osl - 1), np.nan)
    queue = sched - arr
    completed = int(ok.sum())
    t_start = float(np.nanmin(arr)) if len(arr) else 0.0
    t_end = float(np.nanmax(fin)) if completed else t_start
    duration = max(t_end - t_start, 1e-12)
    chips = dep.total_chips
    # goodput
    good = ok.copy()
    for v, lim in ((ttft, slo.ttft), (tpot, slo.tpot), (e2e, slo.e2e)):
        if lim is not None:
            good &= ~(v > lim)
    # KV utilisation: time-weighted mean over replicas' samples
    kv_series: list[tuple[float, float]] = []
    kv_mean = kv_max = 0.0
    if stats.kv_samples:
        nrep = len(replicas)
        cur = [0.0] * nrep
        idx = {rep.idx: i for i, rep in enumerate(replicas)}
        last_t = t_start
        area = 0.0
        total = 0.0  # running sum of the replicas' current utilisation
        every = max(1, len(stats.kv_samples) // 2000)
        for j, (t, rid, u) in enumerate(stats.kv_samples):
            area += total / nrep * (t - last_t)
            last_t = t
            i = idx[rid]
            total += u - cur[i]
            cur[i] = u
            if u > kv_max:
                kv_max = u
            if j % every == 0:
                kv_series.append((t, total / nrep))
        kv_mean = area / max(last_t - t_start, 1e-12)
    itl = {"mean": stats.itl_mean(), "p50": stats.itl_quantile(0.5), "p90": stats.itl_quantile(0.9),
           "p99": stats.itl_quantile(0.99), "max": stats.itl_quantile(1.0)}
    return ServingResult(
        model=getattr(model, "name", str(model)),
        system=getattr(system, "name", None) or getattr(chip, "name", ""),
        deployment=dep.describe(), workload=workload.describe(), chips=chips,
        num_requests=len(reqs), completed=completed, duration=duration,
        requests_per_s=completed / duration,
        input_tokens_per_s=float(isl[ok].sum()) / duration,
        output_tokens_per_s=float(osl[ok].sum()) / duration,
        ttft=latency_stats(ttft[ok]), tpot=latency_stats(tpot[ok]), itl=itl, e2e=latency_stats(e2e[ok]),
        queue=latency_stats(queue[ok]),
        kv_utilisation={"mean": kv_mean, "max": kv_max}, kv_series=kv_series, slo=slo,
        goodput_requests_per_s=int(good.sum()) / duration,
        slo_attainment=int(good.sum()) / max(1, len(reqs)),
        preemptions=stats.preemptions, prefill_tokens=stats.prefill_tokens,
        cached_prompt_tokens=stats.cached_tokens, iterations=stats.iterations, events=stats.events,
        kv_transfer_s=stats.kv_transfer_time, memory=plan.to_dict(), wall_seconds=wall,
        per_request={"id": np.array([r.id for r in reqs]), "arrival": arr, "isl": isl, "osl": osl,
                     "ttft": ttft, "tpot": tpot, "e2e": e2e, "queue": queue,
                     "preemptions": np.array([r.preemptions for r in reqs])},
        batches=stats.batches,
    )


__all__ = ["simulate_serving", "resolve"]


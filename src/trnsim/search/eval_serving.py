"""The ``serving`` sweep kind: analytic steady state of one deployment per configuration.

Keys: ``model``, ``system``, ``tp`` (chips per replica), ``replicas`` (default: as many as the system
holds), ``isl``, ``osl``, ``precision`` (default fp8), and either ``batch`` or SLO limits
``slo_tpot_ms`` / ``slo_ttft_ms`` (the largest batch that meets them), ``price_per_chip_hour``,
``kernel_speed`` (software stack speed: a number or a named release, default 1.0; ``Deployment.kernel_speed``).
"""

from __future__ import annotations

from typing import Any

from trnsim.economics import serving_utilization, system_power, usd_per_million_tokens
from trnsim.errors import TrnsimError
from trnsim.search.eval_training import model_and_system, prune_reason
from trnsim.search.evaluators import Metrics, Pruned, evaluator, price_per_chip_hour


def _deployment(cfg: dict[str, Any], replicas: int, tp: float):
    from trnsim.workloads.serving import Deployment
    from trnsim.workloads.serving.calibration import parse_kernel_speed

    return Deployment(replicas=replicas, tp=tp, dtype=str(cfg.get("precision", "fp8")),
                      kernel_speed=parse_kernel_speed(cfg.get("kernel_speed", 1.0)))


@evaluator("serving")
def evaluate(cfg: dict[str, Any]) -> Metrics:
    from trnsim.workloads.serving import analytic_serving
    from trnsim.workloads.serving.analytic import max_batch_under

    model, system = model_and_system(cfg)
    tp = float(cfg.get("tp", 1))
    replicas = int(cfg.get("replicas") or max(1, int(system.num_chips // tp)))
    dep = _deployment(cfg, replicas, tp)
    isl, osl = int(cfg.get("isl", 1024)), int(cfg.get("osl", 256))
    try:
        if "batch" in cfg:
            r = analytic_serving(model, system, dep, isl=isl, osl=osl, batch=int(cfg["batch"]))
        else:
            tpot, ttft = cfg.get("slo_tpot_ms"), cfg.get("slo_ttft_ms")
            r = max_batch_under(model, system, dep, isl=isl, osl=osl,
                                tpot=float(tpot) / 1e3 if tpot else None, ttft=float(ttft) / 1e3 if ttft else None)
            if (tpot and r.tpot_s * 1e3 > float(tpot)) or (ttft and r.ttft_s * 1e3 > float(ttft)):
                raise Pruned("SLO not met even at batch 1")
    except TrnsimError as e:
        raise Pruned(prune_reason(str(e))) from None
    per_chip = r.output_tokens_per_s_per_chip
    power = system_power(system, serving_utilization(model, system.chip_, r, dep.tp, dep.dtype, dep.kv_dtype_)).per_chip_facility_w
    out: Metrics = {"batch": r.batch, "out_tok_s_per_chip": per_chip, "out_tok_s": r.output_tokens_per_s,
                    "ttft_ms": r.ttft_s * 1e3, "tpot_ms": r.tpot_s * 1e3, "joules_per_token": power / per_chip}
    price = price_per_chip_hour(cfg, system)
    if price is not None:
        out["usd_per_mtok"] = usd_per_million_tokens(per_chip, price)
    return out


def refine_event(cfg: dict[str, Any], row: dict[str, Any], *, load: float = 0.9, requests: int = 2000,
                 seed: int = 0) -> Metrics:
    """Event-driven check of an analytic serving row: one replica at ``load`` x the analytic rate;
    returns the simulated latency percentiles and SLO attainment (``event_*`` metrics)."""
    from trnsim.workloads.serving import SLO, Workload, simulate_serving

    model, system = model_and_system(cfg)
    tp = float(cfg.get("tp", 1))
    dep = _deployment(cfg, 1, tp)
    isl, osl = int(cfg.get("isl", 1024)), int(cfg.get("osl", 256))
    replicas = int(cfg.get("replicas") or max(1, int(system.num_chips // tp)))
    qps = load * row["out_tok_s"] / osl / replicas
    tpot, ttft = cfg.get("slo_tpot_ms"), cfg.get("slo_ttft_ms")
    slo = SLO(ttft=float(ttft) / 1e3 if ttft else None, tpot=float(tpot) / 1e3 if tpot else None)
    ev = simulate_serving(model, system, dep, Workload.poisson(qps=qps, isl=isl, osl=osl,
                                                                num_requests=max(requests, 30 * int(row["batch"])),
                                                                seed=seed), slo=slo)
    return {"event_ttft_p99_ms": ev.ttft["p99"] * 1e3, "event_tpot_p99_ms": ev.tpot["p99"] * 1e3,
            "event_slo_attainment": ev.slo_attainment, "event_load": load}

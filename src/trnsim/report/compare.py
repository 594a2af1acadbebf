"""Run one workload (training and/or serving) on several systems and collect a ComparisonReport.

Training: the same cluster size on every system, the fastest plan that fits (``auto_plans``).
Serving: one whole system per candidate; for each tensor-parallel width the analytic model bounds the
SLO-limited rate, and the event-driven engine finds the highest load whose p99 TTFT and TPOT meet the
SLO (that run's measured throughput and percentiles are reported). Prices come from the catalog, a same-chip sibling system, or the workload file; where none
exists the report gives the break-even price against the baseline instead of inventing one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from trnsim.economics import Utilization, serving_utilization, system_power, usd_per_million_tokens
from trnsim.errors import TrnsimError
from trnsim.hardware import catalog, load_system
from trnsim.hardware.specs import SystemSpec
from trnsim.report.claims import catalog_claims, efficiency_claim
from trnsim.report.model import Column, ComparisonReport, Curve, ExplainItem, Section, SystemRow
from trnsim.report.workload import ServingSpec, TrainingSpec, Workload

GiB = 2**30
Progress = Callable[[str], None]


@dataclass(frozen=True)
class PriceInfo:
    usd_per_chip_hour: float | None
    label: str  # where it came from


def price_for(system: SystemSpec, wl: Workload) -> PriceInfo:
    """$ per chip-hour: workload override, the system's catalog price, or a same-chip sibling's."""
    user = wl.compare.price_per_chip_hour.get(system.name)
    if user is not None:
        return PriceInfo(user, "workload file (user-given)")
    for kind in wl.compare.price_kinds:
        q = getattr(system.price, kind, None)
        if q is not None:
            return PriceInfo(q.si / system.num_chips, f"{kind.replace('_', '-')}, {q.source} ({q.kind})")
    cat = catalog()
    for name in cat.names("system"):
        other = cat.system(name)
        if other.chip == system.chip and other.name != system.name:
            for kind in wl.compare.price_kinds:
                q = getattr(other.price, kind, None)
                if q is not None:
                    return PriceInfo(q.si / other.num_chips,
                                     f"per chip as {other.name} {kind.replace('_', '-')} ({q.source}, {q.kind})")
    return PriceInfo(None, "no published price")


def _usd_per_mtok(price: float | None, tokens_per_s_per_chip: float) -> float | None:
    if price is None or tokens_per_s_per_chip <= 0:
        return None
    return usd_per_million_tokens(tokens_per_s_per_chip, price)


# ----------------------------------------------------------------------------- training
TRAIN_COLUMNS = [
    Column("plan", "plan", "", better=""),
    Column("step_time_s", "step time", "s", better="lower", fmt=".3g"),
    Column("tokens_per_s_per_chip", "tokens/s per chip", "tok/s"),
    Column("tokens_per_s", "tokens/s (cluster)", "tok/s", fmt=",.0f"),
    Column("mfu", "MFU", "", fmt=".1%"),
    Column("mem_per_chip_gib", "memory per chip", "GiB", better=""),
    Column("mem_headroom_gib", "memory headroom", "GiB", better=""),
    Column("power_per_chip_w", "power per chip (facility)", "W", better="lower", fmt=",.0f"),
    Column("joules_per_token", "energy per token", "J/tok", better="lower"),
    Column("usd_per_mtok", "$ per million tokens", "$", better="lower"),
    Column("days_to_train", "days to train", "days", better="lower", fmt=".3g"),
    Column("usd_to_train_m", "cost to train", "$M", better="lower", fmt=".3g"),
    Column("breakeven_usd_per_chip_hour", "break-even price vs baseline", "$/chip-h", better="", fmt=".3g"),
]


def run_training(spec: TrainingSpec, system: SystemSpec, price: PriceInfo, executor: Any = None) -> tuple[dict[str, Any], Any]:
    from trnsim.models import load_model
    from trnsim.workloads.training import auto_plans

    model = load_model(spec.model)
    chip = system.chip_
    prec = chip.best_dtype() if spec.precision == "auto" else spec.precision
    res = auto_plans(model, system, spec.chips, seq_len=spec.seq, global_batch=spec.global_batch,
                     precision=prec, top=1, executor=executor).results[0]
    per_chip = res.tokens_per_s / res.chips
    jpt = res.energy_per_step_j / res.tokens_per_step
    days = res.time_to_train(spec.train_tokens) / 86400
    usd = _usd_per_mtok(price.usd_per_chip_hour, per_chip)
    vals = {
        "plan": f"{res.plan.label()} ({prec})" if hasattr(res.plan, "label") else prec,
        "step_time_s": res.step_time, "tokens_per_s_per_chip": per_chip, "tokens_per_s": res.tokens_per_s,
        "mfu": res.mfu, "mem_per_chip_gib": res.memory.total / GiB, "mem_headroom_gib": res.memory.headroom / GiB,
        "power_per_chip_w": res.system_power_w / res.chips if res.system_power_w else None,
        "joules_per_token": jpt, "usd_per_mtok": usd, "days_to_train": days,
        "usd_to_train_m": usd * spec.train_tokens / 1e6 / 1e6 if usd is not None else None,
    }
    return vals, res


# ----------------------------------------------------------------------------- serving
SERVE_COLUMNS = [
    Column("plan", "deployment", "", better=""),
    Column("out_tok_s_per_chip", "output tokens/s per chip", "tok/s"),
    Column("out_tok_s_system", "output tokens/s (system)", "tok/s", fmt=",.0f"),
    Column("ttft_p50_ms", "TTFT p50", "ms", better="lower"),
    Column("ttft_p99_ms", "TTFT p99", "ms", better="lower"),
    Column("tpot_p50_ms", "TPOT p50", "ms", better="lower"),
    Column("tpot_p99_ms", "TPOT p99", "ms", better="lower"),
    Column("slo_attainment", "requests in SLO", "", better="", fmt=".0%"),
    Column("mem_headroom_gib", "KV cache per chip", "GiB", better=""),
    Column("power_per_chip_w", "power per chip (facility)", "W", better="lower", fmt=",.0f"),
    Column("joules_per_token", "energy per output token", "J/tok", better="lower"),
    Column("usd_per_mtok", "$ per million output tokens", "$", better="lower"),
    Column("breakeven_usd_per_chip_hour", "break-even price vs baseline", "$/chip-h", better="", fmt=".3g"),
]


LOAD_FRACTIONS = (0.9, 0.75, 0.6, 0.45, 0.3, 0.15)


def _meets(ev: Any, spec: ServingSpec) -> bool:
    return ev.ttft["p99"] * 1e3 <= spec.slo_ttft_ms and not (ev.tpot["p99"] * 1e3 > spec.slo_tpot_ms)


def run_serving(spec: ServingSpec, system: SystemSpec, price: PriceInfo) -> tuple[dict[str, Any], Curve | None]:
    """Best deployment at the SLO: for each TP width, the analytic SLO-limited rate bounds the search; the
    event-driven engine (one replica; replicas are independent) then finds the highest offered load (a
    fraction of it) whose simulated p99 TTFT and TPOT meet the SLO. A stable queue serves its offered load,
    so that load is the throughput reported; the latency percentiles are the simulated ones."""
    from trnsim.models import load_model
    from trnsim.workloads.serving import SLO, Deployment, analytic_serving, memory_plan, simulate_serving
    from trnsim.workloads.serving import Workload as Requests
    from trnsim.workloads.serving.analytic import max_batch_under

    model = load_model(spec.model)
    chip = system.chip_
    prec = chip.best_dtype() if spec.precision == "auto" else spec.precision
    slo = SLO(ttft=spec.slo_ttft_ms / 1e3, tpot=spec.slo_tpot_ms / 1e3)
    best = None
    for tp in spec.tp:
        if tp > system.scale_up.domain_size or system.num_chips % tp:
            continue
        dep = Deployment(replicas=system.num_chips // tp, tp=tp, dtype=prec)
        try:
            r = max_batch_under(model, system, dep, isl=spec.isl, osl=spec.osl, tpot=slo.tpot, ttft=slo.ttft)
        except TrnsimError:
            continue  # the model does not fit at this width
        if best is not None and r.output_tokens_per_s_per_chip <= best[4] / best[0].total_chips:
            continue  # even the analytic bound cannot beat the best measured so far
        one = replace(dep, replicas=1)  # replicas are independent: simulate one, scale by the count
        for f in LOAD_FRACTIONS:
            qps = f * r.requests_per_s / dep.replicas
            wl = Requests.poisson(qps=qps, isl=spec.isl, osl=spec.osl,
                                  num_requests=max(spec.requests, 30 * r.batch), seed=spec.seed)
            ev = simulate_serving(model, system, one, wl, slo=slo)
            if _meets(ev, spec):
                rate = qps * spec.osl * dep.replicas  # a stable queue serves the offered load
                if best is None or rate / dep.total_chips > best[4] / best[0].total_chips:
                    best = (dep, r, ev, f, rate)
                break
    if best is None:
        raise TrnsimError(f"{spec.model} cannot meet the SLO on {system.name} at any TP in {spec.tp}")
    dep, r, ev, frac, rate = best
    per_chip = rate / dep.total_chips
    util = serving_utilization(model, chip, r, dep.tp, prec, dep.kv_dtype_)
    scale = per_chip / r.output_tokens_per_s_per_chip  # the measured load vs the analytic operating point
    util = Utilization(util.compute * scale, util.memory * scale, util.link * scale)
    power = system_power(system, util).per_chip_facility_w
    mem = memory_plan(model, chip, dep)
    vals = {
        "plan": f"{dep.replicas} x TP{dep.tp:g} ({prec}) at {frac:.0%} of the analytic SLO rate",
        "out_tok_s_per_chip": per_chip, "out_tok_s_system": rate,
        "ttft_p50_ms": ev.ttft["p50"] * 1e3, "ttft_p99_ms": ev.ttft["p99"] * 1e3,
        "tpot_p50_ms": ev.tpot["p50"] * 1e3, "tpot_p99_ms": ev.tpot["p99"] * 1e3,
        "slo_attainment": ev.slo_attainment, "mem_headroom_gib": mem.kv_bytes / GiB,
        "power_per_chip_w": power, "joules_per_token": power / per_chip,
        "usd_per_mtok": _usd_per_mtok(price.usd_per_chip_hour, per_chip),
    }
    xs, ys = [], []
    b = 1
    while b <= min(r.kv_batch_limit, dep.max_batch):
        a = analytic_serving(model, system, dep, isl=spec.isl, osl=spec.osl, batch=b)
        xs.append(a.tpot_s * 1e3)
        ys.append(a.output_tokens_per_s_per_chip)
        b *= 2
    curve = Curve(system.name, system.title, xs, ys, x_label="TPOT (ms, analytic steady state)") if xs else None
    return vals, curve


# ----------------------------------------------------------------------------- the whole comparison
def _breakeven(section: Section, baseline: str, rate_key: str) -> None:
    """Price per chip-hour at which each system's $/Mtok equals the baseline's."""
    base = next((r for r in section.rows if r.system == baseline), None)
    if base is None or base.values.get("usd_per_mtok") is None:
        return
    for r in section.rows:
        rate = r.values.get(rate_key)
        if isinstance(rate, (int, float)) and rate > 0:
            r.values["breakeven_usd_per_chip_hour"] = base.values["usd_per_mtok"] / 1e6 * rate * 3600


def _explain(system: SystemSpec, price: PriceInfo, dtype: str) -> list[ExplainItem]:
    chip = system.chip_
    items = []
    q = chip.peak_flops.get(dtype) or chip.peak_flops["bf16"]
    for label, qq in ((f"chip peak {dtype if dtype in chip.peak_flops else 'bf16'}", q),
                      ("chip HBM capacity", chip.hbm_capacity), ("chip HBM bandwidth", chip.hbm_bandwidth),
                      ("scale-up bandwidth per chip", system.scale_up.bandwidth_per_chip),
                      ("scale-up latency", system.scale_up.latency), ("chip TDP", chip.tdp)):
        if qq is not None:
            items.append(ExplainItem(system.name, label, f"{qq.value:g} {qq.unit}", f"{qq.source} ({qq.kind})"))
    if system.scale_out is not None:
        so = system.scale_out.bandwidth_per_node
        items.append(ExplainItem(system.name, "scale-out bandwidth per node", f"{so.value:g} {so.unit}", f"{so.source} ({so.kind})"))
    items.append(ExplainItem(system.name, "price", "-" if price.usd_per_chip_hour is None else f"${price.usd_per_chip_hour:.3f} per chip-hour", price.label))
    return items


def run_comparison(wl: Workload, progress: Progress | None = None, executor: Any = None) -> ComparisonReport:
    """Run ``wl`` on its systems; ``executor`` (a trnsim.search executor) runs the training plan search."""
    systems = [load_system(s) for s in wl.compare.systems]
    names = [s.name for s in systems]
    baseline = load_system(wl.baseline).name
    if baseline not in names:
        raise TrnsimError(f"baseline {baseline!r} is not among the compared systems", "add it to [compare] systems")
    rep = ComparisonReport(wl.compare.name, baseline, names, {s.name: s.title for s in systems})
    prices = {s.name: price_for(s, wl) for s in systems}
    say = progress or (lambda _m: None)
    if wl.training is not None:
        t = wl.training
        sec = Section("training", f"Training: {t.model}, {t.chips} chips, {t.global_batch} x {t.seq} tokens per step",
                      TRAIN_COLUMNS, [])
        for s in systems:
            say(f"training on {s.title}")
            try:
                vals, res = run_training(t, s, prices[s.name], executor)
                rep.breakdowns[s.name] = {"compute": res.breakdown.compute, "exposed comm": res.breakdown.exposed_comm,
                                          "bubble": res.breakdown.bubble, "optimizer": res.breakdown.optimizer,
                                          "overhead": res.breakdown.overhead}
                sec.rows.append(SystemRow(s.name, s.title, vals))
            except TrnsimError as e:
                sec.rows.append(SystemRow(s.name, s.title, {}, note=str(e)))
        _breakeven(sec, baseline, "tokens_per_s_per_chip")
        rep.sections.append(sec)
    if wl.serving is not None:
        v = wl.serving
        sec = Section("serving", f"Serving: {v.model}, ISL/OSL {v.isl}/{v.osl}, SLO TTFT<={v.slo_ttft_ms:g} ms, "
                                 f"TPOT<={v.slo_tpot_ms:g} ms", SERVE_COLUMNS, [])
        for s in systems:
            say(f"serving on {s.title}")
            try:
                vals, curve = run_serving(v, s, prices[s.name])
                sec.rows.append(SystemRow(s.name, s.title, vals))
                if curve is not None:
                    rep.curves.append(curve)
            except TrnsimError as e:
                sec.rows.append(SystemRow(s.name, s.title, {}, note=str(e)))
        _breakeven(sec, baseline, "out_tok_s_per_chip")
        rep.sections.append(sec)
    rep.claims = _claims(rep, names)
    for s in systems:
        dtype = s.chip_.best_dtype()
        rep.explain += _explain(s, prices[s.name], dtype)
    rep.assumptions = _assumptions(systems, prices, rep.breakdowns)
    return rep


def _claims(rep: ComparisonReport, names: list[str]) -> list:
    if not ({"trn3-ultraserver-gen2", "trn2-ultraserver"} <= set(names)):
        return []
    claims = catalog_claims()
    for sec in rep.sections:
        rows = {r.system: r for r in sec.rows}
        j3 = rows["trn3-ultraserver-gen2"].values.get("joules_per_token")
        j2 = rows["trn2-ultraserver"].values.get("joules_per_token")
        if j3 and j2:
            claims.append(efficiency_claim(1 / j3, 1 / j2, sec.title.split(":")[0].lower()))
    return claims


def _assumptions(systems: list[SystemSpec], prices: dict[str, PriceInfo],
                 breakdowns: dict[str, dict[str, float]]) -> list[str]:
    out = []
    for s in systems:
        tdp = s.chip_.tdp
        if tdp is not None and tdp.kind != "published":
            out.append(f"{s.chip_.title} TDP {tdp.value:g} {tdp.unit} is {tdp.kind} ({tdp.note or tdp.source}); "
                       "energy and power figures for it scale with this value")
        p = prices[s.name]
        if p.usd_per_chip_hour is None:
            out.append(f"{s.title}: no published price, so no $ figures; the break-even column gives the price "
                       "per chip-hour at which it would match the baseline's $ per token")
        elif "as " in p.label:
            out.append(f"{s.title}: priced {p.label}")
    newer = [s for s in systems if s.chip_.family != "gpu" and s.chip_.generation not in ("trn1", "inf2")]
    if newer:
        shares = [b["exposed comm"] / sum(b.values()) for n, b in breakdowns.items()
                  if n in {s.name for s in newer} and sum(b.values()) > 0]
        share = f" (exposed communication is {min(shares):.0%}-{max(shares):.0%} of their training step)" if shares else ""
        out.append("Trainium2/3 have no training or serving validation rows. Their collectives use the Neuron runtime model of "
                   "trnsim.network (`trnsim collective constants`), whose constants come from Neuron documentation "
                   "examples (nccom-test outputs, the compute/communication overlap guide): a launch floor per "
                   "collective (also between the NeuronCores of one chip) and a per-rank rate of CC-cores x one DMA "
                   f"engine, far below the NeuronLink rate, shared with compute DMA while compute runs{share}. If "
                   "newer runtimes drive more DMA engines per collective, the Trainium figures are pessimistic")
    out.append("Power model: utilisation-based (idle + dynamic share of TDP), host share and PUE from "
               "trnsim/economics/power.toml (all assumed).")
    return list(dict.fromkeys(out))

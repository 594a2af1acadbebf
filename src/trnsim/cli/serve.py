"""``trnsim serve``: simulate an LLM serving deployment under a request stream.

``--tp``/``--pp`` count what the platform's own docs count: NeuronCores on Trainium/Inferentia (2 per
Trn1/Inf2 chip; 4 logical cores per Trn2/Trn3 chip at the default LNC=2, so ``--tp 64`` on a
trn2.48xlarge is its 16 chips) and GPUs on GPU systems. ``--tp-unit chips`` takes chips instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from trnsim.cli.common import console, console_err, print_json
from trnsim.errors import TrnsimError


def command(
    model: str = typer.Option(..., "--model", "-m", help="Model name (e.g. llama-3.3-70b) or HF config.json path."),
    system: str = typer.Option(..., "--system", "-s", help="System (e.g. trn2.48xlarge, p5.48xlarge) or chip."),
    tp: float = typer.Option(1, "--tp", help="Tensor parallel degree per replica (NeuronCores on AWS, GPUs on GPUs)."),
    pp: int = typer.Option(1, "--pp", help="Pipeline stages per replica."),
    ep: int = typer.Option(1, "--ep", help="Expert parallel degree (MoE) within a replica."),
    tp_unit: str = typer.Option("auto", "--tp-unit", help="auto (cores on AWS, GPUs on GPU systems) or chips."),
    replicas: int = typer.Option(0, "--replicas", help="Replicas (default: as many as fit on the system)."),
    dtype: str = typer.Option("bf16", "--dtype", help="Precision: bf16, fp8, fp4, ..."),
    qps: float = typer.Option(1.0, "--qps", help="Poisson arrival rate, requests/s."),
    burstiness: float = typer.Option(1.0, "--cv", help="Coefficient of variation of inter-arrival times (gamma)."),
    concurrency: int = typer.Option(0, "--concurrency", help="Closed loop with N concurrent users (overrides --qps)."),
    offline: bool = typer.Option(False, "--offline", help="All requests queued at t=0 (max throughput)."),
    isl: str = typer.Option("1024", "--isl", help="Input length: N, uniform:LO:HI, lognormal:MEAN[:CV], file:PATH."),
    osl: str = typer.Option("128", "--osl", help="Output length (same forms as --isl)."),
    requests: int = typer.Option(1000, "--requests", "-n", help="Number of requests."),
    trace: Optional[Path] = typer.Option(None, "--trace", help="Trace file (CSV/JSONL: arrival, input/output lengths)."),
    prefix_groups: int = typer.Option(0, "--prefix-groups", help="Shared-prefix groups (prefix caching)."),
    prefix_len: int = typer.Option(0, "--prefix-len", help="Tokens of each group's shared prefix."),
    max_batch: int = typer.Option(256, "--max-batch", help="Max running sequences per replica."),
    max_tokens: int = typer.Option(8192, "--max-batched-tokens", help="Token budget per iteration."),
    block_size: int = typer.Option(16, "--block-size", help="KV cache block size (tokens)."),
    no_prefix_cache: bool = typer.Option(False, "--no-prefix-cache", help="Disable prefix caching."),
    disagg: int = typer.Option(0, "--disagg-prefill", help="Disaggregate: this many prefill replicas (rest decode)."),
    router: str = typer.Option("round_robin", "--router", help="round_robin, least_loaded or prefix_affinity."),
    kernel_speed: str = typer.Option("1.0", "--kernel-speed",
                                     help="Software stack speed vs the reference releases: a number (0.8 = kernels "
                                          "25% slower) or a named release (mlperf-v4.0, mlperf-v4.1)."),
    slo_ttft: Optional[float] = typer.Option(None, "--slo-ttft", help="TTFT SLO (ms) for goodput."),
    slo_tpot: Optional[float] = typer.Option(None, "--slo-tpot", help="TPOT SLO (ms) for goodput."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    analytic: bool = typer.Option(False, "--analytic", help="Steady-state analytic estimate only (fast)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write results: .json (summary) or .csv (per request)."),
    perfetto: Optional[Path] = typer.Option(None, "--perfetto", help="Write a Perfetto/Chrome trace of the batches."),
    json_out: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables."),
) -> None:
    """Simulate serving MODEL on SYSTEM: throughput, TTFT/TPOT/E2E percentiles, KV use, goodput."""
    from trnsim.workloads.serving import (
        SLO, Deployment, Workload, analytic_serving, chips_from_cores, resolve, simulate_serving,
    )
    from trnsim.workloads.serving.workload import LengthDist

    spec, sys_spec, chip = resolve(model, system)
    if tp_unit not in ("auto", "chips", "cores"):
        raise TrnsimError(f"--tp-unit {tp_unit!r} not understood", "use auto, chips or cores")
    tp_chips = tp if tp_unit == "chips" else chips_from_cores(chip, int(tp)) if chip.family != "gpu" else tp
    if tp_chips <= 0:
        raise TrnsimError(f"--tp must be positive, got {tp}")
    per_rep = tp_chips * pp
    n_sys = sys_spec.num_chips if sys_spec is not None else 1
    if disagg < 0:
        raise TrnsimError("--disagg-prefill must be >= 0")
    total_reps = replicas or max(1, int(n_sys // per_rep))
    if disagg and total_reps - disagg < 1:
        raise TrnsimError(f"--disagg-prefill {disagg} leaves no decode replica out of {total_reps}",
                          "lower it or raise --replicas")
    if router not in ("round_robin", "least_loaded", "prefix_affinity"):
        raise TrnsimError(f"--router {router!r} not understood", "use round_robin, least_loaded or prefix_affinity")
    from trnsim.workloads.serving.calibration import parse_kernel_speed

    try:
        speed = parse_kernel_speed(kernel_speed)
    except TrnsimError as e:
        raise TrnsimError(f"--kernel-speed: {e.message}", e.fix) from None
    dep = Deployment(replicas=total_reps - disagg if disagg else total_reps, tp=tp_chips, pp=pp, ep=ep,
                     dtype=dtype, max_batch=max_batch, max_batched_tokens=max_tokens, block_size=block_size,
                     prefix_caching=not no_prefix_cache, router=router,  # type: ignore[arg-type]
                     disaggregated=bool(disagg), prefill_replicas=disagg,
                     kernel_speed=speed)
    isl_d, osl_d = LengthDist.parse(isl), LengthDist.parse(osl)
    if analytic:
        r = analytic_serving(spec, sys_spec or chip, dep, isl=int(isl_d.mean), osl=int(osl_d.mean))
        if json_out:
            print_json(r.to_dict())
            return
        t = Table(title=f"{spec.name} on {getattr(sys_spec, 'name', chip.name)}: {dep.describe()} (analytic)")
        t.add_column("metric")
        t.add_column("value", justify="right")
        for k, v in r.to_dict().items():
            t.add_row(k, f"{v:,.4g}" if isinstance(v, float) else str(v))
        console.print(t)
        return
    kw = dict(prefix_groups=prefix_groups, prefix_len=prefix_len, seed=seed)
    if trace is not None:
        wl = Workload.from_trace(trace, num_requests=requests if requests != 1000 else None)
    elif offline:
        wl = Workload.offline(isl_d, osl_d, num_requests=requests, **kw)
    elif concurrency:
        wl = Workload.closed_loop(concurrency, isl_d, osl_d, num_requests=requests, **kw)
    elif burstiness != 1.0:
        wl = Workload.gamma(qps, burstiness, isl_d, osl_d, num_requests=requests, **kw)
    else:
        wl = Workload.poisson(qps, isl_d, osl_d, num_requests=requests, **kw)
    slo = SLO(ttft=slo_ttft / 1e3 if slo_ttft else None, tpot=slo_tpot / 1e3 if slo_tpot else None)
    progress_cb = None
    prog = None
    if not json_out and wl.num_requests >= 5000 and console_err.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        prog = Progress("simulating", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console_err,
                        transient=True)
        task = prog.add_task("requests", total=wl.num_requests)
        prog.start()
        progress_cb = lambda done, total: prog.update(task, completed=done)  # noqa: E731
    try:
        res = simulate_serving(spec, sys_spec or chip, dep, wl, slo=slo, trace=perfetto is not None,
                               progress=progress_cb)
    finally:
        if prog is not None:
            prog.stop()
    if out is not None:
        res.write(out)
    if perfetto is not None:
        res.write_perfetto(perfetto)
    if json_out:
        print_json(res.to_dict())
        return
    _warn_if_overloaded(wl, spec, sys_spec or chip, dep, isl_d.mean, osl_d.mean)
    t = Table(title=f"{res.model} on {res.system}: {res.deployment}", caption=res.workload)
    t.add_column("metric")
    t.add_column("value")
    for k, v in res.summary_rows():
        t.add_row(k, v)
    console.print(t)



def _warn_if_overloaded(wl, spec, system, dep, isl: float, osl: float) -> None:
    """One stderr line when an open-loop arrival rate exceeds the deployment's steady-state capacity (the
    analytic max-throughput rate at the mean lengths): the queue then grows for the whole run."""
    from trnsim.workloads.serving import analytic_serving

    if wl.arrival not in ("poisson", "gamma") or dep.disaggregated:
        return
    try:
        cap = analytic_serving(spec, system, dep, isl=max(1, round(isl)), osl=max(1, round(osl))).requests_per_s
    except TrnsimError:
        return
    if wl.qps > cap:
        console_err.print(f"[yellow]warning:[/] offered load {wl.qps:g} req/s exceeds the deployment's capacity "
                          f"(~{cap:.3g} req/s at the mean lengths): the queue grows and TTFT is mostly "
                          "queueing; lower --qps or add replicas/TP", soft_wrap=True)

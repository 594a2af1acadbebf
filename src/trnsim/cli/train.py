"""`trnsim train`: step time, MFU, memory, energy and cost of a parallel training run."""

from __future__ import annotations

from typing import Any, Optional

import typer
from rich.table import Table

from trnsim.cli.common import console, print_json
from trnsim.errors import TrnsimError

GiB = 2**30


def _fmt_s(x: float) -> str:
    if x >= 86400 * 2:
        return f"{x / 86400:.1f} d"
    if x >= 7200:
        return f"{x / 3600:.1f} h"
    if x >= 120:
        return f"{x / 60:.1f} min"
    if x >= 1:
        return f"{x:.3f} s"
    return f"{x * 1e3:.2f} ms"


def _parse_tokens(text: str | None) -> float | None:
    if not text:
        return None
    t = text.strip().upper().replace("_", "")
    mult = {"K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}
    try:
        if t[-1] in mult:
            return float(t[:-1]) * mult[t[-1]]
        return float(t)
    except (ValueError, IndexError):
        raise TrnsimError(f"--tokens {text!r} is not a number", "write e.g. 15T, 300B or 1e12") from None


def command(
    model: str = typer.Option(..., "--model", "-m", help="Model name (catalog) or path to a HF config.json."),
    system: str = typer.Option(..., "--system", "-s", help="System name from the catalog or a .toml path."),
    tp: int = typer.Option(1, "--tp", help="Tensor-parallel degree (chips)."),
    pp: int = typer.Option(1, "--pp", help="Pipeline-parallel stages."),
    dp: Optional[int] = typer.Option(None, "--dp", help="Data-parallel degree (default: chips / (tp x cp x pp))."),
    cp: int = typer.Option(1, "--cp", help="Context-parallel degree."),
    ep: int = typer.Option(1, "--ep", help="Expert-parallel degree (MoE models)."),
    vpp: int = typer.Option(1, "--vpp", help="Virtual stages per pipeline rank (>1: interleaved 1F1B)."),
    sp: Optional[bool] = typer.Option(None, "--sp/--no-sp", help="Sequence parallelism (default: on when tp > 1)."),
    zero: int = typer.Option(1, "--zero", help="ZeRO stage 0-3 (1 = distributed optimizer, 3 = FSDP)."),
    mbs: int = typer.Option(1, "--mbs", help="Micro-batch size (sequences)."),
    gbs: Optional[int] = typer.Option(None, "--gbs", help="Global batch (sequences; default dp x mbs x 4 x pp)."),
    seq: int = typer.Option(4096, "--seq", help="Sequence length (tokens)."),
    recompute: str = typer.Option("none", "--recompute", help="Activation recomputation: none, selective, full."),
    precision: str = typer.Option("bf16", "--precision", help="bf16, fp8, mxfp8 (Trn3), nvfp4 (Blackwell)."),
    overlap_tp: bool = typer.Option(False, "--overlap-tp", help="Overlap TP collectives with GEMMs."),
    lora_rank: int = typer.Option(0, "--lora-rank", help="LoRA fine-tuning with this adapter rank (0: full)."),
    plan_mode: str = typer.Option("manual", "--plan", help="'auto': search the valid plans (degrees given with "
                                  "--tp/--pp/... stay fixed), show the top 5."),
    chips: Optional[int] = typer.Option(None, "--chips", help="Chips to use (default: the whole system)."),
    executor: Optional[str] = typer.Option(None, "--executor", help="With --plan auto: evaluate the candidates on "
                                           "trnsim.search's executor: inprocess, processes or ray."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address for --executor ray."),
    tokens: Optional[str] = typer.Option(None, "--tokens", help="Tokens to train on (e.g. 15T) for time/energy/cost."),
    fidelity: str = typer.Option("analytic", "--fidelity", help="analytic or detailed (event-driven schedule)."),
    trace: Optional[str] = typer.Option(None, "--trace", help="Write a Perfetto trace of one step to this file."),
    json: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables."),
) -> None:
    """Predict a training step: time breakdown, tokens/s, MFU, memory per chip, energy and cost."""
    from trnsim.hardware import load_system
    from trnsim.models import load_model
    from trnsim.parallel import Plan
    from trnsim.workloads.training import auto_plans, simulate_training, write_trace

    spec = load_model(model)
    sysm = load_system(system)
    n = chips or (tp * cp * pp * dp if dp else sysm.num_chips)
    train_tokens = _parse_tokens(tokens)
    if plan_mode not in ("manual", "auto"):
        raise TrnsimError(f"--plan {plan_mode!r} not understood", "use --plan auto or leave it out")
    if plan_mode == "auto":
        g = gbs or max(n, 1)
        # degrees given explicitly (non-default) stay fixed; the search fills in the rest
        fixed: dict[str, Any] = {k: v for k, v in (("tp", tp), ("pp", pp), ("cp", cp), ("ep", ep), ("vpp", vpp),
                                                    ("micro_batch", mbs), ("zero", zero)) if v != 1}
        if dp is not None:
            fixed["dp"] = dp
        if recompute != "none":
            fixed["recompute"] = recompute
        ex = None
        if executor:
            from trnsim.search import make_executor

            ex = make_executor(executor, address=address)
        res = auto_plans(spec, sysm, n, seq_len=seq, global_batch=g, precision=precision, fixed=fixed,
                         overlap_tp=overlap_tp, lora_rank=lora_rank, executor=ex)
        best = res.results[0]
        if trace:
            write_trace(simulate_training(spec, sysm, best.plan, chips=n, fidelity="detailed"), trace)
        if json:
            print_json(res.to_dict())
            return
        t = Table(title=f"--plan auto: {spec.name} on {n} x {sysm.chip_.name} ({sysm.name}), gbs {g}, seq {seq}")
        for col in ("#", "plan", "step", "tokens/s", "MFU", "mem/chip GiB", "bubble", "exposed comm"):
            t.add_column(col, justify="right" if col not in ("plan",) else "left")
        for i, r in enumerate(res.results, 1):
            t.add_row(str(i), r.plan.label(), _fmt_s(r.step_time), f"{r.tokens_per_s:,.0f}", f"{r.mfu:.1%}",
                      f"{r.memory.total / GiB:.1f}", _fmt_s(r.breakdown.bubble), _fmt_s(r.breakdown.exposed_comm))
        console.print(t)
        console.print(f"{res.evaluated} valid plans evaluated in {res.seconds:.2f} s ({res.plans_per_s:,.0f} plans/s); "
                      f"{res.rejected_memory} did not fit in memory.")
        _print_result(best, train_tokens)
        return
    if dp is None:
        denom = tp * cp * pp
        if n % denom:
            raise TrnsimError(f"{n} chips are not divisible by tp x cp x pp = {denom}", "pass --dp or --chips")
        dp = n // denom
    plan = Plan(tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, vpp=vpp, sp=sp, zero=zero, micro_batch=mbs,
                global_batch=gbs if gbs is not None else dp * mbs * 4 * pp, seq_len=seq, recompute=recompute,
                precision=precision, overlap_tp=overlap_tp, lora_rank=lora_rank)
    r = simulate_training(spec, sysm, plan, chips=n, fidelity="detailed" if trace else fidelity)
    if trace:
        write_trace(r, trace)
    if json:
        print_json(r.to_dict(train_tokens))
        return
    _print_result(r, train_tokens)
    if trace:
        console.print(f"Perfetto trace written to {trace} (open in https://ui.perfetto.dev)")


def _print_result(r: Any, train_tokens: float | None) -> None:
    p = r.plan
    t = Table(title=f"{r.model} on {r.chips} x {r.chip} ({r.system}) [{p.label()}, {p.precision}, "
                    f"gbs {p.gbs} x seq {p.seq_len}, {p.schedule}]")
    t.add_column("metric")
    t.add_column("value", justify="right")
    b = r.breakdown
    rows = [
        ("step time", _fmt_s(r.step_time)),
        ("  compute", f"{_fmt_s(b.compute)} ({b.compute / r.step_time:.1%})"),
        ("  exposed communication", f"{_fmt_s(b.exposed_comm)} ({b.exposed_comm / r.step_time:.1%})"),
        ("  pipeline bubble", f"{_fmt_s(b.bubble)} ({b.bubble / r.step_time:.1%})"),
        ("  optimizer", f"{_fmt_s(b.optimizer)} ({b.optimizer / r.step_time:.1%})"),
        ("tokens/s", f"{r.tokens_per_s:,.0f}"),
        ("samples/s", f"{r.samples_per_s:,.2f}"),
        (f"MFU ({r.mfu_dtype} peak)", f"{r.mfu:.1%}"),
        ("model TFLOP/s per chip", f"{r.achieved_tflops_per_chip:,.1f}"),
        ("power per chip", f"{r.power_w:,.0f} W"),
        ("facility power (hosts, PUE)", f"{r.system_power_w / 1e3:,.1f} kW"),
        ("energy per step", f"{r.energy_per_step_j / 3.6e6:,.3f} kWh"),
    ]
    if r.cost_per_step is not None:
        rows.append(("cost per step (on-demand)", f"${r.cost_per_step:,.4f}"))
    if train_tokens:
        rows.append((f"time to train {train_tokens:.3g} tokens", _fmt_s(r.time_to_train(train_tokens))))
        rows.append(("energy to train", f"{r.energy_to_train(train_tokens) / 3.6e9:,.1f} MWh"))
        c = r.cost_to_train(train_tokens)
        if c is not None:
            rows.append(("cost to train (on-demand)", f"${c:,.0f}"))
    for k, v in rows:
        t.add_row(k, v)
    console.print(t)
    m = r.memory
    mt = Table(title=f"memory per chip (pipeline rank {m.stage}, {m.in_flight_micro_batches:g} micro-batches in flight)")
    for col in ("weights", "grads", "optimizer", "activations", "buffers", "reserved", "total", "capacity"):
        mt.add_column(col, justify="right")
    mt.add_row(*(f"{x / GiB:.1f} GiB" for x in (m.weights, m.gradients, m.optimizer, m.activations,
                                                 m.comm_buffers, m.reserved, m.total, m.capacity)))
    console.print(mt)
    for n in r.notes:
        console.print(f"note: {n}")

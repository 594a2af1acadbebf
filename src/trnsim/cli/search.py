"""`trnsim search SPEC.toml`: evaluate a sweep, print the Pareto front and the best per objective."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from trnsim.cli.common import console, print_json


def command(
    spec: Path = typer.Argument(..., help="Sweep spec (TOML)."),
    executor: str = typer.Option("processes", "--executor", "-e", help="inprocess, processes (all cores) or ray."),
    address: str = typer.Option(None, "--address", help="Ray cluster address (auto, ray://host:port); default: a local instance."),
    workers: int = typer.Option(0, "--workers", "-w", help="Worker processes (0 = all cores)."),
    out: Path = typer.Option(None, "--out", "-o", help="Write every configuration's row to .csv or .parquet (resumable)."),
    top: int = typer.Option(10, "--top", help="Rows of the Pareto front to print."),
    finalists: int = typer.Option(0, "--finalists", help="Serving sweeps: re-check this many Pareto-front rows "
                                  "with the event-driven engine (latency percentiles, SLO attainment)."),
    json: bool = typer.Option(False, "--json", help="Print the front and best rows as JSON."),
) -> None:
    """Sweep systems x models x plans x prices; print the Pareto front and the best configuration per objective."""
    from trnsim.search import load_spec, make_executor, run_sweep

    sw = load_spec(spec)
    ex = make_executor(executor, workers=workers, address=address)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True, disable=json) as bar:
        task = bar.add_task(f"{sw.name} ({ex.name})", total=sw.size)
        result = run_sweep(sw, ex, out=out, progress=lambda d, t: bar.update(task, completed=d, total=t))
    if finalists:
        from trnsim.search.runner import refine_finalists

        refine_finalists(result, finalists)
    if json:
        print_json({"evaluated": len(result.rows), "ok": len(result.ok), "pruned": dict(result.pruned),
                    "errors": dict(result.errors), "front": result.front, "best": result.best})
        return
    console.print(f"{len(result.rows)} configurations: {len(result.ok)} valid, "
                  f"{sum(result.pruned.values())} pruned, {sum(result.errors.values())} errors"
                  + (f" ({result.resumed} resumed from the journal)" if result.resumed else ""))
    if result.pruned:
        t = Table(title="Pruned (by reason)")
        t.add_column("reason")
        t.add_column("count", justify="right")
        for reason, n in result.pruned.most_common(10):
            t.add_row(reason, str(n))
        console.print(t)
    for reason, n in result.errors.most_common(3):
        console.print(f"[red]error[/] x{n}: {reason}")
    keys = list(sw.axes) + list(sw.objectives)
    if finalists:
        keys += ["event_tpot_p99_ms", "event_ttft_p99_ms", "event_slo_attainment"]
    if result.front:
        t = Table(title=f"Pareto front ({len(result.front)} configurations; objectives: "
                        + ", ".join(f"{k} {v}" for k, v in sw.objectives.items()) + ")")
        for k in keys:
            t.add_column(k, justify="right")
        for r in result.front[:top]:
            t.add_row(*(_cell(r.get(k)) for k in keys))
        console.print(t)
        b = Table(title="Best per objective")
        b.add_column("objective")
        for k in keys:
            b.add_column(k, justify="right")
        for obj, r in result.best.items():
            b.add_row(obj, *(_cell(r.get(k)) for k in keys))
        console.print(b)
    if out is not None:
        console.print(f"wrote {out}")


def _cell(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "-" if v is None else str(v)

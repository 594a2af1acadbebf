"""`trnsim compare`: one workload on several systems, side by side; optional HTML report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from trnsim.cli.common import console, print_json


def command(
    workload: Path = typer.Option(None, "--workload", "-w", help="Workload TOML (default: the built-in Trn3 launch comparison)."),
    systems: str = typer.Option(None, "--systems", help="Comma-separated systems, replacing the workload's list."),
    baseline: str = typer.Option(None, "--baseline", help="System the ratios are taken against."),
    html: Path = typer.Option(None, "--html", help="Write a self-contained HTML report (and PNG plots) into this folder."),
    explain: bool = typer.Option(False, "--explain", help="Print, per system, the inputs used and their sources."),
    executor: str = typer.Option("inprocess", "--executor", help="Where the plan search runs: inprocess, processes or ray."),
    address: str = typer.Option(None, "--address", help="Ray cluster address for --executor ray."),
    json: bool = typer.Option(False, "--json", help="Print the whole comparison as JSON."),
) -> None:
    """Run a training and/or serving workload on several systems: throughput, latency, MFU, memory, power, energy, $."""
    from trnsim.report.compare import run_comparison
    from trnsim.report.workload import load_workload

    wl = load_workload(workload)
    if systems or baseline:
        comp = wl.compare.model_copy(update={
            **({"systems": [s.strip() for s in systems.split(",") if s.strip()]} if systems else {}),
            **({"baseline": baseline} if baseline else {})})
        wl = wl.model_copy(update={"compare": comp})
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True, disable=json) as bar:
        task = bar.add_task("comparing", total=None)
        from trnsim.search import make_executor

        ex = None if executor == "inprocess" else make_executor(executor, address=address)
        rep = run_comparison(wl, progress=lambda msg: bar.update(task, description=msg), executor=ex)
    if json:
        print_json(rep.to_dict())
        return
    console.print(f"[bold]{rep.name}[/] (ratios vs {rep.titles[rep.baseline]})")
    for sec in rep.sections:
        t = Table(title=sec.title, show_lines=False)
        t.add_column("metric")
        for s in rep.systems:
            t.add_column(rep.titles[s], justify="right")
        for col in sec.columns:
            cells = []
            for s in rep.systems:
                row = next(r for r in sec.rows if r.system == s)
                v = row.values.get(col.key)
                if v is None:
                    cells.append("n/a" if row.values else "[red]failed[/]")
                    continue
                txt = format(v, col.fmt) if isinstance(v, (int, float)) else str(v)
                ratio = sec.ratio(row, col.key, rep.baseline) if col.better else None
                if ratio is not None and s != rep.baseline:
                    txt += f" [dim]({ratio:.2f}x)[/]"
                cells.append(txt)
            t.add_row(f"{col.label} [dim]{col.unit}[/]" if col.unit else col.label, *cells)
        console.print(t)
        for r in sec.rows:
            if r.note:
                console.print(f"  [red]{r.title}[/]: {r.note}")
    if rep.claims:
        c = Table(title="AWS launch claims, checked")
        for col in ("claim", "claimed", "trnsim", "verdict", "basis"):
            c.add_column(col)
        for cl in rep.claims:
            c.add_row(cl.claim, f"{cl.claimed:.2f}x" if cl.claimed else "-",
                      f"{cl.checked:.2f}x" if cl.checked else "-", cl.verdict, cl.basis)
        console.print(c)
    for a in rep.assumptions:
        console.print(f"  assumption: {a}")
    if explain:
        e = Table(title="Inputs and their sources")
        for col in ("system", "input", "value", "source"):
            e.add_column(col)
        for item in rep.explain:
            e.add_row(rep.titles[item.system], item.input, item.value, item.source)
        console.print(e)
    if html is not None:
        from trnsim.report.html import render

        path = render(rep, html)
        console.print(f"wrote {path}")

"""`trnsim validate`: predictions vs published measurements, per row and per category."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from trnsim.cli.common import console, print_json


def _fmt(v: float | None, spec: str = ".1f") -> str:
    return "-" if v is None else format(v, spec)


def _methods(methods: list[str]) -> str:
    if not methods:
        return ""
    first = methods[0] if len(methods[0]) <= 60 else methods[0][:57] + "..."
    return first + (f" (+{len(methods) - 1} more)" if len(methods) > 1 else "")


def command(
    path: Path = typer.Argument(None, help="Ground-truth CSV (default: the shipped development set)."),
    category: list[str] = typer.Option(None, "--category", "-c", help="Only these categories (repeatable)."),
    id: list[str] = typer.Option(None, "--id", help="Only these row ids (repeatable)."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the per-row table to .csv or .json."),
    summary_only: bool = typer.Option(False, "--summary-only", help="Skip the per-row table."),
    json: bool = typer.Option(False, "--json", help="Print JSON (rows and summary)."),
    group_by: str = typer.Option(None, "--group-by", "-g",
                                 help="Split each category's summary by accelerator, model, metric, system, "
                                      "workload or a config key (e.g. mlperf_inference, scenario, neuron_sdk)."),
) -> None:
    """Check predictions against published measurements: per-row signed error and a summary per category."""
    from trnsim.validate.harness import run_validation, write_results

    report = run_validation(path, categories=category or None, ids=id or None, group_by=group_by)
    if out is not None:
        write_results(report, out)
    if json:
        print_json({"rows": [asdict(r) for r in report.results],
                    "summary": [asdict(s) for s in report.summaries],
                    "row_errors": [asdict(e) for e in report.row_errors]})
        return
    if not summary_only:
        t = Table(title="Predicted vs measured", show_lines=False)
        for col in ("id", "metric", "measured", "predicted", "error %", "method"):
            t.add_column(col, justify="right" if col in ("measured", "predicted", "error %") else "left")
        for r in report.results:
            if r.status != "ok":
                continue
            t.add_row(r.id, r.metric, f"{r.measured:g} {r.unit}", f"{r.predicted:.4g}",
                      f"{r.error_pct:+.1f}", r.method)
        console.print(t)
    s = Table(title="Validation summary (|error| = |predicted - measured| / measured)")
    for col in ("category", "rows", "predicted", "no predictor", "median |err| %", "p90 |err| %", "bias %", "methods"):
        s.add_column(col, justify="left" if col in ("category", "methods") else "right")
    for c in report.summaries:
        s.add_row(c.label, str(c.rows), str(c.predicted), str(c.unsupported + c.errors),
                  _fmt(c.median_abs_error_pct), _fmt(c.p90_abs_error_pct), _fmt(c.bias_pct, "+.1f"),
                  _methods(c.methods))
    console.print(s)
    missing = report.unsupported_by_category()
    if missing:
        console.print("[bold]Rows without a prediction[/] (by category):")
        for cat, rows in sorted(missing.items()):
            reasons = sorted({r.note for r in rows})
            console.print(f"  {cat}: {len(rows)} — {reasons[0][:160]}" + (f" (+{len(reasons) - 1} other reasons)" if len(reasons) > 1 else ""))
    for e in report.row_errors:
        console.print(f"[yellow]skipped malformed row[/] line {e.line} ({e.id}): {e.message}")
    if out is not None:
        console.print(f"wrote {out}")

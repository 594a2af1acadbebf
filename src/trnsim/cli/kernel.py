"""``trnsim kernel``: run NKI kernel files on the CPU simulator."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from pathlib import Path

import typer
from rich.table import Table

from trnsim.cli.common import JsonOpt, console, print_json

app = typer.Typer(help="Run NKI kernels (both API generations) on the CPU with the hardware rules enforced.",
                  no_args_is_help=True)


def _summary(run) -> dict:
    return {
        "kernel": run.kernel,
        "target": run.target,
        "instructions": len(run.trace.instructions),
        "engines": run.engine_counts(),
        "peak_sbuf_bytes_per_partition": run.peak_sbuf_bytes,
        "sbuf_bytes_per_partition": run.sbuf_capacity,
        "peak_psum_bytes_per_partition": run.peak_psum_bytes,
        "psum_bytes_per_partition": run.psum_capacity,
        "grid": list(run.grid),
        "warnings": list(run.warnings),
    }


@app.command("run")
def run(
    file: Path = typer.Argument(..., help="Kernel script (runs as __main__; imports nki / neuronxcc.nki)."),
    target: str = typer.Option("trn2", "--target", "-t", help="trn1 | trn2 | trn3"),
    timing_only: bool = typer.Option(False, "--timing-only", help="Shapes only, no numerics (trace only)."),
    json: bool = JsonOpt,
) -> None:
    """Run FILE.py and summarise every kernel it launched."""
    from trnsim.nki import run_file

    if json:  # keep stdout machine-readable: the script's own prints go to stderr
        with contextlib.redirect_stdout(sys.stderr):
            runs = run_file(str(file), target=target, timing_only=timing_only)
    else:
        runs = run_file(str(file), target=target, timing_only=timing_only)
    rows = [_summary(r) for r in runs]
    if json:
        print_json({"file": str(file), "target": target, "timing_only": timing_only, "kernels": rows})
        return
    if not rows:
        console.print(f"{file}: no NKI kernel was run")
        return
    engines = ["tensor", "vector", "scalar", "gpsimd", "dma", "sync"]
    table = Table(title=f"{file.name} on {target}{' (timing only)' if timing_only else ''}")
    table.add_column("kernel")
    table.add_column("instr", justify="right")
    for e in engines:
        table.add_column(e, justify="right")
    table.add_column("peak SBUF", justify="right")
    table.add_column("peak PSUM", justify="right")
    for r in rows:
        sb = f"{r['peak_sbuf_bytes_per_partition'] / 1024:.1f} KiB ({100 * r['peak_sbuf_bytes_per_partition'] / max(r['sbuf_bytes_per_partition'], 1):.0f}%)"
        ps = f"{r['peak_psum_bytes_per_partition'] / 1024:.1f} KiB ({100 * r['peak_psum_bytes_per_partition'] / max(r['psum_bytes_per_partition'], 1):.0f}%)"
        table.add_row(r["kernel"], str(r["instructions"]), *[str(r["engines"].get(e, 0)) for e in engines], sb, ps)
    console.print(table)
    for r in rows:
        for w in r["warnings"]:
            console.print(f"[yellow]warning[/] {r['kernel']}: {w}", highlight=False, soft_wrap=True)


if importlib.util.find_spec("trnsim.cli.kernel_profile") is not None:
    app.command("profile")(importlib.import_module("trnsim.cli.kernel_profile").profile)

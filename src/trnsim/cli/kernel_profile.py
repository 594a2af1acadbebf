"""``trnsim kernel profile FILE.py``: how long each NKI kernel of a script takes on one NeuronCore.

Registered by :mod:`trnsim.cli.kernel` as the ``profile`` command.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from trnsim.cli.common import console, print_json
from trnsim.errors import TrnsimError


def _fmt_time(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3f} {unit}"
    return f"{s * 1e9:.0f} ns"


def _fmt_bytes(b: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if b >= scale:
            return f"{b / scale:.2f} {unit}"
    return f"{b:.0f} B"


def _tables(prof) -> list[Table]:
    head = Table(title=f"{prof.kernel or 'kernel'} on {prof.core} ({prof.target})", show_header=False)
    head.add_column("metric")
    head.add_column("value", justify="right")
    head.add_row("total time", _fmt_time(prof.total_time))
    head.add_row("instructions", f"{prof.instructions:,}")
    head.add_row("achieved TensorE FLOP/s", f"{prof.achieved_flops / 1e12:.2f} TFLOP/s")
    head.add_row("HFU / MFU", f"{100 * prof.hfu:.1f}% / {100 * prof.mfu:.1f}%  (bf16 peak "
                 f"{prof.peak_flops / 1e12:.1f} TFLOP/s)")
    hbm = prof.bytes["hbm"]
    head.add_row("HBM read / write", f"{_fmt_bytes(hbm['read'])} / {_fmt_bytes(hbm['write'])}")
    head.add_row("SBUF read / write", f"{_fmt_bytes(prof.bytes['sbuf']['read'])} / {_fmt_bytes(prof.bytes['sbuf']['write'])}")
    head.add_row("PSUM read / write", f"{_fmt_bytes(prof.bytes['psum']['read'])} / {_fmt_bytes(prof.bytes['psum']['write'])}")
    head.add_row("MBU", f"{100 * prof.mbu:.1f}% of {prof.memory_bandwidth / 1e9:.0f} GB/s")
    d = prof.dma
    head.add_row("DMA transfers", f"{d.transfers:,} (mean {_fmt_bytes(d.mean_transfer_bytes)}, "
                 f"{d.small_transfers:,} under 2 KiB/partition)")
    head.add_row("DMA bandwidth", f"{d.achieved_bandwidth / 1e9:.1f} GB/s of {d.peak_bandwidth / 1e9:.0f} GB/s")
    for space, m in prof.memory.items():
        head.add_row(f"peak {space.upper()}", f"{m.peak_bytes / 1024:.1f} KiB/partition of {m.capacity / 1024:.0f} KiB")
    busy = Table(title="engine busy")
    for e in prof.busy_pct:
        busy.add_column(e, justify="right")
    busy.add_row(*[f"{v:.1f}%" for v in prof.busy_pct.values()])
    cp = Table(title=f"critical path ({_fmt_time(prof.critical_path_time)}): top contributors")
    for c in ("track", "instruction", "source", "time", "count", "share"):
        cp.add_column(c, justify="right" if c in ("time", "count", "share") else "left")
    for c in prof.critical_path:
        share = 100 * c.time / prof.critical_path_time if prof.critical_path_time else 0.0
        cp.add_row(c.track, c.name, c.source, _fmt_time(c.time), str(c.count), f"{share:.1f}%")
    return [head, busy, cp]


def profile(
    file: Path = typer.Argument(..., help="NKI kernel script (runs as __main__; imports nki / neuronxcc.nki)."),
    target: str = typer.Option("trn2", "--target", "-t", help="trn1 | trn2 | trn3"),
    timing_only: bool = typer.Option(False, "--timing-only", help="Shapes only, no numerics (fast for full-size kernels)."),
    trace: Path | None = typer.Option(None, "--trace", help="Write a Chrome/Perfetto trace JSON (open in ui.perfetto.dev)."),
    json: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables."),
) -> None:
    """Simulate every kernel FILE.py runs on one NeuronCore and print its profile."""
    from trnsim.neuroncore import simulate
    from trnsim.neuroncore.perfetto import write
    from trnsim.nki import run_file

    if target.lower() not in ("trn1", "trn2", "trn3", "inf2", "gen2", "gen3", "gen4"):
        raise TrnsimError(f"unknown target {target!r}", "use --target trn1, trn2 or trn3")
    runs = run_file(str(file), target=target, timing_only=timing_only)
    if not runs:
        raise TrnsimError(f"{file}: no NKI kernel was run", "the script must call its kernel (e.g. under __main__)")
    profs = [simulate(r.trace) for r in runs]
    for r, p in zip(runs, profs):
        p.warnings[:0] = [w for w in getattr(r, "warnings", []) if w not in p.warnings]
    if trace is not None:
        write(profs, trace)
    if json:
        out = {"file": str(file), "target": target, "timing_only": timing_only,
               "kernels": [p.summary() for p in profs]}
        if trace is not None:
            out["trace"] = str(trace)
        print_json(out)
        return
    for p in profs:
        for t in _tables(p):
            console.print(t)
        for w in p.warnings:
            console.print(f"[yellow]warning[/] {p.kernel}: {w}", highlight=False, soft_wrap=True)
    if trace is not None:
        console.print(f"Perfetto trace written to {trace} (open it in https://ui.perfetto.dev)")

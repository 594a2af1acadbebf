"""`trnsim op`: time one operator on one chip (GEMM, attention) with the efficiency used and its source."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from trnsim.cli.common import JsonOpt, console, fmt_seconds, print_json
from trnsim.errors import TrnsimError

if TYPE_CHECKING:
    from trnsim.models.op import Op

app = typer.Typer(help="Operator costs: time one op on one chip.", no_args_is_help=True)
time_app = typer.Typer(help="Time one operator on a chip.", no_args_is_help=True)
app.add_typer(time_app, name="time")

ChipOpt = typer.Option(..., "--chip", "-c", help="Chip (trn2, trn3, h100, b200, ...) or a system, meaning its chip; `trnsim hw list`.")
DtypeOpt = typer.Option("bf16", "--dtype", "-d", help="bf16, fp16, fp8, mxfp8, fp32, ...")


def _show(op: Op, chip_name: str, json: bool, describe: str) -> None:
    from trnsim.hardware import load_chip
    from trnsim.ops import op_time

    chip = load_chip(chip_name)  # a system name gives its chip
    r = op_time(op, chip)
    if json:
        d = r.to_dict()
        d.update(op=op.kind, shape=dict(op.shape), chip_title=chip.title, description=describe)
        print_json(d)
        return
    t = Table(title=escape(f"{describe} on {chip.title}"), show_header=False)
    t.add_column("", style="bold")
    t.add_column("")
    t.add_row("time", fmt_seconds(r.seconds))
    if op.count != 1:
        t.add_row("per call", fmt_seconds(r.per_call_s))
    t.add_row("achieved", f"{r.achieved_tflops:,.1f} TFLOPS ({r.mfu * 100:.1f}% of {r.peak_flops / 1e12:,.0f} TF {r.dtype} peak), "
                          f"{r.achieved_bandwidth / 1e9:,.0f} GB/s")
    t.add_row("bound", r.bound)
    t.add_row("efficiency", f"{r.efficiency:.3f} on the {r.bound} roofline (compute {r.compute_efficiency:.3f}, "
                            f"memory {r.memory_efficiency:.3f}); utilisation of speed of light {r.utilisation:.3f}")
    t.add_row("terms", f"compute {fmt_seconds(r.compute_s)}, memory {fmt_seconds(r.memory_s)}, fixed {fmt_seconds(r.overhead_s)}, "
                       f"speed of light {fmt_seconds(r.sol_s)}")
    t.add_row("work", f"{r.flops / 1e9:,.2f} GFLOP, {r.bytes / 1e6:,.2f} MB")
    t.add_row("source", escape(r.source))
    console.print(t)


@time_app.command("gemm")
def gemm(
    m: int = typer.Option(..., "--m", help="Rows of A and C (tokens)."),
    n: int = typer.Option(..., "--n", help="Columns of B and C."),
    k: int = typer.Option(..., "--k", help="Contraction dimension."),
    chip: str = ChipOpt,
    dtype: str = DtypeOpt,
    batch: int = typer.Option(1, "--batch", help="Batched GEMM count."),
    json: bool = JsonOpt,
) -> None:
    """Time an (m x k) @ (k x n) GEMM."""
    from trnsim.ops import gemm_op

    op = gemm_op(m, n, k, dtype, batch=batch)
    _show(op, chip, json, f"GEMM {m}x{n}x{k} {op.dtype}" + (f" x{batch}" if batch > 1 else ""))


@time_app.command("attention")
def attention(
    chip: str = ChipOpt,
    batch: int = typer.Option(1, "--batch", "-b", help="Sequences in the batch."),
    seq: int = typer.Option(0, "--seq", help="Sequence length (q_len = kv_len = seq: prefill)."),
    q_len: int = typer.Option(0, "--q-len", help="Query tokens per sequence (1 = decode); default --seq."),
    kv_len: int = typer.Option(0, "--kv-len", help="Key/value tokens per sequence; default --seq."),
    heads: int = typer.Option(..., "--heads", help="Query heads."),
    kv_heads: int = typer.Option(0, "--kv-heads", help="Key/value heads (GQA); default = --heads."),
    head_dim: int = typer.Option(128, "--head-dim", help="Head dimension."),
    causal: bool = typer.Option(False, "--causal/--no-causal", help="Causal mask (decoder prefill)."),
    window: int = typer.Option(0, "--window", help="Sliding-window size (0 = none)."),
    dtype: str = DtypeOpt,
    json: bool = JsonOpt,
) -> None:
    """Time a FlashAttention-style attention forward (prefill with --seq, decode with --q-len 1 --kv-len N)."""
    from trnsim.ops import attention_op

    q = q_len or seq
    kv = kv_len or seq or q
    if not q or not kv:
        raise TrnsimError("attention needs --seq, or --q-len and --kv-len", "e.g. --seq 4096, or --q-len 1 --kv-len 8192")
    op = attention_op(batch, q, kv, heads, kv_heads or heads, head_dim, causal=causal, window=window, dtype=dtype)
    kind = "decode" if q == 1 else "prefill"
    _show(op, chip, json, f"attention {kind} b={batch} q={q} kv={kv} heads={heads}/{kv_heads or heads} d={head_dim} "
                          f"{'causal' if causal else 'non-causal'} {op.dtype}")

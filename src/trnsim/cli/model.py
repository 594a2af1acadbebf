"""`trnsim model`: list the model catalog, show a model's architecture, sizes and per-token costs, list its ops."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from trnsim.cli.common import JsonOpt, console, print_json
from trnsim.errors import TrnsimError
from trnsim.models import catalog_entry, list_models, load_model, summarize
from trnsim.models.layers import PHASES
from trnsim.models.spec import ModelSpec

app = typer.Typer(help="Model catalog: architectures, parameter counts, KV cache and FLOPs.", no_args_is_help=True)


def _b(n: float) -> str:
    """Human count: 405.85B, 335.1M."""
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.2f}{suf}" if suf in ("T", "B") else f"{n / div:.1f}{suf}"
    return f"{n:.0f}"


def _bytes(n: float) -> str:
    for div, suf in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= div:
            return f"{n / div:.1f} {suf}"
    return f"{n:.0f} B"


def _default_seq(m: ModelSpec) -> int:
    return min(4096, m.max_positions)


@app.command("list")
def list_(json: bool = JsonOpt) -> None:
    """List the catalog models with their sizes."""
    rows = []
    for name in list_models():
        m = load_model(name)
        e = catalog_entry(name)
        rows.append({
            "name": name, "display_name": e.display_name, "arch": m.arch,
            "type": "encoder" if not m.causal else ("moe" if m.moe else "dense"),
            "total_params": m.total_params, "active_params": m.active_params,
            "layers": m.layers, "hidden": m.hidden, "aliases": list(e.aliases),
        })
    if json:
        print_json(rows)
        return
    t = Table(title="trnsim model catalog")
    for col in ("name", "display name", "arch", "type", "params", "active", "layers", "hidden"):
        t.add_column(col, justify="right" if col in ("params", "active", "layers", "hidden") else "left")
    for r in rows:
        t.add_row(r["name"], r["display_name"], r["arch"], r["type"], _b(r["total_params"]), _b(r["active_params"]),
                  str(r["layers"]), str(r["hidden"]))
    console.print(t)


def _costs(m: ModelSpec, seq: int, dtype: str) -> dict[str, Any]:
    fwd = m.flops_per_token(seq)
    train = m.flops_per_token(seq, training=True)
    d: dict[str, Any] = {
        "seq_len": seq,
        "dtype": dtype,
        "weight_bytes": m.param_bytes(dtype),
        "kv_cache_bytes_per_token": m.kv_cache_bytes_per_token(dtype),
        "kv_cache_bytes_per_token_at_seq": m.kv_cache_bytes_per_token(dtype, context=seq),
        "forward_flops_per_token": fwd,
        "forward_2n_flops_per_token": 2 * m.matmul_params,
        "attention_flops_per_token": m.attention_flops_per_token(seq),
        "training_flops_per_token": train,
        "training_6n_flops_per_token": 6 * m.matmul_params,
    }
    return d


@app.command("show")
def show(
    name: str = typer.Argument(..., help="Catalog name (tolerant: 'Llama-3.1-405B', 'llama3.1-405b') or config.json path."),
    seq: int = typer.Option(0, "--seq", help="Sequence length for per-token FLOPs (default min(4096, max positions))."),
    dtype: str = typer.Option("bf16", "--dtype", help="dtype for weight and KV-cache bytes."),
    json: bool = JsonOpt,
) -> None:
    """Show a model's architecture, parameter counts (total/active), KV bytes per token and per-token FLOPs."""
    m = load_model(name)
    seq = seq or _default_seq(m)
    if seq < 1:
        raise TrnsimError(f"--seq must be positive, got {seq}")
    data = m.summary()
    data["source"] = m.source
    data["costs"] = _costs(m, seq, dtype)
    if json:
        print_json(data)
        return
    arch = Table(title=f"{data['display_name']} ({m.arch}, {data['type']})", show_header=False)
    arch.add_column("field")
    arch.add_column("value")
    rows = [
        ("hidden", m.hidden), ("layers", ", ".join(f"{lt.count} x {lt.name}" for lt in m.layer_types())),
        ("attention", _attn_desc(m)), ("ffn", _ffn_desc(m)), ("vocab", m.vocab),
        ("norm", m.norm), ("position", f"{m.position} (max {m.max_positions})"),
        ("embeddings", "tied" if m.tied_embeddings else "untied"), ("weights dtype", m.dtype),
        ("source", m.source),
    ]
    for note in m.notes:
        rows.append(("note", note))
    if m.mtp_layers:
        rows.append(("note", f"{m.mtp_layers} multi-token-prediction module(s) not counted and not in ops"))
    for k, v in rows:
        arch.add_row(k, str(v))
    console.print(arch)

    p = Table(title="parameters")
    p.add_column("count")
    p.add_column("value", justify="right")
    p.add_column("convention")
    p.add_row("total", _b(m.total_params), "all weights incl. embeddings, LM head if untied, every expert")
    p.add_row("active", _b(m.active_params), "per token: top-k + shared experts, incl. embedding table and LM head")
    p.add_row("active excl. input embedding", _b(m.active_params_excl_input_embedding), "gpt-oss model card convention")
    p.add_row("non-embedding", _b(m.non_embedding_params), "total minus embedding tables and untied LM head")
    p.add_row("matmul (N in 6N)", _b(m.matmul_params), "active weights used in matmuls per token")
    console.print(p)

    c = data["costs"]
    t = Table(title=f"per-token costs (seq {seq}, {dtype})")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("weights", _bytes(c["weight_bytes"]))
    t.add_row("KV cache per token", _bytes(c["kv_cache_bytes_per_token"]) if m.causal else "- (encoder)")
    if m.causal and m.sliding_window:
        t.add_row(f"KV cache per token at seq {seq}", _bytes(c["kv_cache_bytes_per_token_at_seq"]))
    t.add_row("forward FLOPs / token", f"{c['forward_flops_per_token'] / 1e9:.2f} GFLOP")
    t.add_row("  of which 2N", f"{c['forward_2n_flops_per_token'] / 1e9:.2f} GFLOP")
    t.add_row("  of which attention", f"{c['attention_flops_per_token'] / 1e9:.2f} GFLOP")
    t.add_row("training FLOPs / token (6N + attention)", f"{c['training_flops_per_token'] / 1e9:.2f} GFLOP")
    t.add_row("  of which 6N", f"{c['training_6n_flops_per_token'] / 1e9:.2f} GFLOP")
    console.print(t)


def _attn_desc(m: ModelSpec) -> str:
    if m.mla:
        a = m.mla
        return (f"MLA {m.heads} heads, q_lora {a.q_lora_rank}, kv_lora {a.kv_lora_rank}, "
                f"qk {a.qk_nope_head_dim}+{a.qk_rope_head_dim} rope, v {a.v_head_dim}")
    kind = "MHA" if m.kv_heads == m.heads else ("MQA" if m.kv_heads == 1 else "GQA")
    s = f"{kind} {m.heads} q / {m.kv_heads} kv heads x {m.head_dim}"
    if not m.causal:
        s += ", bidirectional"
    if m.sliding_window:
        n = sum(1 for i in range(m.layers) if m.window_of(i))
        s += f", sliding window {m.sliding_window} on {n}/{m.layers} layers"
    if m.attention_chunk and m.layer_chunked:
        s += f", chunked attention {m.attention_chunk} on {sum(m.layer_chunked)}/{m.layers} layers"
    if m.nope_layers:
        s += f", no RoPE on {len(m.nope_layers)} layers"
    if m.attention_sinks:
        s += ", attention sinks"
    if m.qk_norm:
        s += ", qk-norm"
    if m.qkv_bias:
        s += ", qkv bias"
    return s


def _ffn_desc(m: ModelSpec) -> str:
    act = ("gated " if m.gated_mlp else "") + m.activation
    if m.moe:
        e = m.moe
        s = f"MoE {e.num_experts} experts top-{e.top_k}, expert ffn {e.expert_ffn} ({act})"
        if e.shared_experts:
            s += f", {e.shared_experts} shared"
        if e.dense_layers:
            s += f"; {len(e.dense_layers)} dense layers ffn {m.ffn}"
        return s
    return f"dense {m.ffn} ({act})"


@app.command("ops")
def ops(
    name: str = typer.Argument(..., help="Catalog name or config.json path."),
    phase: str = typer.Option("decode", "--phase", help=f"One of {', '.join(PHASES)}."),
    batch: int = typer.Option(1, "--batch", help="Sequences per chip."),
    seq: int = typer.Option(2048, "--seq", help="Tokens per sequence (decode: cached context if --kv-len not given)."),
    kv_len: int = typer.Option(None, "--kv-len", help="Cached tokens (prefill/decode)."),
    tp: int = typer.Option(1, "--tp", help="Tensor-parallel degree (per-chip ops)."),
    ep: int = typer.Option(1, "--ep", help="Expert-parallel degree."),
    dtype: str = typer.Option("bf16", "--dtype"),
    json: bool = JsonOpt,
) -> None:
    """List the per-chip operators of one step with FLOPs and bytes (count = layers of that type)."""
    m = load_model(name)
    lst = m.ops(phase, batch, seq, kv_len=kv_len, tp=tp, ep=ep, dtype=dtype)
    tot = summarize(lst)
    if json:
        print_json({"ops": [
            {"name": o.name, "kind": o.kind, "count": o.count, "flops": o.flops, "bytes_read": o.bytes_read,
             "bytes_written": o.bytes_written, "dtype": o.dtype, "shape": dict(o.shape), "phase": o.phase}
            for o in lst], "totals": tot})
        return
    t = Table(title=f"{m.display_name or m.name} {phase}: batch {batch}, seq {seq}, tp {tp}, ep {ep}, {dtype}")
    for col in ("op", "kind", "x", "GFLOP", "MB read", "MB written", "shape"):
        t.add_column(col, justify="right" if col in ("x", "GFLOP", "MB read", "MB written") else "left")
    for o in lst:
        t.add_row(o.name, o.kind, str(o.count), f"{o.flops / 1e9:.3f}", f"{o.bytes_read / 1e6:.2f}",
                  f"{o.bytes_written / 1e6:.2f}", " ".join(f"{k}={v}" for k, v in o.shape.items()))
    console.print(t)
    console.print(f"total: {tot['flops'] / 1e12:.3f} TFLOP, {tot['bytes_read'] / 1e9:.3f} GB read, "
                  f"{tot['bytes_written'] / 1e9:.3f} GB written")

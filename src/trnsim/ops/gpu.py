"""GPU operator costs: a roofline with a few fitted, physically shaped efficiencies.

Model (one kernel)::

    t = t0 + max(F / (P_dtype * e_c), B / (BW * e_m))

* ``e_c``: the kernel's asymptotic compute efficiency (per GPU generation and dtype class),
* ``e_m``: its asymptotic memory-bandwidth efficiency,
* ``t0``: a fixed per-kernel latency (launch, prologue/epilogue, tail).

Written as an efficiency, the achieved fraction of peak is the saturating curve
``eff(F) = e_c * F / (F + F_half)`` with ``F_half = t0 * P * e_c`` (and likewise in bytes for
memory-bound kernels), so efficiency is interpolated in FLOPs, never time.

Attention (FlashAttention-style) adds a per-query-tile overhead ``tau``: with ``L`` the average
number of keys a query sees, ``e_c = e_attn * L / (L + L_half)`` and
``L_half = tau * (P / SMs) * e_attn / (2 * 128 * (d + d_v))`` -- a fixed time per 128-row query
tile, so faster SMs and smaller heads need longer sequences to amortise it.

All constants live in ``data/gpu_efficiency.toml`` with the rows they were fitted on; regenerate
with ``python -m trnsim.ops.fit --write``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from trnsim.errors import TrnsimError
from trnsim.hardware.specs import ChipSpec
from trnsim.models.op import Op
from trnsim.ops.result import OpTime
from trnsim.ops.shapes import attention_work

DATA_FILE = "gpu_efficiency.toml"
Q_TILE = 128  # FlashAttention query-tile rows (assumed; FA2/FA3 use 128 on Hopper/Blackwell)

GLOBAL_KEYS = (
    "gemm_latency_s", "attention_latency_s", "attention_tile_overhead_s", "attention_mem_eff",
    "fp8_dynamic_quant_latency_s", "stream_latency_s", "stream_mem_eff", "vector_eff",
)
GEN_KEYS = ("gemm_eff_16", "gemm_eff_8", "gemm_mem_eff", "attention_eff")


@dataclass(frozen=True)
class Param:
    value: float
    provenance: str = "assumed"   # fitted | assumed | fallback
    rows: tuple[str, ...] = ()
    note: str = ""


@dataclass
class GpuParams:
    """The fitted constants: ``glob[key]`` and ``gens[generation][key]``."""

    glob: dict[str, Param] = field(default_factory=dict)
    gens: dict[str, dict[str, Param]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    path: str = DATA_FILE

    def gen_param(self, gen: str, key: str) -> Param:
        g = self.gens.get(gen)
        if g is not None and key in g:
            return g[key]
        # generation without its own value: mean of the generations that have one
        vals = [p.value for gg in self.gens.values() for k, p in gg.items() if k == key and p.provenance == "fitted"]
        if not vals:
            raise TrnsimError(f"{self.path}: no value for {key!r} in any generation", "rerun python -m trnsim.ops.fit --write")
        return Param(sum(vals) / len(vals), "fallback", (), f"mean of fitted generations (none for {gen})")


def _param(raw: Any) -> Param:
    if isinstance(raw, dict):
        return Param(float(raw["value"]), str(raw.get("provenance", "assumed")), tuple(raw.get("rows", ())),
                     str(raw.get("note", "")))
    return Param(float(raw))


def load_params(path: str | Path | None = None) -> GpuParams:
    """Read the GPU efficiency file (default: the one shipped in ``trnsim/ops/data``)."""
    p = Path(path) if path else Path(str(resources.files("trnsim.ops") / "data" / DATA_FILE))
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TrnsimError(f"{p}: GPU efficiency file not found", "run python -m trnsim.ops.fit --write") from None
    except tomllib.TOMLDecodeError as e:
        raise TrnsimError(f"{p}: not valid TOML ({e})", "regenerate with python -m trnsim.ops.fit --write") from None
    out = GpuParams(meta=dict(raw.get("meta", {})), aliases=dict(raw.get("aliases", {})), path=p.name)
    for k, v in raw.get("global", {}).items():
        out.glob[k] = _param(v)
    for g, table in raw.get("gen", {}).items():
        out.gens[g] = {k: _param(v) for k, v in table.items()}
    missing = [k for k in GLOBAL_KEYS if k not in out.glob]
    if missing:
        raise TrnsimError(f"{p}: missing global constant(s) {', '.join(missing)}", "regenerate with python -m trnsim.ops.fit --write")
    return out


@lru_cache(maxsize=1)
def default_params() -> GpuParams:
    return load_params()


_NAME_GEN = (("gh200", "hopper"), ("h100", "hopper"), ("h200", "hopper"), ("h800", "hopper"),
             ("gb300", "blackwell-ultra"), ("b300", "blackwell-ultra"), ("gb200", "blackwell"),
             ("b200", "blackwell"), ("a100", "ampere"), ("a800", "ampere"))


def generation(chip: ChipSpec, params: GpuParams) -> str:
    """The parameter generation for ``chip`` (catalog ``generation``, then aliases, then the name)."""
    cands = [chip.generation.lower()]
    cands += [g for key, g in _NAME_GEN if key in chip.name.lower()]
    for c in cands:
        seen = 0
        while c in params.aliases and seen < 5:
            c = params.aliases[c]
            seen += 1
        if c in params.gens:
            return c
    return cands[0]


_CLASS = {"bf16": "16", "fp16": "16", "tf32": "16", "fp32": "16", "fp8": "8", "int8": "8", "mxfp8": "8",
          "fp4": "8", "nvfp4": "8", "mxfp4": "8", "int4": "8"}


class GpuChipModel:
    """Per-chip constants resolved once (plain floats for the hot path)."""

    def __init__(self, chip: ChipSpec, params: GpuParams):
        self.chip = chip
        self.params = params
        self.gen = gen = generation(chip, params)
        g = params.glob
        self.t0 = g["gemm_latency_s"].value
        self.t0_attn = g["attention_latency_s"].value
        self.tau = g["attention_tile_overhead_s"].value
        self.attn_mem_eff = g["attention_mem_eff"].value
        self.t0_stream = g["stream_latency_s"].value
        self.t0_quant = g["fp8_dynamic_quant_latency_s"].value
        self.overlap_p = g["roofline_overlap_p"].value if "roofline_overlap_p" in g else 0.0
        self.stream_mem_eff = g["stream_mem_eff"].value
        self.vector_eff = g["vector_eff"].value
        self.bw = chip.hbm_bandwidth.si
        self.sms = max(1, chip.cores)
        self._p: dict[str, Param] = {k: params.gen_param(gen, k) for k in GEN_KEYS}
        self._peak: dict[str, float] = {}
        self.vector_peak = chip.peak_flops["fp32"].si if "fp32" in chip.peak_flops else chip.flops("bf16") / 16

    def peak(self, dtype: str) -> float:
        p = self._peak.get(dtype)
        if p is None:
            p = self._peak[dtype] = self.chip.flops(dtype)
        return p

    def _src(self, *keys: str) -> str:
        parts = []
        for k in keys:
            p = self._p.get(k) or self.params.glob[k]
            parts.append(f"{k}={p.value:.3g} {p.provenance}")
        return f"{self.params.path}[{self.gen}]: " + ", ".join(parts)

    def gemm_eff(self, dtype: str) -> tuple[float, str]:
        cls = _CLASS.get(dtype, "16")
        key = "gemm_eff_8" if cls == "8" else "gemm_eff_16"
        p = self._p[key]
        prov = p.provenance
        if dtype in ("fp32", "tf32", "fp4", "nvfp4", "mxfp4", "int4"):
            prov = "fallback"  # no microbenchmark rows for these dtypes: the 16/8-bit value is reused
        return p.value, key + (f" ({prov})" if prov != p.provenance else "")

    def gemm(self, op: Op) -> OpTime:
        d = op.dtype
        peak = self.peak(d)
        e_c, key = self.gemm_eff(d)
        e_m = self._p["gemm_mem_eff"].value
        tc = op.flops / (peak * e_c) * _tile_padding(op)
        tm = op.bytes / (self.bw * e_m)
        return _result(self, op, tc, tm, self.t0, e_c, e_m, peak, self._src(key.split(" ")[0], "gemm_mem_eff", "gemm_latency_s"))

    def attention(self, op: Op) -> OpTime:
        d = op.dtype
        peak = self.peak(d)
        shape = op.shape
        if shape:
            # the op's own counts win (the model layer's backward is 2.5x the forward FLOPs); the shape
            # gives the average keys per query L that sets the efficiency
            flops, byts, L = attention_work(shape, d)
            hd = int(shape.get("head_dim", 128))
            hdv = int(shape.get("head_dim_v", hd) or hd)
        else:  # no shape: treat as a long-sequence attention with the op's own counts
            flops, byts, L, hd, hdv = op.flops, op.bytes, 1e9, 128, 128
        if op.flops > 0:
            flops = op.flops
        if op.bytes > 0:
            byts = op.bytes
        ea = self._p["attention_eff"].value
        l_half = self.tau * (peak / self.sms) * ea / (2.0 * Q_TILE * (hd + hdv))
        e_c = ea * L / (L + l_half)
        tc = flops / (peak * e_c)
        tm = byts / (self.bw * self.attn_mem_eff)
        r = _result(self, op, tc, tm, self.t0_attn, e_c, self.attn_mem_eff, peak,
                    self._src("attention_eff", "attention_tile_overhead_s", "attention_mem_eff", "attention_latency_s"),
                    flops=flops, byts=byts)
        return r

    def stream(self, op: Op) -> OpTime:
        """Norms, elementwise, softmax, embeddings: CUDA-core FLOPs and streaming memory traffic."""
        tc = op.flops / (self.vector_peak * self.vector_eff)
        tm = op.bytes / (self.bw * self.stream_mem_eff)
        if op.shape and op.shape.get("dynamic_quant"):
            # amax reduction + quantise kernels: a fitted fixed latency replaces the one-kernel latency
            return _result(self, op, tc, tm, self.t0_quant, self.vector_eff, self.stream_mem_eff, self.vector_peak,
                           self._src("stream_mem_eff", "fp8_dynamic_quant_latency_s"))
        return _result(self, op, tc, tm, self.t0_stream, self.vector_eff, self.stream_mem_eff, self.vector_peak,
                       self._src("stream_mem_eff", "vector_eff", "stream_latency_s"))

    def time(self, op: Op) -> OpTime:
        k = op.kind
        if k in ("gemm", "moe_gemm"):
            return self.gemm(op)
        if k == "attention":
            return self.attention(op)
        return self.stream(op)


def _tile_padding(op: Op) -> float:
    """Compute-time factor of a grouped (MoE) GEMM: every expert's rows run in whole M tiles, so the tensor
    cores do ``rows_padded / rows`` times the useful work (``trnsim.models.layers.expected_tile_rows``)."""
    sh = op.shape
    if op.kind != "moe_gemm" or not sh or "rows_padded" not in sh:
        return 1.0
    return max(1.0, sh["rows_padded"] / max(1, sh["rows"]))


def _result(m: GpuChipModel, op: Op, tc: float, tm: float, t0: float, e_c: float, e_m: float, peak: float,
            source: str, flops: float | None = None, byts: float | None = None) -> OpTime:
    flops = op.flops if flops is None else flops
    byts = op.bytes if byts is None else byts
    compute_bound = tc >= tm
    p = m.overlap_p
    if p > 0 and tc > 0 and tm > 0:
        hi, lo = (tc, tm) if compute_bound else (tm, tc)
        per = t0 + hi * (1.0 + (lo / hi) ** p) ** (1.0 / p)
    else:
        per = t0 + (tc if compute_bound else tm)
    sol = max(flops / peak if peak else 0.0, byts / m.bw)
    return OpTime(seconds=per * op.count, per_call_s=per, compute_s=tc, memory_s=tm, overhead_s=t0, sol_s=sol,
                  efficiency=e_c if compute_bound else e_m, compute_efficiency=e_c, memory_efficiency=e_m,
                  bound="compute" if compute_bound else "memory", source=source, flops=flops, bytes=byts,
                  peak_flops=peak, chip=m.chip.name, kind=op.kind, dtype=op.dtype)

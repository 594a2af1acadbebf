"""Regenerate ``data/trainium_efficiency.toml``: utilisation tables of canonical tiled kernels per chip.

    python -m trnsim.ops.calibrate_trainium                    # print a summary
    python -m trnsim.ops.calibrate_trainium --write            # rewrite the table
    python -m trnsim.ops.calibrate_trainium --method neuroncore --write   # from the timing model

For every Trainium/Inferentia chip of the catalog and each op family it times a canonical kernel on a
grid of shapes and stores ``u = t_sol / t_kernel`` (``t_sol = max(F/peak, bytes/hbm_bw)``):

* GEMM ``m x n x k`` per dtype the chip has a peak for (bf16, fp8, fp32, mxfp8 on NC-v4),
* FlashAttention forward (GQA, head_dim 128; causal when ``q_len > 1``) on a (q_len, kv_len) grid,
* streaming (elementwise/norm) kernels by bytes moved.

Methods:

``analytic`` (default today)
    A tile model of the kernels on one NeuronCore, from the published NeuronCore costs in the catalog:
    TensorE matmul ``max(min(64, N_stationary), N_moving)`` cycles per instruction (x4 for fp32, K tile
    x2 for fp8 double_row, x4 for MX), PE transposes ``max(P, min(64, F))``, ScalarE/VectorE
    ``max(MIN_II, N)`` per instruction, DMA at the effective per-engine rate x strided efficiency,
    HBM shared by the cores, the DMA fixed cost at the start and the end. Engines overlap; the
    busiest one sets the time. Two factors are ASSUMED (not published): ``OVERLAP`` (fraction of
    the binding engine's time achieved after dependencies and semaphores) and ``DRAM_EFF``
    (sustained fraction of HBM peak). Provenance: ``assumed``.

``neuroncore``
    Builds the canonical NKI kernels with ``trnsim.nki`` and times them with the NeuronCore timing
    model (``trnsim.nki.run_kernel(..., timing_only=True)``), one core's share of the work, scaled to
    the chip. Provenance: ``neuroncore``. Requires trnsim.neuroncore and trnsim.nki.run_kernel.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from trnsim.hardware.specs import ChipSpec, NeuronCoreSpec
from trnsim.ops.table_merge import merge_chips, to_toml  # noqa: F401  (TOML text; --chip keeps the others)

OVERLAP = 0.90   # assumed: achieved fraction of the binding engine's throughput in a pipelined kernel
DRAM_EFF = 0.90  # assumed: sustained fraction of HBM peak bandwidth for large streaming transfers

GEMM_M = [1, 8, 32, 128, 512, 2048, 8192, 32768]
GEMM_N = [128, 512, 2048, 8192, 32768]
GEMM_K = [128, 512, 2048, 8192, 32768]
ATTN_Q = [1, 16, 128, 512, 2048, 8192, 32768]
ATTN_KV = [128, 512, 2048, 8192, 32768, 131072]
STREAM_BYTES = [4096, 65536, 1 << 20, 16 << 20, 256 << 20, 4 << 30]
# the timing model traces every instruction: its grid stops at sizes where utilisation has saturated
# (the table is clamped beyond its edges)
NC_GEMM_M = [1, 8, 32, 128, 512, 2048, 8192]
NC_GEMM_N = [128, 512, 2048, 8192]
NC_GEMM_K = [128, 512, 2048, 8192]
NC_ATTN_Q = [1, 16, 128, 512, 2048, 8192]
NC_ATTN_KV = [128, 512, 2048, 8192, 32768]
ATTN_CANON = {"q_heads": 32, "kv_heads": 8, "head_dim": 128}   # per-chip batch chosen to fill the cores

_BYTES = {"bf16": 2.0, "fp16": 2.0, "tf32": 4.0, "fp32": 4.0, "fp8": 1.0, "mxfp8": 8.25 / 8, "mxfp4": 4.25 / 8}


# ----------------------------------------------------------------------------- analytic tile model
@dataclass(frozen=True)
class CoreModel:
    chip: ChipSpec
    core: NeuronCoreSpec

    @property
    def cores(self) -> int:
        return self.chip.cores

    @property
    def f_tensor(self) -> float:
        return self.core.engines["tensor"].clock.si

    @property
    def f_vector(self) -> float:
        return self.core.engines["vector"].clock.si

    @property
    def f_scalar(self) -> float:
        return self.core.engines["scalar"].clock.si

    def cost(self, key: str, default: float) -> float:
        return self.core.costs[key].si if key in self.core.costs else default

    def ratio(self, key: str, default: float) -> float:
        return self.core.ratios[key].si if key in self.core.ratios else default

    @property
    def min_ii(self) -> float:
        return self.cost("min_ii", 64)

    @property
    def dma_bw_core(self) -> float:
        """Tile transfers (rows of a larger matrix): effective per-engine rate x strided efficiency."""
        return self.dma_bw_contiguous * self.ratio("dma_strided_efficiency", 1.0)

    @property
    def dma_bw_contiguous(self) -> float:
        d = self.core.dma
        return d.engines * d.engine_bandwidth_effective.si

    @property
    def hbm_bw(self) -> float:
        return self.chip.hbm_bandwidth.si * DRAM_EFF

    @property
    def fixed_s(self) -> float:
        """First load in and last store out each pay the DMA fixed cost."""
        return 2 * self.core.dma.fixed_cost.si

    @property
    def sbuf(self) -> float:
        return self.core.sbuf.total_bytes


def _chunks(total: int, size: int) -> list[tuple[int, int]]:
    """[(chunk size, how many)] covering ``total`` with chunks of ``size``."""
    full, rem = divmod(total, size)
    out = [(size, full)] if full else []
    if rem:
        out.append((rem, 1))
    return out


def _matmul_cycles(stat: int, mov: int, k: int, rate: float, pmax: int, fmax: int, smax: int) -> float:
    """TensorE cycles of ``(stat x k)^T @ (k x mov)``: instructions of K-tile x stationary x moving chunks."""
    ktile = pmax * (rate if rate >= 1 else 1)
    nk = math.ceil(k / ktile)
    slow = 1 / rate if rate < 1 else 1
    cyc = 0.0
    for s, ns in _chunks(stat, smax):
        for mv, nm in _chunks(mov, fmax):
            cyc += ns * nm * max(min(64, s), mv)
    return cyc * nk * slow


def _splits(c: int) -> list[tuple[int, int]]:
    return [(a, c // a) for a in range(1, c + 1) if c % a == 0]


def gemm_time_analytic(cm: CoreModel, m: int, n: int, k: int, dtype: str, const_weight: bool = False) -> float:
    """Seconds for an ``m x n x k`` GEMM on the chip, output bf16 (fp32 for fp32 inputs).

    ``const_weight``: B (``k x n``) is a read-only weight of an inference graph. The compiler lays such a
    constant out in HBM in the kernel's tile order, so each of its tiles is one contiguous run and streams at
    the contiguous DMA rate. A training weight is read in two orientations (W in the forward pass, W^T for
    the input gradient) and rewritten by the optimizer every step, and the weight-gradient GEMM has no
    weight operand, so training GEMMs move every operand as rows of a larger tensor (strided efficiency),
    like the activations and outputs always do.
    """
    core = cm.core
    rate = core.tensor.dtype_rate.get(dtype, 1.0)
    b = _BYTES.get(dtype, 2.0)
    ob = 4.0 if dtype == "fp32" else 2.0
    pmax, fmax, smax = core.tensor.rows, core.tensor.moving_fmax, core.tensor.stationary_fmax
    best = math.inf
    for cmn, cnn in _splits(cm.cores):
        mc, nc = math.ceil(m / cmn), math.ceil(n / cnn)
        if (cmn > 1 and mc * (cmn - 1) >= m) or (cnn > 1 and nc * (cnn - 1) >= n):
            continue  # some cores would get no rows/columns
        busy = cmn * cnn
        # TensorE: either operand may be stationary
        cyc = min(_matmul_cycles(mc, nc, k, rate, pmax, fmax, smax), _matmul_cycles(nc, mc, k, rate, pmax, fmax, smax))
        t_tensor = cyc / cm.f_tensor
        # PSUM -> SBUF evacuation on Vector + Scalar: one instruction per [<=128 x <=512] output tile
        tiles = 0.0
        for s, ns in _chunks(min(mc, nc), 128):
            for f, nf in _chunks(max(mc, nc), 512):
                tiles += ns * nf * max(cm.min_ii, f)
        t_evac = tiles / (cm.f_vector + cm.f_scalar)
        # DMA: operands once when one of them fits in half the SBUF, else output-stationary blocking
        # (T x T fp32 accumulators in half the SBUF): A is re-read per column block, B per row block
        a_b, b_b, c_b = mc * k * b, k * nc * b, mc * nc * ob
        half = cm.sbuf / 2
        T = max(128, int(math.sqrt(half / 4)))
        a_reads, b_reads = math.ceil(nc / min(T, nc)), math.ceil(mc / min(T, mc))
        if min(a_b, b_b) <= half and a_b + b_b < a_b * a_reads + b_b * b_reads:
            a_reads = b_reads = 1
        traffic = a_b * a_reads + b_b * b_reads + c_b
        b_bw = cm.dma_bw_contiguous if const_weight else cm.dma_bw_core
        t_dma = (a_b * a_reads + c_b) / cm.dma_bw_core + b_b * b_reads / b_bw
        t_hbm = traffic * busy / cm.hbm_bw
        t = max(t_tensor, t_evac, t_dma, t_hbm) / OVERLAP + cm.fixed_s
        best = min(best, t)
    return best


def attention_time_analytic(cm: CoreModel, batch: int, q_len: int, kv_len: int, q_heads: int, kv_heads: int,
                            d: int, dtype: str = "bf16", kv_cache: bool = False) -> float:
    """Seconds for a FlashAttention forward (causal when q_len > 1) with GQA heads stacked per KV head.

    ``kv_cache``: K and V are read from an inference KV cache, whose layout keeps each head's positions
    together ([.., kv_len, head_dim] per head and sequence, or per-core cache tensors read whole), so its
    tiles are contiguous runs and stream at the contiguous DMA rate. Without it K and V are rows of the
    fused QKV activation (strided efficiency), as in training and in a prompt's own attention."""
    group = q_heads // kv_heads
    units = batch * kv_heads
    b = _BYTES.get(dtype, 2.0)
    rows = q_len * group
    per_core_units = math.ceil(units / cm.cores)
    row_split = 1
    if units < cm.cores:  # spread the rows of a unit over the idle cores
        row_split = min(cm.cores // units, max(1, math.ceil(rows / 128)))
        per_core_units = 1
    causal = q_len > 1
    tensor = scalar = vector = 0.0
    n_qt = math.ceil(rows / 128)
    for i in range(n_qt):
        r = min(128, rows - 128 * i)
        last_pos = (kv_len - q_len) + math.ceil((128 * i + r) / group)
        vis = min(kv_len, last_pos) if causal else kv_len
        for kvb, nb in _chunks(vis, 512):
            nkc = math.ceil(kvb / 128)
            qk = math.ceil(d / 128) * max(min(64, r), kvb)
            tr = nkc * max(r, 64)
            pv = nkc * max(min(64, r), d)
            tensor += nb * (qk + tr + pv)
            scalar += nb * max(cm.min_ii, kvb)
            vector += nb * (max(cm.min_ii, kvb / 2) + max(cm.min_ii, d) + cm.min_ii)
    share = per_core_units / row_split
    t_tensor = share * tensor / cm.f_tensor
    t_scalar = share * scalar / cm.f_scalar
    t_vector = share * vector / cm.f_vector
    kv_traffic, q_traffic = per_core_units * kv_len * 2 * d * b, per_core_units * rows / row_split * 2 * d * b
    traffic = kv_traffic + q_traffic
    t_dma = kv_traffic / (cm.dma_bw_contiguous if kv_cache else cm.dma_bw_core) + q_traffic / cm.dma_bw_core
    t_hbm = traffic * min(cm.cores, units * row_split) / cm.hbm_bw
    return max(t_tensor, t_scalar, t_vector, t_dma, t_hbm) / OVERLAP + cm.fixed_s


def stream_time_analytic(cm: CoreModel, nbytes: float) -> float:
    """Seconds for an elementwise/norm kernel moving ``nbytes`` (in + out) split over all cores."""
    t_dma = nbytes / cm.cores / cm.dma_bw_contiguous  # each partition streams a contiguous chunk
    t_hbm = nbytes / cm.hbm_bw
    return max(t_dma, t_hbm) / OVERLAP + cm.fixed_s


# ----------------------------------------------------------------------------- tables
def _sol(chip: ChipSpec, flops: float, nbytes: float, dtype: str) -> float:
    return max(flops / chip.flops(dtype), nbytes / chip.hbm_bandwidth.si)


def gemm_dtypes(chip: ChipSpec) -> list[str]:
    return [d for d in ("bf16", "fp8", "mxfp8", "fp32") if d in chip.peak_flops]


def build_tables(chip: ChipSpec, gemm_t: Callable, attn_t: Callable | None, stream_t: Callable, *,
                 gm: Sequence[int] = GEMM_M, gn: Sequence[int] = GEMM_N, gk: Sequence[int] = GEMM_K,
                 aq: Sequence[int] = ATTN_Q, akv: Sequence[int] = ATTN_KV, progress: bool = False,
                 dtypes: Sequence[str] | None = None, gemm_const_t: Callable | None = None,
                 attn_cache_t: Callable | None = None) -> dict:
    tables: dict = {"gemm": {}, "attention": {}, "stream": {}}
    for fam, fn in (("gemm", gemm_t), ("gemm_const", gemm_const_t)):
        if fn is None:
            continue
        tables[fam] = {}
        for dt in (gemm_dtypes(chip) if dtypes is None else dtypes):
            b = _BYTES[dt]
            ob = 4.0 if dt == "fp32" else 2.0
            util = []
            for m in gm:
                if progress:
                    print(f"  {chip.name} {fam} {dt} m={m}", file=sys.stderr, flush=True)
                plane = []
                for n in gn:
                    row = []
                    for k in gk:
                        t = fn(m, n, k, dt)
                        sol = _sol(chip, 2.0 * m * n * k, (m * k + k * n) * b + m * n * ob, dt)
                        row.append(min(1.0, sol / t))
                    plane.append(row)
                util.append(plane)
            tables[fam][dt] = {"m": list(gm), "n": list(gn), "k": list(gk), "util": util}
    if attn_t is None:
        aq = []
    hq, hk, d = ATTN_CANON["q_heads"], ATTN_CANON["kv_heads"], ATTN_CANON["head_dim"]
    from trnsim.ops.shapes import attention_work

    for fam, fn in (("attention", attn_t), ("attention_cache", attn_cache_t)):
        if fn is None or not aq:
            continue
        util = []
        for q in aq:
            if progress:
                print(f"  {chip.name} {fam} q={q}", file=sys.stderr, flush=True)
            row = []
            for kv in akv:
                kvx = max(kv, q)
                batch = max(1, math.ceil(chip.cores / hk))
                t = fn(batch, q, kvx, hq, hk, d, "bf16")
                f, byts, _ = attention_work({"batch": batch, "q_len": q, "kv_len": kvx, "q_heads": hq,
                                             "kv_heads": hk, "head_dim": d, "causal": int(q > 1)}, "bf16")
                row.append(min(1.0, _sol(chip, f, byts, "bf16") / t))
            util.append(row)
        tables.setdefault(fam, {})["bf16"] = {"q_len": list(aq), "kv_len": list(akv), "util": util}
    tables["stream"] = {"bytes": STREAM_BYTES,
                        "util": [min(1.0, (nb / chip.hbm_bandwidth.si) / stream_t(nb)) for nb in STREAM_BYTES]}
    return tables


def analytic_tables(chip: ChipSpec) -> dict:
    cm = CoreModel(chip, chip.core_spec)  # type: ignore[arg-type]
    return build_tables(chip, lambda m, n, k, dt: gemm_time_analytic(cm, m, n, k, dt),
                        lambda *a: attention_time_analytic(cm, *a),
                        lambda nb: stream_time_analytic(cm, nb),
                        gemm_const_t=lambda m, n, k, dt: gemm_time_analytic(cm, m, n, k, dt, const_weight=True),
                        attn_cache_t=lambda *a: attention_time_analytic(cm, *a, kv_cache=True))


def summary_line(name: str, t: dict) -> str:
    from trnsim.ops.trainium import Grid

    g = t["gemm"]["bf16"]
    gg = Grid([g["m"], g["n"], g["k"]], g["util"])
    a = t["attention"]["bf16"]
    ag = Grid([a["q_len"], a["kv_len"]], a["util"])
    sg = Grid([t["stream"]["bytes"]], t["stream"]["util"])
    return (f"{name:12s} util: gemm bf16 8192^3 {gg(8192, 8192, 8192):.3f}, m=1 n=k=8192 {gg(1, 8192, 8192):.3f}, "
            f"2048x2048x512 {gg(2048, 2048, 512):.3f} | attention prefill 8192 {ag(8192, 8192):.3f}, "
            f"decode kv 8192 {ag(1, 8192):.3f} | stream 256 MiB {sg(256 << 20):.3f}")


def reference_chip(chip: ChipSpec) -> ChipSpec | None:
    """For a projected chip: the shipping chip with the same NeuronCore (its tables are reused)."""
    if chip.status != "projected":
        return None
    same = [c for c in aws_chips() if c.core == chip.core and c.status == "shipping"]
    return same[-1] if same else None


def neuroncore_available() -> tuple[bool, str]:
    try:
        import trnsim.neuroncore as nc  # noqa: F401
        import trnsim.nki as nki
    except Exception as e:  # pragma: no cover - depends on the tree
        return False, f"trnsim.neuroncore/trnsim.nki not importable ({e})"
    if not hasattr(nki, "run_kernel") or not hasattr(nc, "simulate"):
        return False, "trnsim.nki.run_kernel or trnsim.neuroncore.simulate missing"
    return True, ""


# families/dtypes the canonical NKI kernels do not cover well yet keep the analytic model (recorded per table)
NC_GEMM_DTYPES = ("bf16", "fp8", "fp32")
NC_ANALYTIC_REASON = {
    "mxfp8": "no MX (nc_matmul_mx) canonical kernel yet",
}
NC_ATTENTION_METHOD = (
    "neuroncore timing model: trnsim.ops.nc_attention kernels, bf16, GQA q_heads=32 kv_heads=8 head_dim=128; "
    "rows with q_len*group <= 128: decode_attention_kernel (paged KV cache, 512-key blocks, 32 (sequence, KV head) "
    "units per core stacked on the partitions); longer rows: prefill_attention_kernel (causal FlashAttention forward, "
    "1024-key steps, modulo-scheduled, the GQA heads of a core sharing resident K/V)")


NC_V2_REASON = ("NeuronCore-v2: the canonical GEMM on the timing model (DMA-bound at the calibrated NC-v2 strided DMA "
                "efficiency, with the kernel's 128x512-tile data reuse) puts trn1 training 19% below the measured "
                "throughput of the dev aws_neuron_training rows (median |error| 23% vs 7% with the analytic model), "
                "so NC-v2 chips keep the analytic tile model; gemm_const = inference GEMMs whose pre-tiled read-only "
                "weight streams at the contiguous DMA rate; attention_cache = decode attention reading a KV cache "
                "at the contiguous DMA rate; the trnsim.ops.nc_attention kernels run on NC-v2 (fp32 PE transposes) but reach "
                "only 0.22 of peak in prefill (VectorE at 1.12 GHz without perf modes, fp32 PSUM evacuation) and 0.62 of HBM in "
                "decode (16 DMA engines x 17 GB/s < the core's HBM share): with them aws_neuron_training goes 8.8% -> 18.7% "
                "(bias -13%) and aws_neuron_inference 13.4% -> 15.4%, so NC-v2 attention stays analytic")


def neuroncore_tables(chip: ChipSpec) -> dict:
    """GEMM (bf16/fp8/fp32) and streaming from the NeuronCore timing model; the rest analytic (marked).

    NeuronCore-v2 chips (trn1, inf2) keep the analytic model entirely (see ``NC_V2_REASON``).
    """
    from trnsim.ops import nc_kernels

    if chip.core_spec is not None and chip.core_spec.version < 3:
        an = analytic_tables(chip)
        an["provenance"] = {f"{fam}.{dt}" if fam != "stream" else "stream": ("assumed", "analytic: " + NC_V2_REASON)
                            for fam in ("gemm", "gemm_const", "attention", "attention_cache", "stream")
                            for dt in (an[fam] if fam != "stream" else [""])}
        an["chip_provenance"] = ("assumed", "analytic")
        return an

    nc = build_tables(chip, lambda m, n, k, dt: nc_kernels.gemm_time(chip, m, n, k, dt),
                      None, lambda nb: nc_kernels.stream_time(chip, nb),
                      gm=NC_GEMM_M, gn=NC_GEMM_N, gk=NC_GEMM_K, progress=True,
                      dtypes=[d for d in gemm_dtypes(chip) if d in NC_GEMM_DTYPES])
    an = analytic_tables(chip)
    from trnsim.ops import nc_attention

    att = nc_attention.attention_tables(chip, NC_ATTN_Q, NC_ATTN_KV, ATTN_CANON, progress=True)
    out = {"gemm": {}, "attention": att["attention"], "attention_cache": att["attention_cache"], "stream": nc["stream"],
           "provenance": {"stream": ("neuroncore", "neuroncore timing model", "trnsim.ops.nc_kernels.stream_kernel")}}
    for dt in gemm_dtypes(chip):
        if dt in nc["gemm"]:
            out["gemm"][dt] = nc["gemm"][dt]
            out["provenance"][f"gemm.{dt}"] = ("neuroncore", "neuroncore timing model", "trnsim.ops.nc_kernels.gemm_kernel")
        else:
            out["gemm"][dt] = an["gemm"][dt]
            out["provenance"][f"gemm.{dt}"] = ("assumed", "analytic: " + NC_ANALYTIC_REASON.get(dt, "no canonical kernel"))
    for fam in ("attention", "attention_cache"):
        for dt in out[fam]:
            out["provenance"][f"{fam}.{dt}"] = ("neuroncore", NC_ATTENTION_METHOD,
                                                "trnsim.ops.nc_attention.decode_attention_kernel (q_len*group <= 128), "
                                                "trnsim.ops.nc_attention.prefill_attention_kernel")
    return out


def aws_chips() -> list[ChipSpec]:
    from trnsim.hardware import catalog

    cat = catalog()
    return [cat.chip(n) for n in cat.names("chip") if cat.chip(n).family in ("trainium", "inferentia")
            and cat.chip(n).core_spec is not None]


# ----------------------------------------------------------------------------- TOML
def data_path() -> Path:
    return Path(__file__).resolve().parent / "data" / "trainium_efficiency.toml"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m trnsim.ops.calibrate_trainium", description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", choices=("analytic", "neuroncore"), default="analytic")
    ap.add_argument("--write", action="store_true", help="rewrite src/trnsim/ops/data/trainium_efficiency.toml")
    ap.add_argument("--out", help="write the TOML here instead")
    ap.add_argument("--chip", action="append", help="only these chips (default: all Trainium/Inferentia chips)")
    a = ap.parse_args(argv)
    if a.method == "neuroncore":
        ok, why = neuroncore_available()
        if not ok:
            print(f"error: --method neuroncore needs the NeuronCore timing model: {why}", file=sys.stderr)
            return 2
    chips = [c for c in aws_chips() if not a.chip or c.name in a.chip or any(x in c.aliases for x in a.chip)]
    per_chip = {}
    for chip in chips:
        ref = reference_chip(chip)
        if ref is not None:
            # a projected chip on a placeholder NeuronCore: its core model cannot reach the projected peaks,
            # so the utilisation of the shipping chip with that core is applied to the projected roofline
            t = analytic_tables(ref) if a.method == "analytic" else neuroncore_tables(ref)
            t["note"] = (f"projected chip on placeholder core {chip.core}: utilisation of {ref.name} "
                         f"applied to {chip.name}'s projected peaks and bandwidth (assumed)")
        else:
            t = analytic_tables(chip) if a.method == "analytic" else neuroncore_tables(chip)
        per_chip[chip.name] = t
        print(summary_line(chip.name, t))
    if a.write or a.out:
        cmd = "python -m trnsim.ops.calibrate_trainium" + (" --method neuroncore" if a.method == "neuroncore" else "") + " --write"
        target = Path(a.out) if a.out else data_path()
        text = to_toml(per_chip, a.method, cmd)
        if a.chip and target.exists():  # only these chips were regenerated: keep the other chips' tables
            text = merge_chips(target.read_text(encoding="utf-8"), text)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

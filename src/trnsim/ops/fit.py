"""Fit the GPU efficiency constants to the dev microbenchmark rows and write ``data/gpu_efficiency.toml``.

    python -m trnsim.ops.fit            # print the fit, per-row errors and leave-one-out errors
    python -m trnsim.ops.fit --write    # ... and rewrite src/trnsim/ops/data/gpu_efficiency.toml

The model is :mod:`trnsim.ops.gpu` (the code ``op_time`` runs); each row is turned into ops by
:mod:`trnsim.ops.bench` (the code the validation predictors run). Least squares on log(predicted /
measured) with Levenberg-Marquardt; efficiencies are fitted through a logit (so they stay in (0, 1)),
times through a log. A constant that no row touches is not written, so the generation falls back to
the mean of the others at run time (marked ``fallback``). Leave-one-out: each row is predicted by a
fit made without it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from trnsim.ops.bench import Case, Unsupported, attention_case, gemm_case
from trnsim.ops.gpu import GEN_KEYS, GpuChipModel, GpuParams, Param, generation

CATEGORIES = ("gemm_microbench", "attention_kernel")
FITTED_GLOBALS = ("gemm_latency_s", "attention_latency_s", "attention_tile_overhead_s", "attention_mem_eff",
                  "fp8_dynamic_quant_latency_s", "roofline_overlap_p")
ALIASES = {"blackwell-ultra": "blackwell"}
VECTOR_EFF = 0.5  # assumed: CUDA-core efficiency of norms/elementwise (memory-bound in practice)
START = {"gemm_latency_s": 3e-6, "attention_latency_s": 8e-6, "attention_tile_overhead_s": 4e-6,
         "attention_mem_eff": 0.85, "fp8_dynamic_quant_latency_s": 10e-6, "roofline_overlap_p": 4.0, "gemm_eff_16": 0.75,
         "gemm_eff_8": 0.7, "gemm_mem_eff": 0.8, "attention_eff": 0.55}
NOTES = {
    "gemm_latency_s": "fixed per-kernel latency of a GEMM (launch, prologue/epilogue, tail)",
    "attention_latency_s": "fixed latency of an attention kernel (decode: split-KV launch and reduction)",
    "attention_tile_overhead_s": "per 128-row query tile overhead; sets L_half = tau * (peak/SMs) * e_attn / (256 * (d + d_v))",
    "attention_mem_eff": "HBM efficiency of attention (decode reads the KV cache)",
    "fp8_dynamic_quant_latency_s": "fixed latency of the dynamic per-tensor input quantisation (amax + quantise) of TRT-LLM fp8 Linear",
    "roofline_overlap_p": "imperfect compute/memory overlap near the ridge point: t = t0 + (tc^p + tm^p)^(1/p)",
    "stream_latency_s": "assumed equal to gemm_latency_s (one kernel)",
    "stream_mem_eff": "assumed equal to attention_mem_eff (a streaming kernel)",
    "vector_eff": "assumed; CUDA-core FP32 efficiency of norms/elementwise (they are memory-bound in practice)",
    "gemm_eff_16": "asymptotic GEMM compute efficiency, 16-bit (bf16/fp16; also used for tf32/fp32)",
    "gemm_eff_8": "asymptotic GEMM compute efficiency, 8-bit (fp8/int8; also used for 4-bit formats)",
    "gemm_mem_eff": "HBM efficiency of memory-bound (skinny) GEMMs",
    "attention_eff": "asymptotic FlashAttention compute efficiency (long sequences)",
}


@dataclass
class Obs:
    id: str
    category: str
    case: Case
    value: float
    gen: str


def load_observations(path: str | None = None) -> tuple[list[Obs], list[tuple[str, str]]]:
    """Dev rows of the kernel categories as (observations, skipped with reason)."""
    from trnsim.validate.rows import load_rows  # a data loader; the fit is a tool, not a library layer

    obs: list[Obs] = []
    skipped: list[tuple[str, str]] = []
    ref = GpuParams(aliases=dict(ALIASES), gens={g: {} for g in ("ampere", "hopper", "blackwell")})
    for r in load_rows(path).rows:
        if r.category not in CATEGORIES:
            continue
        fn = gemm_case if r.category == "gemm_microbench" else attention_case
        try:
            case = fn(r.accelerator, r.system, r.config, r.metric, r.unit, r.model_or_kernel)
        except Unsupported as e:
            skipped.append((r.id, str(e)))
            continue
        if case.chip.family != "gpu":
            skipped.append((r.id, "not a GPU row"))
            continue
        obs.append(Obs(r.id, r.category, case, r.value, generation(case.chip, ref)))
    return obs, skipped


class Space:
    """Parameter vector <-> GpuParams."""

    def __init__(self, gens: Sequence[str]):
        self.names: list[tuple[str, str]] = [("global", k) for k in FITTED_GLOBALS]
        self.names += [(g, k) for g in gens for k in GEN_KEYS]

    @staticmethod
    def _is_eff(key: str) -> bool:
        return "eff" in key

    def to_x(self, values: dict[tuple[str, str], float]) -> np.ndarray:
        out = []
        for scope, k in self.names:
            v = values[(scope, k)]
            out.append(math.log(v / (1 - v)) if self._is_eff(k) else math.log(v))
        return np.array(out)

    def values(self, x: np.ndarray) -> dict[tuple[str, str], float]:
        out = {}
        for (scope, k), xi in zip(self.names, x):
            out[(scope, k)] = 1 / (1 + math.exp(-xi)) if self._is_eff(k) else math.exp(xi)
        return out

    def params(self, x: np.ndarray, provenance: dict[tuple[str, str], tuple[str, ...]] | None = None) -> GpuParams:
        v = self.values(x)
        p = GpuParams(aliases=dict(ALIASES))
        for (scope, k), val in v.items():
            rows = provenance.get((scope, k), ()) if provenance else ()
            prm = Param(val, "fitted", rows, NOTES.get(k, ""))
            if scope == "global":
                p.glob[k] = prm
            else:
                p.gens.setdefault(scope, {})[k] = prm
        g = p.glob
        p.glob["stream_latency_s"] = Param(g["gemm_latency_s"].value, "assumed", (), NOTES["stream_latency_s"])
        p.glob["stream_mem_eff"] = Param(g["attention_mem_eff"].value, "assumed", (), NOTES["stream_mem_eff"])
        p.glob["vector_eff"] = Param(VECTOR_EFF, "assumed", (), NOTES["vector_eff"])
        return p


def predict(params: GpuParams, o: Obs) -> float:
    m = GpuChipModel(o.case.chip, params)
    t = sum(m.time(op).seconds for op in o.case.ops)
    return o.case.to_metric(t)


def residuals(space: Space, x: np.ndarray, obs: Sequence[Obs]) -> np.ndarray:
    p = space.params(x)
    return np.array([math.log(predict(p, o) / o.value) for o in obs])


def lm_fit(space: Space, x0: np.ndarray, obs: Sequence[Obs], active: np.ndarray, iters: int = 200) -> np.ndarray:
    """Levenberg-Marquardt on the ``active`` coordinates."""
    x = x0.copy()
    r = residuals(space, x, obs)
    cost = float(r @ r)
    lam = 1e-2
    idx = np.flatnonzero(active)
    h = 1e-6
    for _ in range(iters):
        J = np.zeros((len(r), len(idx)))
        for c, j in enumerate(idx):
            xp = x.copy()
            xp[j] += h
            J[:, c] = (residuals(space, xp, obs) - r) / h
        A = J.T @ J
        g = J.T @ r
        improved = False
        while lam < 1e10:
            step = np.linalg.solve(A + lam * (np.diag(np.diag(A)) + 1e-9 * np.eye(len(idx))), -g)
            xn = x.copy()
            xn[idx] += step
            rn = residuals(space, xn, obs)
            cn = float(rn @ rn)
            if cn < cost:
                x, r, cost = xn, rn, cn
                lam = max(lam / 3, 1e-9)
                improved = True
                break
            lam *= 4
        if not improved or np.abs(step).max() < 1e-8:
            break
    return x


def touched(space: Space, x: np.ndarray, obs: Sequence[Obs]) -> dict[tuple[str, str], tuple[str, ...]]:
    """Which rows each constant informs: elasticity |d log(pred) / d x| >= 0.02 (x = log or logit of the constant)."""
    base = residuals(space, x, obs)
    out = {}
    for j, name in enumerate(space.names):
        xp = x.copy()
        xp[j] += 1e-3
        d = np.abs(residuals(space, xp, obs) - base)
        out[name] = tuple(o.id for o, dd in zip(obs, d) if dd >= 2e-5)
    return out


@dataclass
class FitResult:
    space: Space
    x: np.ndarray
    rows: dict[tuple[str, str], tuple[str, ...]]
    obs: list[Obs]
    fit_err: np.ndarray
    loo_err: np.ndarray
    skipped: list[tuple[str, str]]

    def params(self) -> GpuParams:
        return self.space.params(self.x, self.rows)


def run_fit(path: str | None = None, loo: bool = True) -> FitResult:
    obs, skipped = load_observations(path)
    if not obs:
        raise SystemExit("no GPU kernel rows could be used (is the hardware catalog complete?)")
    gens = sorted({o.gen for o in obs})
    space = Space(gens)
    x0 = space.to_x({(s, k): START[k] for s, k in space.names})
    rows = touched(space, x0, obs)
    active = np.array([bool(rows[n]) for n in space.names])
    x = lm_fit(space, x0, obs, active)
    rows = touched(space, x, obs)
    fit_err = np.exp(residuals(space, x, obs)) - 1
    loo_err = np.full(len(obs), np.nan)
    if loo:
        for i in range(len(obs)):
            sub = obs[:i] + obs[i + 1:]
            sub_rows = touched(space, x, sub)
            act = np.array([bool(sub_rows[n]) for n in space.names])
            xi = lm_fit(space, x, sub, act)
            # a constant only row i informs keeps the start value: it has no data without that row
            xi = np.where(act | ~active, xi, x0)
            loo_err[i] = math.exp(residuals(space, xi, [obs[i]])[0]) - 1
    return FitResult(space, x, rows, obs, fit_err, loo_err, skipped)


def summary(err: np.ndarray) -> dict[str, float]:
    a = np.abs(err[~np.isnan(err)])
    if not len(a):
        return {"n": 0}
    return {"n": int(len(a)), "median_abs": float(np.median(a)), "p90_abs": float(np.percentile(a, 90)),
            "bias_median": float(np.median(err[~np.isnan(err)])), "max_abs": float(a.max())}


def report(res: FitResult, out=sys.stdout) -> None:
    p = res.params()
    w = out.write
    w("GPU efficiency fit (model: t = t0 + max(F/(P*e_c), B/(BW*e_m)); attention e_c = e_attn*L/(L+L_half))\n\n")
    w("constants:\n")
    for (scope, k) in res.space.names:
        rows = res.rows[(scope, k)]
        if not rows:
            continue
        v = p.glob[k].value if scope == "global" else p.gens[scope][k].value
        shown = f"{v * 1e6:.3f} us" if k.endswith("_s") else f"{v:.4f}"
        w(f"  {scope:10s} {k:28s} {shown:>12s}   ({len(rows)} rows)\n")
    w("\nper row (error = predicted/measured - 1):\n")
    for o, fe, le in zip(res.obs, res.fit_err, res.loo_err):
        w(f"  {o.id:10s} {o.category:17s} {o.gen:10s} fit {fe * 100:+6.1f}%   leave-one-out {le * 100:+6.1f}%   {o.case.note}\n")
    w("\nsummary (|error|):\n")
    cats = sorted({o.category for o in res.obs})
    for c in cats + ["all"]:
        sel = np.array([c == "all" or o.category == c for o in res.obs])
        f, l = summary(res.fit_err[sel]), summary(res.loo_err[sel])
        w(f"  {c:17s} n={f['n']:3d}  fit median {f['median_abs'] * 100:5.1f}% p90 {f['p90_abs'] * 100:5.1f}% bias {f['bias_median'] * 100:+5.1f}%"
          f"  | leave-one-out median {l.get('median_abs', float('nan')) * 100:5.1f}% p90 {l.get('p90_abs', float('nan')) * 100:5.1f}%"
          f" bias {l.get('bias_median', float('nan')) * 100:+5.1f}%\n")
    if res.skipped:
        w("\nrows not used:\n")
        for rid, why in res.skipped:
            w(f"  {rid:10s} {why}\n")


def _fmt(v: float) -> str:
    return f"{v:.6g}" if abs(v) >= 1e-3 else f"{v:.6e}"


def _rows(rows: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{r}"' for r in rows) + "]"


def to_toml(res: FitResult, command: str) -> str:
    p = res.params()
    lines = [
        "# GPU operator efficiency constants for trnsim.ops.gpu.",
        f"# GENERATED by `{command}` -- do not edit by hand; rerun the command instead.",
        "# Model: t = t0 + max(F / (P_dtype * e_c), B / (BW * e_m)); attention e_c = e_attn * L / (L + L_half),",
        "# L_half = tau * (P / SMs) * e_attn / (2 * 128 * (d + d_v)). Each fitted constant lists the dev rows",
        "# (src/trnsim/data/validation/ground_truth_dev.csv) it was fitted on.",
        "",
        "[meta]",
        f'command = "{command}"',
        f'generated = "{_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}"',
        'data = "src/trnsim/data/validation/ground_truth_dev.csv (categories gemm_microbench, attention_kernel)"',
        'model = "roofline t0 + max(F/(P*e_c), B/(BW*e_m)); efficiency saturates in FLOPs: eff = e_c*F/(F + t0*P*e_c)"',
        f"rows_used = {len(res.obs)}",
        f"rows_skipped = {_rows([f'{r}: {why}' for r, why in res.skipped])}",
        "",
        "[aliases]",
    ]
    for a, b in ALIASES.items():
        lines.append(f'"{a}" = "{b}"  # assumed: same tensor-core generation')
    lines += ["", "[global]"]
    for k, prm in p.glob.items():
        rows = res.rows.get(("global", k), ())
        prov = prm.provenance if (prm.provenance != "fitted" or rows) else "assumed"
        lines.append(f'{k} = {{ value = {_fmt(prm.value)}, provenance = "{prov}", rows = {_rows(rows)}, note = "{prm.note}" }}')
    for g, table in p.gens.items():
        body = []
        for k, prm in table.items():
            rows = res.rows.get((g, k), ())
            if not rows:
                continue
            body.append(f'{k} = {{ value = {_fmt(prm.value)}, provenance = "fitted", rows = {_rows(rows)}, note = "{prm.note}" }}')
        lines += ["", f"[gen.{g}]", *body]
    lines += ["", "# error = predicted / measured - 1 on the fitted rows, and on each row left out of the fit"]
    for c in sorted({o.category for o in res.obs}) + ["all"]:
        sel = np.array([c == "all" or o.category == c for o in res.obs])
        f, l = summary(res.fit_err[sel]), summary(res.loo_err[sel])
        lines += ["", f"[summary.{c}]", f"n = {f['n']}",
                  f"fit_median_abs = {f['median_abs']:.4f}", f"fit_p90_abs = {f['p90_abs']:.4f}",
                  f"fit_bias_median = {f['bias_median']:.4f}"]
        if l.get("n"):
            lines += [f"loo_median_abs = {l['median_abs']:.4f}", f"loo_p90_abs = {l['p90_abs']:.4f}",
                      f"loo_bias_median = {l['bias_median']:.4f}"]
    lines += ["", "[residuals]"]
    for o, fe, le in zip(res.obs, res.fit_err, res.loo_err):
        lines.append(f'"{o.id}" = {{ fit = {fe:+.4f}, loo = {le:+.4f} }}')
    return "\n".join(lines) + "\n"


def data_path() -> Path:
    return Path(__file__).resolve().parent / "data" / "gpu_efficiency.toml"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m trnsim.ops.fit", description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", help="ground-truth CSV (default: the shipped dev rows)")
    ap.add_argument("--write", action="store_true", help="rewrite src/trnsim/ops/data/gpu_efficiency.toml")
    ap.add_argument("--out", help="write the TOML here instead")
    ap.add_argument("--no-loo", action="store_true", help="skip the leave-one-out refits")
    a = ap.parse_args(argv)
    res = run_fit(a.csv, loo=not a.no_loo)
    report(res)
    if a.write or a.out:
        target = Path(a.out) if a.out else data_path()
        target.write_text(to_toml(res, "python -m trnsim.ops.fit --write"), encoding="utf-8")
        print(f"\nwrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Re-fit the NCCL library constants on the ``gpu_collective`` ground-truth rows.

    python -m trnsim.network.fit [--csv path] [--write]

Minimises the mean |log(predicted / measured)| over the rows the collective predictor supports,
by coordinate search in log space from the current values in :mod:`trnsim.network.constants`.
Prints the fitted values (to paste into ``constants.py``) and the error summary before and after.
``net_eff`` is not fitted (one multi-node row is too few); it stays ``assumed``. ``nvls_eff`` is read off
the 16 GiB NVLS all-reduce row (bandwidth only, no latency in it), not searched.
"""

from __future__ import annotations

import argparse
import math
import statistics
from dataclasses import replace

from trnsim.network.constants import NCCL, Library, Protocol

# nvls_eff is not searched: it is read off the cleanest bandwidth-only NVLS row (16 GiB all-reduce busbw
# 482 GB/s on 8 H200 -> algbw 276 GB/s = 0.61 of 450 GB/s); net_eff stays assumed (one multi-node row).
PARAMS = ("LL.eff", "LL.base", "LL.hop_scale", "Simple.eff", "Simple.base", "Simple.hop_scale", "nvls_base")
# physical bounds: payload fractions in (0, 1]; LL at most 0.5 (4 B flag per 8 B word)
BOUNDS = {"LL.eff": (0.05, 0.5), "Simple.eff": (0.3, 1.0), "nvls_eff": (0.3, 1.0)}


def _get(lib: Library, key: str) -> float:
    if "." in key:
        pname, f = key.split(".")
        return getattr(next(p for p in lib.protocols if p.name == pname), f)
    return getattr(lib, key)


def _set(lib: Library, key: str, v: float) -> Library:
    if "." in key:
        pname, f = key.split(".")
        protos = tuple(replace(p, **{f: v}) if p.name == pname else p for p in lib.protocols)
        return replace(lib, protocols=protos)
    return replace(lib, **{key: v})


def rows_and_errors(lib: Library, rows) -> list[tuple[str, float]]:
    from trnsim.validate.predictors.collectives import _predict
    from trnsim.validate.registry import NotSupported

    out = []
    for r in rows:
        try:
            pr = _predict(r, neuron=False, library=lib)
        except NotSupported:
            continue
        out.append((r.id, math.log(pr.value / r.value)))
    return out


def summary(errs: list[tuple[str, float]]) -> str:
    rel = [math.exp(e) - 1 for _, e in errs]
    a = sorted(abs(x) for x in rel)
    if not a:
        return "no rows"
    p90 = a[min(len(a) - 1, int(math.ceil(0.9 * len(a))) - 1)]
    return (f"n={len(a)} median |err|={100 * statistics.median(a):.1f}% p90={100 * p90:.1f}% "
            f"bias(median err)={100 * statistics.median(rel):+.1f}%")


def fit(rows, lib: Library = NCCL, rounds: int = 6) -> Library:
    def loss(l: Library) -> float:
        errs = rows_and_errors(l, rows)
        return sum(abs(e) for _, e in errs) / max(1, len(errs))

    best = loss(lib)
    step = 0.3
    for _ in range(rounds):
        for key in PARAMS:
            for mult in (math.exp(step), math.exp(-step)):
                v = _get(lib, key) * mult
                lo, hi = BOUNDS.get(key, (1e-9, 1e9))
                v = min(max(v, lo), hi)
                cand = _set(lib, key, v)
                c = loss(cand)
                if c < best - 1e-6:
                    lib, best = cand, c
        step /= 2
    return lib


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", default=None)
    args = ap.parse_args(argv)
    from trnsim.validate.rows import load_rows

    rows = [r for r in load_rows(args.csv).rows if r.category == "gpu_collective"]
    print("before:", summary(rows_and_errors(NCCL, rows)))
    lib = fit(rows)
    print("after: ", summary(rows_and_errors(lib, rows)))
    for key in PARAMS:
        print(f"  {key:18s} {_get(NCCL, key):.4g} -> {_get(lib, key):.3g}")


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = ["fit", "main", "rows_and_errors", "summary", "Protocol"]

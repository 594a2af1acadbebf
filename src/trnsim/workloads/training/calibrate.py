"""Re-fit the training model's few constants on the dev rows (grid search), and print the result.

    python -m trnsim.workloads.training.calibrate [--family gpu|trainium] [--quick]

GPU: ``costs.SUSTAINED_COMPUTE['gpu']``, ``costs.KERNEL_GAP_S['gpu']`` and ``step.STEP_OVERHEAD_S['gpu']``
on the Megatron-LM table (``megatron_mfu``) and the MLPerf steady-state throughput rows.
Trainium: ``costs.SUSTAINED_COMPUTE['trainium']`` on the Neuron Trn1 training rows (``aws_neuron_training``);
Neuron collectives come from the network layer's runtime model (``trnsim.network.neuron``), not from a
training-side factor.

The objective is the mean over the row groups of the median |error| (each group weighted equally), so a
large category cannot drown a small one. The constants live in the code with their provenance; this
command only reports what the current op and network models imply (rerun it after re-calibrating those).
"""

from __future__ import annotations

import itertools
import statistics
import sys

from trnsim.validate.registry import NotSupported

GRIDS = {
    "gpu": {
        "sustained": (0.75, 0.8, 0.85, 0.9, 0.95, 1.0),
        "gap_us": (0.0, 10.0, 20.0, 30.0),
        "overhead_s": (0.0, 0.05, 0.1, 0.15),
    },
    "trainium": {
        "sustained": (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.3),
    },
}
CATEGORIES = {"gpu": ("megatron_mfu", "mlperf_training"), "trainium": ("aws_neuron_training",)}


def _rows(family: str):
    from trnsim.validate.rows import load_rows

    out = []
    for r in load_rows().rows:
        if r.category not in CATEGORIES[family]:
            continue
        if r.category == "mlperf_training" and r.metric != "steady_state_throughput":
            continue
        out.append(r)
    return out


def _apply(family: str, params: dict[str, float]) -> None:
    from trnsim.validate.predictors import training as T
    from trnsim.workloads.training import costs as C
    from trnsim.workloads.training import step as S

    C.SUSTAINED_COMPUTE[family] = params["sustained"]
    if family == "gpu":
        C.KERNEL_GAP_S["gpu"] = params["gap_us"] * 1e-6
        S.STEP_OVERHEAD_S["gpu"] = params["overhead_s"]
    C._COMPUTE_CACHE.clear()
    T._AUTO.clear()


def evaluate(family: str, rows) -> dict[str, tuple[float, float, int]]:
    """Median |error| %, median signed error % and count per (category, metric)."""
    from trnsim.validate.registry import predict

    errs: dict[str, list[float]] = {}
    for row in rows:
        try:
            out = predict(row)
        except NotSupported:
            continue
        if out.prediction is None:
            continue
        errs.setdefault(f"{row.category}:{row.metric}", []).append((out.prediction.value - row.value) / row.value * 100)
    return {k: (statistics.median(abs(e) for e in v), statistics.median(v), len(v)) for k, v in errs.items()}


def calibrate(family: str, quick: bool = False) -> tuple[dict[str, float], dict]:
    rows = _rows(family)
    grid = GRIDS[family]
    if quick:
        grid = {k: v[::2] for k, v in grid.items()}
    best = None
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid, values))
        _apply(family, params)
        res = evaluate(family, rows)
        score = sum(m for m, _, _ in res.values()) / max(1, len(res))
        if best is None or score < best[0]:
            best = (score, params, res)
    assert best is not None
    _apply(family, best[1])
    return best[1], best[2]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    fams = [argv[argv.index("--family") + 1]] if "--family" in argv else ["gpu", "trainium"]
    for fam in fams:
        params, res = calibrate(fam, quick="--quick" in argv)
        print(f"[{fam}] best: " + ", ".join(f"{k}={v:g}" for k, v in params.items()))
        for k, (med, bias, n) in sorted(res.items()):
            print(f"    {k:45s} n={n:3d} median |err| {med:5.1f}%  bias {bias:+5.1f}%")


if __name__ == "__main__":
    main()

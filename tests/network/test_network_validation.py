"""The collective predictors against the dev ground-truth rows (errors computed, not hard-coded)."""

from __future__ import annotations

import statistics

import pytest

from trnsim.network.fit import rows_and_errors, summary
from trnsim.network.constants import NCCL
from trnsim.validate.registry import NotSupported, predict
from trnsim.validate.rows import load_rows
from trnsim.validate.predictors.collectives import predict_gpu, predict_neuron, resolve_system


@pytest.fixture(scope="module")
def rows():
    return load_rows().rows


def _errors(rows, category, fn):
    errs, unsupported = [], []
    for r in rows:
        if r.category != category:
            continue
        try:
            p = fn(r)
        except NotSupported as e:
            unsupported.append((r.id, str(e)))
            continue
        errs.append((p.value - r.value) / r.value)
    return errs, unsupported


def test_gpu_collective_median_error_within_15_percent(rows):
    errs, unsupported = _errors(rows, "gpu_collective", predict_gpu)
    assert len(errs) >= 40, unsupported
    med = statistics.median(abs(e) for e in errs)
    assert med <= 0.15, f"median |error| {med:.1%} over {len(errs)} rows"
    # every refusal carries a reason
    assert all(reason for _, reason in unsupported)


def test_registry_routes_to_the_collective_predictor(rows):
    row = next(r for r in rows if r.category == "gpu_collective" and r.cfg("op"))
    out = predict(row)
    assert out.predictor == "alpha-beta-collectives"
    assert out.prediction is not None and out.prediction.value > 0


def test_neuron_rows_predict_or_decline_with_reason(rows):
    errs, unsupported = _errors(rows, "neuron_collective", predict_neuron)
    assert errs  # some rows map to catalog systems
    for _, reason in unsupported:
        assert reason


def test_fit_module_reports_the_same_errors(rows):
    gpu = [r for r in rows if r.category == "gpu_collective"]
    errs = rows_and_errors(NCCL, gpu)
    assert errs and "median" in summary(errs)


def test_resolver():
    assert resolve_system("h100_sxm H100") == "p5.48xlarge"
    assert resolve_system("4x p5en.48xlarge (32x H200, EFA) H200") == "p5en.48xlarge"
    assert resolve_system("GB200 NVL72") == "gb200-nvl72"
    assert resolve_system("single Neuron instance (KangaRing => Trn2 per runtime docs) Trainium2") == "trn2.48xlarge"
    with pytest.raises(NotSupported):
        resolve_system("H800 nodes H800")
    with pytest.raises(NotSupported):
        resolve_system("a mystery box")


def test_non_positive_ranks_or_nodes_decline(rows):
    from dataclasses import replace

    row = next(r for r in rows if r.id == "NRN-CC-018")  # 64 ranks on 2 nodes
    for key in ("ranks", "nodes"):
        bad = replace(row, config=row.config | {key: "-1"})
        with pytest.raises(NotSupported, match="must be positive"):
            predict_neuron(bad)

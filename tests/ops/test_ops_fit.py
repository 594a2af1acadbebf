"""The fit script: reproduces the shipped constants, reports leave-one-out errors, provenance is complete."""

import numpy as np
import pytest

from trnsim.ops import fit
from trnsim.ops.gpu import GEN_KEYS, GLOBAL_KEYS, load_params


@pytest.fixture(scope="module")
def result():
    return fit.run_fit(loo=True)


def test_shipped_constants_match_a_fresh_fit(result):
    shipped = load_params()
    fresh = result.params()
    for k in fit.FITTED_GLOBALS:
        assert fresh.glob[k].value == pytest.approx(shipped.glob[k].value, rel=0.02), k
    for g, table in shipped.gens.items():
        for k, p in table.items():
            assert fresh.gens[g][k].value == pytest.approx(p.value, rel=0.02), (g, k)


def test_every_fitted_constant_names_its_rows():
    p = load_params()
    assert set(GLOBAL_KEYS) <= set(p.glob)
    for k, prm in p.glob.items():
        assert prm.provenance in ("fitted", "assumed")
        if prm.provenance == "fitted":
            assert prm.rows
    for g, table in p.gens.items():
        for k, prm in table.items():
            assert k in GEN_KEYS and prm.provenance == "fitted" and prm.rows
    assert "python -m trnsim.ops.fit" in p.meta["command"]


def test_leave_one_out_reported_and_reasonable(result):
    loo = result.loo_err
    assert not np.isnan(loo).any()
    for cat in ("gemm_microbench", "attention_kernel"):
        sel = np.array([o.category == cat for o in result.obs])
        assert np.median(np.abs(loo[sel])) <= 0.10, cat
    # leave-one-out is never better than the in-sample fit overall
    assert np.median(np.abs(loo)) >= np.median(np.abs(result.fit_err)) - 1e-9


def test_efficiencies_physical(result):
    p = result.params()
    for g, table in p.gens.items():
        for k, prm in table.items():
            assert 0.2 < prm.value < 1.0, (g, k, prm.value)
    for k in ("gemm_latency_s", "attention_latency_s", "fp8_dynamic_quant_latency_s"):
        assert 0.5e-6 < p.glob[k].value < 50e-6, k


def test_report_prints(result, capsys):
    import io

    buf = io.StringIO()
    fit.report(result, buf)
    text = buf.getvalue()
    assert "leave-one-out" in text and "summary" in text
    for o in result.obs:
        assert o.id in text

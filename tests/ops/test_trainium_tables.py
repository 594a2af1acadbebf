"""Trainium utilisation tables: interpolation, provenance and reproducibility by their command."""

import math

import pytest

from trnsim.hardware import catalog
from trnsim.ops import calibrate_trainium as cal
from trnsim.ops.trainium import Grid, load_tables


def test_grid_exact_at_points_and_clamped():
    g = Grid([[1, 10, 100], [2, 4]], [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    assert g(10, 4) == pytest.approx(0.4)
    assert g(1, 2) == pytest.approx(0.1)
    assert g(1000, 8) == pytest.approx(0.6)   # clamped beyond the edges
    assert g(0.5, 1) == pytest.approx(0.1)
    # log-linear between points: halfway in log(axis 0)
    assert g(math.sqrt(10), 2) == pytest.approx(0.2)


def test_grid_rejects_bad_axes():
    with pytest.raises(ValueError):
        Grid([[1, 1, 2]], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError):
        Grid([[1, 2]], [0.1])


def test_every_aws_chip_has_tables_with_provenance():
    t = load_tables()
    assert t.meta["command"].startswith("python -m trnsim.ops.calibrate_trainium")
    for chip in cal.aws_chips():
        ct = t.chips[chip.name]
        assert ct.provenance in ("assumed", "neuroncore")
        for prov, _how in ct.family.values():
            assert prov in ("assumed", "neuroncore")
        assert "bf16" in ct.gemm and "bf16" in ct.attention and ct.stream is not None
        for dt in cal.gemm_dtypes(chip):
            assert dt in ct.gemm, (chip.name, dt)


def test_analytic_tables_match_their_command():
    t = load_tables()
    checked = 0
    for chip in cal.aws_chips():
        ct = t.chips[chip.name]
        if ct.method != "analytic":
            continue
        checked += 1
        ref = cal.reference_chip(chip) or chip
        fresh = cal.analytic_tables(ref)
        g = fresh["gemm"]["bf16"]
        for (i, m), (j, n), (k, kk) in [((0, 1), (3, 8192), (3, 8192)), ((6, 8192), (3, 8192), (3, 8192)),
                                         ((4, 512), (1, 512), (2, 2048))]:
            assert ct.gemm["bf16"](m, n, kk) == pytest.approx(g["util"][i][j][k], rel=0.05), (
                chip.name, f"stale: rerun {t.meta['command']}")
    if not checked:
        pytest.skip("no analytic chip tables")


def test_neuroncore_table_spot_check():
    """A cheap grid point recomputed with the timing model matches the shipped table."""
    t = load_tables()
    if t.meta.get("method") != "neuroncore":
        pytest.skip("analytic table")
    from trnsim.hardware import load_chip
    from trnsim.ops import nc_kernels

    chip = load_chip("trn2")
    ct = t.chips[chip.name]
    assert ct.family["gemm.bf16"][0] == "neuroncore"
    assert ct.family["attention.bf16"][0] == "assumed"  # analytic until the canonical kernel is pipelined
    m, n, k = 128, 512, 512
    tk = nc_kernels.gemm_time(chip, m, n, k, "bf16")
    sol = max(2 * m * n * k / chip.flops("bf16"), (m * k + k * n + m * n) * 2 / chip.hbm_bandwidth.si)
    assert ct.gemm["bf16"](m, n, k) == pytest.approx(min(1.0, sol / tk), rel=0.05), \
        "stale: rerun python -m trnsim.ops.calibrate_trainium --method neuroncore --write"


def test_utilisation_in_unit_interval_and_saturating():
    t = load_tables()
    for name, ct in t.chips.items():
        for dt, g in ct.gemm.items():
            assert all(0 < v <= 1 for v in g.values), (name, dt)
        big = ct.gemm["bf16"](8192, 8192, 8192)
        small = ct.gemm["bf16"](128, 128, 128)
        assert big > small


def test_projected_chip_reuses_reference_utilisation():
    cat = catalog()
    if cat.resolve_name("chip", "trainium4") is None:
        pytest.skip("no trainium4")
    t4 = cat.chip("trainium4")
    ref = cal.reference_chip(t4)
    if ref is None:
        pytest.skip("trainium4 not projected")
    t = load_tables()
    assert t.chips["trainium4"].gemm["bf16"](4096, 4096, 4096) == pytest.approx(
        t.chips[ref.name].gemm["bf16"](4096, 4096, 4096))

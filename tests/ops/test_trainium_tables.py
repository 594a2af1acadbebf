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
    assert ct.family["attention.bf16"][0] == "neuroncore"
    assert ct.family["attention_cache.bf16"][0] == "neuroncore"
    # a decode grid point (decode kernel, canonical 32 units per core) recomputed from the kernel
    from trnsim.ops import nc_attention
    from trnsim.ops.calibrate_trainium import ATTN_CANON

    fresh = nc_attention.attention_tables(chip, [1], [512], ATTN_CANON)
    assert ct.attention_cache["bf16"](1, 512) == pytest.approx(fresh["attention_cache"]["bf16"]["util"][0][0], rel=0.05), \
        "stale: rerun python -m trnsim.ops.calibrate_trainium --method neuroncore --write"
    # decode attention streams the KV cache near the HBM roofline; prefill is compute-bound at a fraction of peak
    assert ct.attention_cache["bf16"](1, 32768) > 0.8
    assert 0.2 < ct.attention["bf16"](8192, 8192) < 0.8
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


def test_inference_gemm_streams_its_constant_weight_contiguously():
    """NC-v2: a decode GEMM (prefill/decode phase) moves its pre-tiled weight at the contiguous DMA rate, a
    training GEMM of the same shape at the strided rate; the table rows reproduce the analytic model."""
    from trnsim.hardware import load_chip
    from trnsim.models.op import Op
    from trnsim.ops import op_time

    chip = load_chip("trn1")
    cm = cal.CoreModel(chip, chip.core_spec)
    m, n, k = 1, 8192, 8192
    strided = cal.gemm_time_analytic(cm, m, n, k, "bf16")
    const = cal.gemm_time_analytic(cm, m, n, k, "bf16", const_weight=True)
    ratio = cm.ratio("dma_strided_efficiency", 1.0)
    assert const / strided == pytest.approx(ratio, rel=0.05)  # weight-bound: the DMA rate ratio
    big = 8192
    assert cal.gemm_time_analytic(cm, big, big, big, "bf16", const_weight=True) <= \
        cal.gemm_time_analytic(cm, big, big, big, "bf16")
    ct = load_tables().chips[chip.name]
    sol = max(2 * m * n * k / chip.flops("bf16"), (m * k + k * n + m * n) * 2 / chip.hbm_bandwidth.si)
    assert ct.gemm_const["bf16"](m, n, k) == pytest.approx(sol / const, rel=0.05), "stale table"
    shape = {"m": m, "n": n, "k": k}
    kw = dict(flops=2.0 * m * n * k, bytes_read=(m * k + k * n) * 2, bytes_written=m * n * 2, shape=shape)
    t_dec = op_time(Op("w", "gemm", phase="decode", **kw), chip).seconds
    t_fwd = op_time(Op("w", "gemm", phase="fwd", **kw), chip).seconds
    assert t_dec / t_fwd == pytest.approx(ratio, rel=0.1)
    # chips without a gemm_const table (timing-model tables) time both phases alike
    t2 = load_chip("trn2")
    assert op_time(Op("w", "gemm", phase="decode", **kw), t2).seconds == pytest.approx(
        op_time(Op("w", "gemm", phase="fwd", **kw), t2).seconds)


def test_regenerating_some_chips_keeps_the_others():
    old = "# h\n[meta]\nx = 1\n\n[chip.a]\nv = 1\n\n[chip.a.gemm.bf16]\nu = 1\n\n[chip.b]\nv = 2\n"
    new = "# h2\n[meta]\nx = 2\n\n[chip.b]\nv = 3\n\n[chip.b.stream]\nu = 3\n"
    out = cal.merge_chips(old, new)
    assert out.startswith("# h\n") and "[chip.a.gemm.bf16]\nu = 1" in out
    assert "[chip.b]\nv = 3" in out and "[chip.b.stream]" in out and "v = 2" not in out


def test_decode_attention_reads_the_kv_cache_contiguously():
    """NC-v2: decode attention (phase decode) reads K/V from a KV cache at the contiguous DMA rate; the same
    shape in a prompt or training step reads K/V as rows of the QKV activation (strided)."""
    from trnsim.hardware import load_chip
    from trnsim.models.op import Op
    from trnsim.ops import op_time

    chip = load_chip("inf2")
    cm = cal.CoreModel(chip, chip.core_spec)
    strided = cal.attention_time_analytic(cm, 8, 1, 8192, 32, 8, 128)
    cached = cal.attention_time_analytic(cm, 8, 1, 8192, 32, 8, 128, kv_cache=True)
    assert strided / cached == pytest.approx(1 / cm.ratio("dma_strided_efficiency", 1.0), rel=0.1)
    assert cal.attention_time_analytic(cm, 1, 4096, 4096, 32, 8, 128, kv_cache=True) == pytest.approx(
        cal.attention_time_analytic(cm, 1, 4096, 4096, 32, 8, 128), rel=0.05)  # prefill: compute-bound
    shape = {"batch": 8, "q_len": 1, "kv_len": 8192, "q_heads": 32, "kv_heads": 8, "head_dim": 128, "causal": 1}
    t = {ph: op_time(Op("a", "attention", 0.0, 0.0, 0.0, shape=shape, phase=ph), chip).seconds
         for ph in ("decode", "fwd")}
    assert t["fwd"] / t["decode"] == pytest.approx(strided / cached, rel=0.1)

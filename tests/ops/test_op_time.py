"""op_time: roofline limits, efficiency bounds and monotonicity, dtype peaks, sources."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trnsim.errors import TrnsimError
from trnsim.hardware import catalog, load_chip
from trnsim.models.op import Op
from trnsim.ops import attention_op, gemm_op, op_time


def _chip(name):
    cat = catalog()
    if cat.resolve_name("chip", name) is None:
        pytest.skip(f"{name} not in the catalog yet")
    return cat.chip(name)


GPUS = ["h100", "h200", "b200", "a100-80gb", "gb200", "b300"]
AWS = ["trn1", "trn2", "trn3", "inf2", "trainium4"]


@pytest.mark.parametrize("name", GPUS + AWS)
def test_large_gemm_is_compute_bound_small_k_memory_bound(name):
    c = _chip(name)
    big = op_time(gemm_op(8192, 8192, 8192), c)
    assert big.bound == "compute"
    assert 0.3 < big.mfu <= 1.0
    # never faster than the roofline speed of light
    assert big.per_call_s >= big.flops / c.flops("bf16")
    gemv = op_time(gemm_op(1, 8192, 8192), c)
    assert gemv.bound == "memory"
    assert gemv.per_call_s >= gemv.bytes / c.hbm_bandwidth.si
    assert gemv.achieved_bandwidth <= c.hbm_bandwidth.si
    # memory-bound: small-K GEMM with a huge output is limited by bytes, not FLOPs
    thin = op_time(gemm_op(16384, 16384, 16), c)
    assert thin.bound == "memory"


@pytest.mark.parametrize("name", GPUS + AWS)
def test_gemm_time_scales_with_work_at_large_sizes(name):
    c = _chip(name)
    t1 = op_time(gemm_op(8192, 8192, 8192), c).per_call_s
    t2 = op_time(gemm_op(16384, 8192, 8192), c).per_call_s
    assert 1.7 < t2 / t1 < 2.3


@pytest.mark.parametrize("name", GPUS + AWS)
def test_dtype_peaks_are_used(name):
    c = _chip(name)
    bf = op_time(gemm_op(8192, 8192, 8192, "bf16"), c)
    f8 = op_time(gemm_op(8192, 8192, 8192, "fp8"), c)
    assert bf.peak_flops == c.flops("bf16")
    assert f8.peak_flops == c.flops("fp8")
    if c.flops("fp8") >= 1.9 * c.flops("bf16"):
        assert f8.per_call_s < 0.75 * bf.per_call_s


@pytest.mark.parametrize("name", ["h100", "b200", "trn2", "trn3"])
@given(m=st.integers(1, 1 << 15), n=st.integers(64, 1 << 15), k=st.integers(64, 1 << 15))
def test_efficiency_bounded(name, m, n, k):
    c = _chip(name)
    r = op_time(gemm_op(m, n, k), c)
    assert 0 < r.efficiency <= 1
    assert 0 < r.utilisation <= 1 + 1e-9
    assert r.per_call_s > 0 and math.isfinite(r.per_call_s)


@pytest.mark.parametrize("name", ["h100", "b200", "trn2", "trn3"])
def test_achieved_efficiency_monotone_in_size(name):
    c = _chip(name)
    prev = 0.0
    for s in (256, 512, 1024, 2048, 4096, 8192, 16384):
        mfu = op_time(gemm_op(s, s, s), c).mfu
        assert mfu >= prev - 1e-3, (s, mfu, prev)
        prev = mfu
    prev = 0.0
    for seq in (512, 1024, 2048, 4096, 8192, 16384, 32768):
        mfu = op_time(attention_op(1, seq, seq, 32, 8, 128), c).mfu
        assert mfu >= prev - 1e-3, (seq, mfu, prev)
        prev = mfu


@pytest.mark.parametrize("name", ["h100", "trn2"])
def test_decode_attention_memory_bound_prefill_compute_bound(name):
    c = _chip(name)
    dec = op_time(attention_op(64, 1, 4096, 64, 8, 128), c)
    pre = op_time(attention_op(1, 16384, 16384, 64, 8, 128), c)
    assert dec.bound == "memory" and pre.bound == "compute"


def test_count_multiplies():
    c = _chip("h100")
    one = op_time(gemm_op(4096, 4096, 4096), c)
    many = op_time(gemm_op(4096, 4096, 4096, count=80), c)
    assert many.seconds == pytest.approx(80 * one.seconds)
    assert many.per_call_s == pytest.approx(one.per_call_s)


def test_sources_name_their_origin():
    h = op_time(gemm_op(4096, 4096, 4096), _chip("h100"))
    assert "gpu_efficiency.toml" in h.source and "fitted" in h.source
    t = op_time(gemm_op(4096, 4096, 4096), _chip("trn2"))
    assert "trainium_efficiency.toml" in t.source
    assert ("assumed" in t.source) or ("neuroncore" in t.source)


def test_vector_ops_memory_bound():
    for name in ("h100", "trn2"):
        c = _chip(name)
        n = 8192 * 8192
        op = Op("rmsnorm", "norm", flops=4.0 * n, bytes_read=2.0 * n, bytes_written=2.0 * n, shape={"tokens": 8192, "hidden": 8192})
        r = op_time(op, c)
        assert r.bound == "memory"
        assert r.per_call_s >= op.bytes / c.hbm_bandwidth.si


def test_moe_gemm_and_unknown_kind():
    c = _chip("h100")
    op = Op("experts", "moe_gemm", flops=2.0 * 64 * 4096 * 14336 * 8, bytes_read=8 * 4096 * 14336 * 2.0,
            bytes_written=64 * 8 * 14336 * 2.0, shape={"m": 64, "n": 14336, "k": 4096, "experts": 8})
    assert op_time(op, c).bound == "memory"
    with pytest.raises(TrnsimError):
        op_time(Op("x", "conv", 1.0, 1.0, 1.0), c)  # type: ignore[arg-type]


def test_moe_gemm_compute_pays_tile_padding():
    """A compute-bound grouped GEMM's compute time scales with the padded rows its shape carries."""
    from trnsim.hardware import load_chip
    from trnsim.models.op import Op
    from trnsim.ops import op_time

    chip = load_chip("H100")
    shape = {"m": 600, "n": 28672, "k": 4096, "experts": 8}
    base = dict(name="e", kind="moe_gemm", flops=2.0 * 4800 * 28672 * 4096, bytes_read=8 * 28672 * 4096 * 2.0,
                bytes_written=4800 * 28672 * 2.0, dtype="bf16")
    plain = op_time(Op(shape=shape, **base), chip)
    padded = op_time(Op(shape=shape | {"rows": 4800, "rows_padded": 5400}, **base), chip)
    assert padded.compute_s == pytest.approx(plain.compute_s * 5400 / 4800)

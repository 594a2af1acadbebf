"""Tutorial-style kernels in the old ``neuronxcc.nki`` API, checked against NumPy (fp32 and bf16)."""

from __future__ import annotations

import numpy as np
import pytest

import kernels_old as KO
import refs
from nkihelpers import BF16, close

import trnsim.nki.legacy as onki
from trnsim.errors import TrnsimError
from trnsim.nki import run_kernel

DTYPES = [np.float32, BF16]


def _r(rng, shape, dtype, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, shape).astype(np.float32).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_spmd_grid(rng, dtype):
    x, y = _r(rng, (256, 512), dtype), _r(rng, (256, 512), dtype)
    out = onki.simulate_kernel(KO.add_spmd[2, 2], x, y)
    close(out, refs.f32(x) + refs.f32(y), dtype)
    run = run_kernel(KO.add_spmd, x, y, grid=(2, 2))
    assert run.grid == (2, 2) and run.trace.counts()["dma_copy"] == 12
    np.testing.assert_array_equal(run.outputs, out)
    np.testing.assert_array_equal(KO.add_spmd[2, 2](x, y), out)  # mode="simulation" direct call


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_masked(rng, dtype):
    x, y = _r(rng, (300, 256), dtype), _r(rng, (300, 256), dtype)
    close(run_kernel(KO.add_masked, x, y).outputs, refs.f32(x) + refs.f32(y), dtype)


def test_unmasked_out_of_bounds_is_an_error(rng):
    with pytest.raises(TrnsimError, match="out of bounds.*add a mask"):
        run_kernel(KO.add_spmd, np.zeros((100, 256), np.float32), np.zeros((100, 256), np.float32), grid=(1, 1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_transpose_free(rng, dtype):
    x = _r(rng, (64, 12), dtype)
    out = run_kernel(KO.transpose_free, x, 3, 4).outputs
    np.testing.assert_array_equal(refs.f32(out), refs.f32(x).reshape(64, 3, 4).transpose(0, 2, 1).reshape(64, 12))


@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool(rng, dtype):
    x = _r(rng, (32, 8, 12), dtype)
    close(run_kernel(KO.avg_pool, x, 2).outputs, refs.avg_pool(x, 2), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_basic(rng, dtype):
    a, b = _r(rng, (128, 64), dtype), _r(rng, (128, 512), dtype)
    close(run_kernel(KO.matmul_basic, a, b).outputs, refs.f32(a).T @ refs.f32(b), dtype, scale=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", [KO.matmul_tiled, KO.matmul_hoisted, KO.matmul_blocked_free,
                                    KO.matmul_fully_blocked], ids=lambda k: k.__name__)
def test_matmul_variants(rng, dtype, kernel):
    a, b = _r(rng, (512, 256), dtype), _r(rng, (512, 1024), dtype)
    run = run_kernel(kernel, a, b)
    close(run.outputs, refs.f32(a).T @ refs.f32(b), dtype, scale=8)
    mms = [i for i in run.trace.instructions if i.opcode == "nc_matmul"]
    assert len(mms) == 2 * 2 * 4 and not run.warnings


@pytest.mark.parametrize("dtype", DTYPES)
def test_rmsnorm_masked(rng, dtype):
    x, g = _r(rng, (200, 256), dtype), _r(rng, (256,), dtype, 0.5, 1.5)
    close(run_kernel(KO.rmsnorm, x, g).outputs, refs.rmsnorm(x, g), dtype, scale=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", [KO.layernorm_v1, KO.layernorm_v2], ids=lambda k: k.__name__)
def test_layernorm(rng, dtype, kernel):
    x = _r(rng, (150, 700), dtype)
    g, b = _r(rng, (700,), dtype, 0.5, 1.5), _r(rng, (700,), dtype)
    close(run_kernel(kernel, x, g, b).outputs, refs.layernorm(x, g, b), dtype, scale=4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax(rng, dtype):
    x = _r(rng, (256, 200), dtype, -4, 4)
    close(run_kernel(KO.softmax, x).outputs, refs.softmax(x), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_causal_attention(rng, dtype):
    d, s = 64, 256
    q, k, v = _r(rng, (d, s), dtype), _r(rng, (d, s), dtype), _r(rng, (s, d), dtype)
    close(run_kernel(KO.causal_attention, q, k, v).outputs, refs.causal_attention(q, k, v), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cumsum(rng, dtype):
    x = _r(rng, (128, 300), dtype)
    close(run_kernel(KO.cumsum, x).outputs, np.cumsum(refs.f32(x), axis=1), dtype, scale=10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_selective_scan(rng, dtype):
    ch, ln, ns = 128, 48, 3
    delta = _r(rng, (ch, ln), dtype, 0.01, 0.2)
    u = _r(rng, (ch, ln), dtype)
    a = _r(rng, (ch, ns), dtype, -2, -0.5)
    b, c = _r(rng, (ns, ln), dtype), _r(rng, (ns, ln), dtype)
    close(run_kernel(KO.selective_scan, delta, u, a, b, c).outputs, refs.selective_scan(delta, u, a, b, c),
          dtype, scale=2)


def test_old_and_new_api_traces_agree(rng):
    import kernels_new as K1

    a, b = _r(rng, (256, 128), BF16), _r(rng, (256, 512), BF16)
    t_old = run_kernel(KO.matmul_tiled, a, b).trace
    t_new = run_kernel(K1.matmul_tiled, a, b).trace
    assert t_old.counts()["nc_matmul"] == t_new.counts()["nc_matmul"] == 2
    assert [i.attrs["accumulate"] for i in t_old.instructions if i.opcode == "nc_matmul"] == [None, None]


def test_benchmark_decorator_uses_timing_model(rng):
    import kernels_new as K1

    a, b = _r(rng, (256, 128), BF16), _r(rng, (256, 512), BF16)
    bench = onki.benchmark(warmup=2, iters=5)(K1.matmul_tiled)
    out = bench(a, b)
    assert out.shape == (128, 512) and not out.any()  # placeholders: benchmark does not compute values
    us = bench.benchmark_result.nc_latency.get_latency_percentile(50)
    assert 0.1 < us < 1000


def test_runtime_scalar_index_dynamic_copy(rng):
    import trnsim.nki.legacy.isa as onisa
    import trnsim.nki.legacy.language as onl

    x = rng.standard_normal((128, 64)).astype(np.float32)
    offs = np.array([[5, 9, 0, 63]], np.int32)

    def k(x, offs):
        xs, os_ = onl.load(x), onl.load(offs)
        o = onl.ndarray((128, 4), dtype=onl.float32, buffer=onl.sbuf)
        ix, iy = onl.mgrid[0:128, 0:1]
        for j in range(4):
            o[ix, j + iy] = onisa.tensor_copy_dynamic_src(xs[ix, os_[0, j] + iy])
        res = onl.ndarray((128, 4), dtype=onl.float32, buffer=onl.shared_hbm)
        onl.store(res, value=o)
        return res

    run = run_kernel(k, x, offs)
    np.testing.assert_array_equal(run.outputs, x[:, offs[0]])
    assert run.trace.counts()["tensor_copy_dynamic_src"] == 4

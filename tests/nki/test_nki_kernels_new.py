"""Tutorial-style kernels in the current API, checked against NumPy at fp32 and bf16 tolerances."""

from __future__ import annotations

import numpy as np
import pytest

import kernels_new as K1
import kernels_new2 as K2
import refs
from nkihelpers import BF16, close

from trnsim.nki import run_kernel

DTYPES = [np.float32, BF16]


def _r(rng, shape, dtype, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, shape).astype(np.float32).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(256, 1024), (200, 512), (128, 64)])
def test_tensor_add(rng, dtype, shape):
    x, y = _r(rng, shape, dtype), _r(rng, shape, dtype)
    out = run_kernel(K1.tensor_add, x, y).outputs
    close(out, refs.f32(x) + refs.f32(y), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_transpose_free(rng, dtype):
    x = _r(rng, (64, 12), dtype)
    out = run_kernel(K1.transpose_free, x, 3, 4).outputs
    np.testing.assert_array_equal(refs.f32(out), refs.f32(x).reshape(64, 3, 4).transpose(0, 2, 1).reshape(64, 12))


@pytest.mark.parametrize("dtype", DTYPES)
def test_transpose_2d(rng, dtype):
    x = _r(rng, (256, 384), dtype)
    out = run_kernel(K1.transpose_2d, x).outputs
    np.testing.assert_array_equal(refs.f32(out), refs.f32(x).T)


@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool(rng, dtype):
    x = _r(rng, (64, 8, 12), dtype)
    out = run_kernel(K1.avg_pool, x, 2).outputs
    close(out, refs.avg_pool(x, 2), dtype)


MM = [K1.matmul_tiled, K1.matmul_hoisted, K1.matmul_blocked_free, K1.matmul_fully_blocked]


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_basic(rng, dtype):
    a, b = _r(rng, (128, 64), dtype), _r(rng, (128, 512), dtype)
    out = run_kernel(K1.matmul_basic, a, b).outputs
    close(out, refs.f32(a).T @ refs.f32(b), dtype, scale=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", MM, ids=lambda k: k.__name__)
def test_matmul_variants(rng, dtype, kernel):
    a, b = _r(rng, (512, 256), dtype), _r(rng, (512, 1024), dtype)
    run = run_kernel(kernel, a, b)
    close(run.outputs, refs.f32(a).T @ refs.f32(b), dtype, scale=8)
    assert not run.warnings


@pytest.mark.parametrize("dtype", DTYPES)
def test_rmsnorm(rng, dtype):
    x, g = _r(rng, (200, 256), dtype), _r(rng, (256,), dtype, 0.5, 1.5)
    close(run_kernel(K2.rmsnorm, x, g).outputs, refs.rmsnorm(x, g), dtype, scale=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", [K2.layernorm_meanvar, K2.layernorm_bnstats], ids=lambda k: k.__name__)
def test_layernorm(rng, dtype, kernel):
    x = _r(rng, (150, 1000), dtype)
    g, b = _r(rng, (1000,), dtype, 0.5, 1.5), _r(rng, (1000,), dtype)
    close(run_kernel(kernel, x, g, b).outputs, refs.layernorm(x, g, b), dtype, scale=4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax(rng, dtype):
    x = _r(rng, (130, 300), dtype, -4, 4)
    close(run_kernel(K2.softmax_rows, x).outputs, refs.softmax(x), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_causal_attention(rng, dtype):
    d, s = 64, 256
    q, k, v = _r(rng, (d, s), dtype), _r(rng, (d, s), dtype), _r(rng, (s, d), dtype)
    close(run_kernel(K2.causal_attention, q, k, v).outputs, refs.causal_attention(q, k, v), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cumsum(rng, dtype):
    x = _r(rng, (130, 600), dtype)
    ref = np.cumsum(refs.f32(x), axis=1)
    close(run_kernel(K2.cumsum_rows, x).outputs, ref, dtype, scale=10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_selective_scan(rng, dtype):
    ch, ln, ns = 128, 64, 4
    delta = _r(rng, (ch, ln), dtype, 0.01, 0.2)
    u = _r(rng, (ch, ln), dtype)
    a = _r(rng, (ch, ns), dtype, -2, -0.5)
    b, c = _r(rng, (ns, ln), dtype), _r(rng, (ns, ln), dtype)
    out = run_kernel(K2.selective_scan, delta, u, a, b, c).outputs
    close(out, refs.selective_scan(delta, u, a, b, c), dtype, scale=2)

"""Tensor Engine instructions: nc_matmul (incl. PSUM accumulate rules) and nc_transpose."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from isa_util import out, sb
from nkihelpers import BF16, needs_trn3

import trnsim.nki.isa as nisa
import trnsim.nki.language as nl
from trnsim.errors import TrnsimError
from trnsim.nki import run_kernel


def mm_kernel(a, b, acc_mode=None, dst_dtype=nl.float32, times=1):
    k, m = a.shape
    _, n = b.shape
    ta, tb = sb(a), sb(b)
    ps = nl.ndarray((m, n), dtype=dst_dtype, buffer=nl.psum)
    for _ in range(times):
        nisa.nc_matmul(dst=ps, stationary=ta, moving=tb, accumulate=acc_mode)
    return out(ps, nl.float32)


@pytest.mark.parametrize("k,m,n", [(128, 128, 512), (1, 1, 1), (64, 17, 300), (128, 128, 1)])
@pytest.mark.parametrize("dtype", [np.float32, BF16, ml_dtypes.float8_e4m3, ml_dtypes.float8_e5m2])
def test_nc_matmul_values(rng, k, m, n, dtype):
    a = rng.standard_normal((k, m)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    res = run_kernel(mm_kernel, a, b).outputs
    ref = a.astype(np.float32).T @ b.astype(np.float32)
    np.testing.assert_allclose(res, ref, rtol=1e-4, atol=1e-3)


def test_nc_matmul_accumulate_modes(rng):
    a = rng.standard_normal((32, 16)).astype(np.float32)
    b = rng.standard_normal((32, 8)).astype(np.float32)
    ref = a.T @ b
    # default (None): first write overwrites the NaN-filled PSUM, later writes accumulate
    np.testing.assert_allclose(run_kernel(mm_kernel, a, b, times=3).outputs, 3 * ref, rtol=1e-5, atol=1e-5)
    # False: always overwrite
    np.testing.assert_allclose(run_kernel(mm_kernel, a, b, acc_mode=False, times=3).outputs, ref, rtol=1e-5,
                               atol=1e-5)
    # True onto an uninitialised location keeps the NaN (and warns: undefined on v2/v3)
    run = run_kernel(mm_kernel, a, b, acc_mode=True)
    assert np.isnan(run.outputs).all()
    assert any("undefined" in w for w in run.warnings)


def test_nc_matmul_first_write_is_per_location(rng):
    a = rng.standard_normal((8, 4)).astype(np.float32)
    b = rng.standard_normal((8, 6)).astype(np.float32)

    def k(a, b):
        ta, tb = sb(a), sb(b)
        ps = nl.ndarray((4, 6), dtype=nl.float32, buffer=nl.psum)
        nisa.nc_matmul(dst=ps[:, 0:3], stationary=ta, moving=tb[:, 0:3])
        nisa.nc_matmul(dst=ps, stationary=ta, moving=tb)  # cols 0-2 accumulate, 3-5 first write
        return out(ps)

    ref = a.T @ b
    ref[:, :3] *= 2
    np.testing.assert_allclose(run_kernel(k, a, b).outputs, ref, rtol=1e-5, atol=1e-5)


def test_nc_matmul_psum_reset_by_copy(rng):
    a = rng.standard_normal((8, 4)).astype(np.float32)
    b = rng.standard_normal((8, 6)).astype(np.float32)

    def k(a, b):
        ta, tb = sb(a), sb(b)
        ps = nl.ndarray((4, 6), dtype=nl.float32, buffer=nl.psum)
        nisa.nc_matmul(dst=ps, stationary=ta, moving=tb)
        nisa.memset(dst=ps, value=0.0)  # a non-matmul write clears the written state
        nisa.nc_matmul(dst=ps, stationary=ta, moving=tb)
        return out(ps)

    np.testing.assert_allclose(run_kernel(k, a, b).outputs, a.T @ b, rtol=1e-5, atol=1e-5)


def _err(kernel, *arrays, target="trn2", match=None):
    with pytest.raises(TrnsimError, match=match) as e:
        run_kernel(kernel, *arrays, target=target)
    msg = str(e.value)
    assert "\n" not in msg and "test_nki_isa_tensor.py:" in msg
    return msg


def test_nc_matmul_errors(rng):
    f = np.float32
    def wide(a, b):
        ta, tb = sb(a), sb(b)
        ps = nl.ndarray((128, b.shape[1]), dtype=nl.float32, buffer=nl.psum)
        nisa.nc_matmul(dst=ps, stationary=ta, moving=tb)

    msg = _err(wide, np.zeros((128, 256), f), np.zeros((128, 512), f), match="stationary free size 256 > 128")
    assert msg.startswith("nc_matmul:") and "TC#3" in msg
    _err(mm_kernel, np.zeros((128, 128), f), np.zeros((128, 1024), f), match="moving free size 1024 > 512")
    _err(mm_kernel, np.zeros((64, 128), f), np.zeros((128, 128), f), match="LC#1")
    _err(mm_kernel, np.zeros((128, 128), BF16), np.zeros((128, 128), f), match="fp32/tf32")
    _err(mm_kernel, np.zeros((128, 8), np.int32), np.zeros((128, 8), np.int32), match="not supported")

    def to_sbuf(a, b):
        ta, tb = sb(a), sb(b)
        d = nl.ndarray((a.shape[1], b.shape[1]), dtype=nl.float32, buffer=nl.sbuf)
        nisa.nc_matmul(dst=d, stationary=ta, moving=tb)

    _err(to_sbuf, np.zeros((4, 4), f), np.zeros((4, 4), f), match="dst must be in PSUM")

    def from_psum(a, b):
        ta = sb(a)
        p = nl.ndarray(b.shape, dtype=nl.float32, buffer=nl.psum)
        nisa.memset(dst=p, value=0.0)
        d = nl.ndarray((a.shape[1], b.shape[1]), dtype=nl.float32, buffer=nl.psum)
        nisa.nc_matmul(dst=d, stationary=ta, moving=p)

    _err(from_psum, np.zeros((4, 4), f), np.zeros((4, 4), f), match="moving must be in SBUF")

    def bf16_dst(a, b):
        return mm_kernel(a, b, dst_dtype=nl.bfloat16)

    _err(bf16_dst, np.zeros((4, 4), BF16), np.zeros((4, 4), BF16), match="dst dtype bfloat16 not allowed")

    def bank_overflow(a, b):
        ta, tb = sb(a), sb(b)
        d = nl.ndarray((4, 1024), dtype=nl.float32, buffer=nl.psum)
        nisa.nc_matmul(dst=d[:, 256:768], stationary=ta, moving=tb)

    _err(bank_overflow, np.zeros((4, 4), f), np.zeros((4, 512), f), match="crosses a PSUM bank")


def test_nc_matmul_double_row_fp8(rng):
    fp8 = ml_dtypes.float8_e4m3
    a = rng.standard_normal((128, 2, 64)).astype(fp8)
    b = rng.standard_normal((128, 2, 256)).astype(fp8)

    def k(a, b):
        ta, tb = sb(a), sb(b)
        ps = nl.ndarray((64, 256), dtype=nl.float32, buffer=nl.psum)
        nisa.nc_matmul(dst=ps, stationary=ta, moving=tb, perf_mode=nisa.matmul_perf_mode.double_row)
        return out(ps)

    run = run_kernel(k, a, b)
    ref = a.astype(np.float32).reshape(256, 64).T @ b.astype(np.float32).reshape(256, 256)
    np.testing.assert_allclose(run.outputs, ref, rtol=1e-4, atol=1e-3)
    mm = [i for i in run.trace.instructions if i.opcode == "nc_matmul"][0]
    assert mm.attrs["perf_mode"] == "double_row" and mm.attrs["K"] == 256


def test_nc_matmul_is_transpose_and_tiling(rng):
    a = rng.standard_normal((64, 32)).astype(BF16)

    def k(a):
        ta = sb(a)
        ident = nl.ndarray((64, 64), dtype=nl.bfloat16, buffer=nl.sbuf)
        nisa.iota(dst=ident, pattern=[[-1, 64]], channel_multiplier=1)  # p - j
        eq = nl.ndarray((64, 64), dtype=nl.bfloat16, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=eq, data=ident, op0=nl.equal, operand0=0.0)
        ps = nl.ndarray((32, 64), dtype=nl.bfloat16, buffer=nl.psum)
        nisa.nc_matmul(dst=ps, stationary=ta, moving=eq, is_transpose=True, tile_size=(64, 32),
                       tile_position=(64, 96))
        return out(ps)

    run = run_kernel(k, a)
    np.testing.assert_array_equal(run.outputs.astype(np.float32), a.astype(np.float32).T)
    mm = [i for i in run.trace.instructions if i.opcode == "nc_matmul"][0]
    assert mm.attrs["is_transpose"] and mm.attrs["tile_size"] == (64, 32)


def test_nc_matmul_tile_size_errors():
    def k(a, b):
        ta, tb = sb(a), sb(b)
        ps = nl.ndarray((64, 8), dtype=nl.float32, buffer=nl.psum)
        nisa.nc_matmul(dst=ps, stationary=ta, moving=tb, tile_size=(32, 32))

    _err(k, np.zeros((64, 64), np.float32), np.zeros((64, 8), np.float32), match="exceed tile_size")


@needs_trn3
def test_nc_matmul_v4_larger_moving_and_bf16_psum(rng):
    from trnsim.nki.runtime import load_target_core

    fmax = load_target_core("trn3").tensor.moving_fmax
    n = min(fmax, 1024)
    a = rng.standard_normal((16, 8)).astype(BF16)
    b = rng.standard_normal((16, n)).astype(BF16)

    def k(a, b):
        return mm_kernel(a, b, dst_dtype=nl.bfloat16)

    res = run_kernel(k, a, b, target="trn3").outputs
    np.testing.assert_allclose(res, a.astype(np.float32).T @ b.astype(np.float32), rtol=2e-2, atol=5e-2)


@pytest.mark.parametrize("p,f", [(128, 128), (1, 5), (32, 32), (100, 3)])
@pytest.mark.parametrize("dtype", [np.float32, BF16])
def test_nc_transpose_tensor_engine(rng, p, f, dtype):
    x = rng.standard_normal((p, f)).astype(dtype)

    def k(x):
        t = sb(x)
        ps = nl.ndarray((f, p), dtype=nl.float32, buffer=nl.psum)
        nisa.nc_transpose(dst=ps, data=t, engine=nisa.engine.tensor)
        return out(ps)

    run = run_kernel(k, x)
    np.testing.assert_array_equal(run.outputs, x.astype(np.float32).T)
    tr = [i for i in run.trace.instructions if i.opcode == "nc_transpose"][0]
    assert tr.engine == "tensor"


def test_nc_transpose_vector_engine(rng):
    x = rng.standard_normal((32, 20)).astype(np.float32)

    def k(x):
        t = sb(x)
        d = nl.ndarray((20, 32), dtype=nl.float32, buffer=nl.sbuf)
        nisa.nc_transpose(dst=d, data=t, engine=nisa.engine.vector)
        return out(d)

    run = run_kernel(k, x)
    np.testing.assert_array_equal(run.outputs, x.T)
    assert [i.engine for i in run.trace.instructions if i.opcode == "nc_transpose"] == ["vector"]

    def too_big(x):
        t = sb(x)
        d = nl.ndarray((x.shape[1], x.shape[0]), dtype=nl.float32, buffer=nl.sbuf)
        nisa.nc_transpose(dst=d, data=t, engine=nisa.engine.vector)

    _err(too_big, np.zeros((64, 16), np.float32), match="exceeds \\[32, 32\\]")

    def te_too_big(x):
        t = sb(x)
        d = nl.ndarray((128, 256), dtype=nl.float32, buffer=nl.psum)
        nisa.nc_transpose(dst=d, data=t, engine=nisa.engine.tensor)

    _err(te_too_big, np.zeros((128, 256), np.float32), match="exceeds \\[128, 128\\]")

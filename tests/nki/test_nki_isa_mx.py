"""NeuronCore-v4 MX instructions: quantize_mx and nc_matmul_mx."""

from __future__ import annotations

import numpy as np
import pytest

from isa_util import out, sb
from nkihelpers import BF16, needs_trn3

import trnsim.nki.isa as nisa
import trnsim.nki.language as nl
from trnsim.errors import TrnsimError
from trnsim.nki import run_kernel
from trnsim.nki.isa.mx import pack, scale_rows, unpack


def mx_kernel(a, b, dtype=nl.float8_e4m3fn_x4):
    k, m4 = a.shape
    _, n4 = b.shape
    qa = nl.ndarray((k, m4 // 4), dtype=dtype, buffer=nl.sbuf)
    sa = nl.ndarray((k, m4 // 4), dtype=nl.uint8, buffer=nl.sbuf)
    nisa.quantize_mx(dst=qa, src=sb(a), dst_scale=sa)
    qb = nl.ndarray((k, n4 // 4), dtype=dtype, buffer=nl.sbuf)
    sbs = nl.ndarray((k, n4 // 4), dtype=nl.uint8, buffer=nl.sbuf)
    nisa.quantize_mx(dst=qb, src=sb(b), dst_scale=sbs)
    ps = nl.ndarray((m4 // 4, n4 // 4), dtype=nl.float32, buffer=nl.psum)
    nisa.nc_matmul_mx(dst=ps, stationary=qa, moving=qb, stationary_scale=sa, moving_scale=sbs)
    return out(ps), None


def test_pack_roundtrip(rng):
    v = rng.uniform(-4, 4, (8, 5, 4)).astype(np.float32)
    for name in ("float8_e4m3fn_x4", "float8_e5m2_x4", "float4_e2m1fn_x4"):
        q = unpack(pack(v, name), name)
        assert q.shape == v.shape and np.all(np.abs(q - v) <= np.abs(v) * 0.3 + 0.3)
    assert list(scale_rows(128)[:6]) == [0, 1, 2, 3, 32, 33]


@needs_trn3
@pytest.mark.parametrize("dtype", [nl.float8_e4m3fn_x4, nl.float8_e5m2_x4])
def test_quantize_and_matmul_mx(rng, dtype):
    a = rng.standard_normal((128, 256)).astype(BF16)  # K x (M * 4)
    b = rng.standard_normal((128, 512)).astype(BF16)  # K x (N * 4)
    run = run_kernel(mx_kernel, a, b, dtype=dtype, target="trn3")
    res = run.outputs[0]
    af, bf = a.astype(np.float32).reshape(128, 64, 4), b.astype(np.float32).reshape(128, 128, 4)
    ref = np.einsum("kmq,knq->mn", af, bf)
    rel = np.linalg.norm(res - ref) / np.linalg.norm(ref)
    assert rel < (0.05 if dtype is nl.float8_e4m3fn_x4 else 0.1)
    mm = [i for i in run.trace.instructions if i.opcode == "nc_matmul_mx"][0]
    assert mm.engine == "tensor" and mm.attrs["K"] == 512 and mm.attrs["perf_mode"] == "mx"


def test_mx_needs_v4(rng):
    a = rng.standard_normal((32, 16)).astype(BF16)
    with pytest.raises(TrnsimError, match="quantize_mx: needs NeuronCore-v4"):
        run_kernel(mx_kernel, a, a, target="trn2")


@needs_trn3
def test_mx_shape_rules(rng):
    def bad(a):
        q = nl.ndarray((48, 4), dtype=nl.float8_e4m3fn_x4, buffer=nl.sbuf)
        s = nl.ndarray((48, 4), dtype=nl.uint8, buffer=nl.sbuf)
        nisa.quantize_mx(dst=q, src=sb(a), dst_scale=s)

    with pytest.raises(TrnsimError, match="multiple of 32"):
        run_kernel(bad, rng.standard_normal((48, 16)).astype(BF16), target="trn3")

    def fp32_src(a):
        q = nl.ndarray((32, 4), dtype=nl.float8_e4m3fn_x4, buffer=nl.sbuf)
        s = nl.ndarray((32, 4), dtype=nl.uint8, buffer=nl.sbuf)
        nisa.quantize_mx(dst=q, src=sb(a), dst_scale=s)

    with pytest.raises(TrnsimError, match="must be bfloat16 or float16"):
        run_kernel(fp32_src, np.zeros((32, 16), np.float32), target="trn3")

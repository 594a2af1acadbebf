"""Vector / Scalar / GpSimd / DMA instructions against NumPy references, incl. their documented errors."""

from __future__ import annotations

import numpy as np
import pytest

from isa_util import out, sb
from nkihelpers import BF16, needs_trn1, needs_trn3

import trnsim.nki.isa as nisa
import trnsim.nki.language as nl
from trnsim.errors import TrnsimError
from trnsim.nki import run_kernel

F = np.float32


def err(kernel, *arrays, match, target="trn2"):
    with pytest.raises(TrnsimError, match=match) as e:
        run_kernel(kernel, *arrays, target=target)
    assert "test_nki_isa_vector.py:" in str(e.value)


def unary_kernel(instr, **kw):
    def k(x):
        t = sb(x)
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        getattr(nisa, instr)(dst=d, data=t, **kw)
        return out(d)
    return k


# ------------------------------------------------------------------------------------ tensor_tensor
@pytest.mark.parametrize("op,ref", [(nl.add, np.add), (nl.subtract, np.subtract), (nl.multiply, np.multiply),
                                    (nl.maximum, np.maximum), (nl.minimum, np.minimum),
                                    (nl.greater, lambda a, b: (a > b).astype(F)), (nl.power, None)])
@pytest.mark.parametrize("shape", [(128, 512), (1, 1), (7, 3, 5)])
def test_tensor_tensor(rng, op, ref, shape):
    a = rng.uniform(0.5, 2, shape).astype(F)
    b = rng.uniform(0.5, 2, shape).astype(F)

    def k(a, b):
        d = nl.ndarray(a.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_tensor(dst=d, data1=sb(a), data2=sb(b), op=op)
        return out(d)

    run = run_kernel(k, a, b)
    np.testing.assert_allclose(run.outputs, (ref or np.power)(a, b), rtol=1e-6)
    tt = [i for i in run.trace.instructions if i.opcode == "tensor_tensor"][0]
    assert tt.engine == ("gpsimd" if op is nl.power else "vector") and tt.attrs["op"] == op.__name__


def test_tensor_tensor_errors():
    def both_psum(a):
        p1 = nl.ndarray(a.shape, dtype=nl.float32, buffer=nl.psum)
        p2 = nl.ndarray(a.shape, dtype=nl.float32, buffer=nl.psum)
        d = nl.ndarray(a.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_tensor(dst=d, data1=p1, data2=p2, op=nl.add)

    err(both_psum, np.zeros((4, 4), F), match="cannot both be in PSUM")

    def mismatch(a):
        t = sb(a)
        d = nl.ndarray(a.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_tensor(dst=d, data1=t, data2=t[:, 0:2], op=nl.add)

    err(mismatch, np.zeros((4, 4), F), match="does not match")

    def gpsimd_psum(a):
        p1 = nl.ndarray(a.shape, dtype=nl.float32, buffer=nl.psum)
        d = nl.ndarray(a.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_tensor(dst=d, data1=p1, data2=sb(a), op=nl.add, engine=nisa.engine.gpsimd)

    err(gpsimd_psum, np.zeros((4, 4), F), match="GpSimd engine cannot access PSUM")

    def too_many_partitions(a):
        d = nl.ndarray((129, 4), dtype=nl.float32, buffer=nl.sbuf)

    err(too_many_partitions, np.zeros((4, 4), F), match="partition dim 129 > 128 \\(tile rule TC#1\\)")

    def hbm_operand(a):
        d = nl.ndarray(a.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_tensor(dst=d, data1=a, data2=a, op=nl.add)

    err(hbm_operand, np.zeros((4, 4), F), match="data1 must be in SBUF/PSUM")

    def not_partition_first(a):
        t = sb(a)
        d = nl.ndarray((4, 8), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_tensor(dst=d, data1=t.transpose(), data2=t.transpose(), op=nl.add)

    err(not_partition_first, np.zeros((8, 4), F), match="LC#2")


# ------------------------------------------------------------------------------------ tensor_scalar
def test_tensor_scalar(rng):
    x = rng.uniform(1, 2, (64, 40)).astype(BF16)
    v = rng.uniform(1, 2, (64, 1)).astype(F)

    def k(x, v):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=d, data=sb(x), op0=nl.subtract, operand0=sb(v), reverse0=True,
                           op1=nl.multiply, operand1=3.0)
        return out(d)

    res = run_kernel(k, x, v).outputs
    np.testing.assert_allclose(res, (v - x.astype(F)) * 3.0, rtol=1e-6)

    def bad_vec(x, v):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=d, data=sb(x), op0=nl.add, operand0=sb(x))

    err(bad_vec, x, v, match="per-partition vector")

    def scalar_engine_max(x, v):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=d, data=sb(x), op0=nl.maximum, operand0=0.0, engine=nisa.engine.scalar)

    err(scalar_engine_max, x, v, match="only multiply/add")


def test_scalar_tensor_tensor(rng):
    x, y = rng.standard_normal((32, 16)).astype(F), rng.standard_normal((32, 16)).astype(F)

    def k(x, y):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.scalar_tensor_tensor(dst=d, data=sb(x), op0=nl.multiply, operand0=2.0, op1=nl.subtract,
                                  operand1=sb(y), reverse1=True)
        return out(d)

    np.testing.assert_allclose(run_kernel(k, x, y).outputs, y - 2 * x, rtol=1e-6)


# ------------------------------------------------------------------------------------ reductions
@pytest.mark.parametrize("op,ref", [(nl.add, np.sum), (nl.max, np.max), (nl.min, np.min), (nl.multiply, np.prod)])
def test_tensor_reduce(rng, op, ref):
    x = rng.uniform(0.9, 1.1, (16, 4, 6)).astype(F)

    def k(x):
        d1 = nl.ndarray((16, 4), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_reduce(dst=d1, op=op, data=sb(x), axis=2)
        d2 = nl.ndarray((16, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_reduce(dst=d2, op=op, data=sb(x), axis=(1, 2), negate=True, keepdims=True)
        return out(d1), out(d2)

    r1, r2 = run_kernel(k, x).outputs
    np.testing.assert_allclose(r1, ref(x, axis=2), rtol=1e-5)
    np.testing.assert_allclose(r2[:, 0], -ref(x.reshape(16, -1), axis=1), rtol=1e-5)


def test_tensor_reduce_errors():
    def axis0(x):
        d = nl.ndarray((1, 4), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_reduce(dst=d, op=nl.add, data=sb(x), axis=0)

    err(axis0, np.zeros((4, 4), F), match="partition axis 0 cannot be reduced")

    def middle(x):
        d = nl.ndarray((4, 3), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_reduce(dst=d, op=nl.add, data=sb(x), axis=1)

    err(middle, np.zeros((4, 2, 3), F), match="last contiguous free dims")


def test_tensor_tensor_scan(rng):
    a = rng.uniform(0.5, 1, (8, 20)).astype(F)
    b = rng.standard_normal((8, 20)).astype(F)
    init = rng.standard_normal((8, 1)).astype(F)

    def k(a, b, init):
        d = nl.ndarray(a.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_tensor_scan(dst=d, data0=sb(a), data1=sb(b), initial=sb(init), op0=nl.multiply, op1=nl.add)
        return out(d)

    ref = np.zeros_like(a)
    prev = init[:, 0]
    for i in range(a.shape[1]):
        prev = a[:, i] * prev + b[:, i]
        ref[:, i] = prev
    np.testing.assert_allclose(run_kernel(k, a, b, init).outputs, ref, rtol=1e-5)


def test_tensor_scalar_reduce_and_cumulative(rng):
    x = rng.standard_normal((8, 10)).astype(F)

    def k(x):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        r = nl.ndarray((8, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar_reduce(dst=d, data=sb(x), op0=nl.multiply, operand0=2.0, reduce_op=nl.add, reduce_res=r)
        c = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar_cumulative(dst=c, src=sb(x), op0=nl.add, op1=nl.add, imm0=1.0)
        return out(d), out(r), out(c)

    d, r, c = run_kernel(k, x).outputs
    np.testing.assert_allclose(d, 2 * x, rtol=1e-6)
    np.testing.assert_allclose(r[:, 0], (2 * x).sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(c, np.cumsum(x + 1, axis=1), rtol=1e-5)


def test_tensor_partition_reduce(rng):
    x = rng.standard_normal((64, 12)).astype(F)

    def k(x):
        d = nl.ndarray((1, 12), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_partition_reduce(dst=d, op=nl.add, data=sb(x))
        return out(d)

    run = run_kernel(k, x)
    np.testing.assert_allclose(run.outputs[0], x.sum(axis=0), rtol=1e-5)
    assert [i.engine for i in run.trace.instructions if i.opcode == "tensor_partition_reduce"] == ["gpsimd"]

    def from_psum(x):
        p = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.psum)
        d = nl.ndarray((1, 12), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_partition_reduce(dst=d, op=nl.add, data=p)

    err(from_psum, x, match="GpSimd engine cannot access PSUM")


# ------------------------------------------------------------------------------------ copies & memset
def test_tensor_copy_casts(rng):
    x = np.array([[0.5, 1.5, 2.5, -0.5, 300.0, -300.0, np.nan, 1e9]], F)

    def k(x):
        d8 = nl.ndarray(x.shape, dtype=nl.int8, buffer=nl.sbuf)
        nisa.tensor_copy(dst=d8, src=sb(x))
        db = nl.ndarray(x.shape, dtype=nl.bfloat16, buffer=nl.sbuf)
        nisa.tensor_copy(dst=db, src=sb(x), engine=nisa.engine.scalar)
        return out(d8), out(db)

    i8, b16 = run_kernel(k, x).outputs
    np.testing.assert_array_equal(i8[0], [0, 2, 2, 0, 127, -128, 0, 127])  # RNE + saturation
    np.testing.assert_array_equal(b16.astype(F), x.astype(BF16).astype(F))


@needs_trn1
def test_tensor_copy_scalar_engine_not_on_v2():
    def k(x):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_copy(dst=d, src=sb(x), engine=nisa.engine.scalar)

    err(k, np.zeros((4, 4), F), target="trn1", match="NeuronCore-v3")


def test_tensor_copy_predicated(rng):
    x, pr = rng.standard_normal((8, 6)).astype(F), (rng.random((8, 6)) > 0.5).astype(F)

    def k(x, pr):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.memset(dst=d, value=7.0)
        nisa.tensor_copy_predicated(dst=d, src=sb(x), predicate=sb(pr))
        return out(d)

    np.testing.assert_array_equal(run_kernel(k, x, pr).outputs, np.where(pr != 0, x, 7.0))


def test_memset_and_sentinel():
    def k(x):
        a = nl.ndarray((4, 3), dtype=nl.int32, buffer=nl.sbuf)
        nisa.memset(dst=a[:, 0:2], value=9)
        f = nl.ndarray((4, 3), dtype=nl.float32, buffer=nl.sbuf)
        return out(a), out(f)

    a, f = run_kernel(k, np.zeros((1, 1), F)).outputs
    np.testing.assert_array_equal(a[:, :2], 9)
    np.testing.assert_array_equal(a[:, 2], 4)  # uninitialised ints read as 4
    assert np.isnan(f).all()  # uninitialised floats read as NaN

    def bad(x):
        a = nl.ndarray((4, 3), dtype=nl.int32, buffer=nl.sbuf)
        nisa.memset(dst=a, value=0.5)

    err(bad, np.zeros((1, 1), F), match="does not match integer dst dtype")


# ------------------------------------------------------------------------------------ scalar engine
def test_activation(rng):
    x = rng.uniform(-1, 1, (16, 24)).astype(BF16)
    s = rng.uniform(0.5, 1, (16, 1)).astype(F)
    b = rng.uniform(-1, 1, (16, 1)).astype(F)

    def k(x, s, b):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        r = nl.ndarray((16, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=d, op=nl.exp, data=sb(x), scale=sb(s), bias=sb(b), reduce_op=nl.add, reduce_res=r,
                        reduce_cmd=nisa.reduce_cmd.reset_reduce)
        g = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=g, op=nl.tanh, data=sb(x), scale=2.0)
        return out(d), out(r), out(g)

    d, r, g = run_kernel(k, x, s, b).outputs
    ref = np.exp(x.astype(F) * s + b)
    np.testing.assert_allclose(d, ref, rtol=1e-5)
    np.testing.assert_allclose(r[:, 0], ref.sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(g, np.tanh(2 * x.astype(F)), rtol=1e-5)


def test_activation_accumulates_across_instructions(rng):
    x = rng.standard_normal((8, 5)).astype(F)

    def k(x):
        t = sb(x)
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        r = nl.ndarray((8, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=d, op=nl.copy, data=t, reduce_op=nl.add, reduce_cmd=nisa.reduce_cmd.reset_reduce)
        nisa.activation(dst=d, op=nl.copy, data=t, reduce_op=nl.add, reduce_res=r, reduce_cmd=nisa.reduce_cmd.reduce)
        return out(r)

    np.testing.assert_allclose(run_kernel(k, x).outputs[:, 0], 2 * x.sum(axis=1), rtol=1e-5)


def test_activation_errors_and_ranges():
    def bad_op(x):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=d, op=nl.add, data=sb(x))

    err(bad_op, np.zeros((4, 4), F), match="not an activation function")

    def sin_range(x):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=d, op=nl.sin, data=sb(x))

    run = run_kernel(sin_range, np.full((4, 4), 5.0, F))
    assert any("valid range" in w for w in run.warnings)


@needs_trn1
def test_activation_scalar_bias_needs_v3():
    def k(x):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=d, op=nl.exp, data=sb(x), bias=1.0)

    err(k, np.zeros((4, 4), F), target="trn1", match="scalar bias needs NeuronCore-v3")


def test_reciprocal(rng):
    x = rng.uniform(0.5, 4, (8, 9)).astype(F)
    np.testing.assert_allclose(run_kernel(unary_kernel("reciprocal"), x).outputs, 1 / x, rtol=1e-6)


@needs_trn3
def test_exponential_v4(rng):
    x = rng.standard_normal((8, 9)).astype(F)

    def k(x):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.exponential(dst=d, src=sb(x), max_value=1.0)
        return out(d)

    np.testing.assert_allclose(run_kernel(k, x, target="trn3").outputs, np.exp(x - 1), rtol=1e-5)


def test_exponential_needs_v4():
    def k(x):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.exponential(dst=d, src=sb(x))

    err(k, np.zeros((4, 4), F), match="needs NeuronCore-v4")


# ------------------------------------------------------------------------------------ statistics
@pytest.mark.parametrize("n", [1, 2, 7, 512])
def test_bn_stats_aggr(rng, n):
    x = rng.standard_normal((16, 2 * n)).astype(F)

    def k(x):
        t = sb(x)
        st = nl.ndarray((16, 2, 6), dtype=nl.float32, buffer=nl.sbuf)
        for c in range(2):
            nisa.bn_stats(dst=st[:, c, :], data=t[:, c * n:(c + 1) * n])
        mv = nl.ndarray((16, 2), dtype=nl.float32, buffer=nl.sbuf)
        nisa.bn_aggr(dst=mv, data=st)
        return out(mv)

    mv = run_kernel(k, x).outputs
    np.testing.assert_allclose(mv[:, 0], x.mean(axis=1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mv[:, 1], x.var(axis=1), rtol=1e-4, atol=1e-5)


def test_bn_stats_limit():
    def k(x):
        st = nl.ndarray((4, 6), dtype=nl.float32, buffer=nl.sbuf)
        nisa.bn_stats(dst=st, data=sb(x))

    err(k, np.zeros((4, 513), F), match="513 > 512")


def test_select_reduce(rng):
    x = rng.standard_normal((8, 12)).astype(F)
    pr = (rng.random((8, 12)) > 0.5).astype(F)

    def k(x, pr):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        r = nl.ndarray((8, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.select_reduce(dst=d, predicate=sb(pr), on_true=sb(x), on_false=-5.0, reduce_res=r,
                           reduce_cmd=nisa.reduce_cmd.reset_reduce, reduce_op=nl.maximum)
        return out(d), out(r)

    d, r = run_kernel(k, x, pr).outputs
    ref = np.where(pr != 0, x, -5.0)
    np.testing.assert_array_equal(d, ref)
    np.testing.assert_array_equal(r[:, 0], ref.max(axis=1))


def test_max8_find_index8_match_replace8(rng):
    x = rng.permutation(64 * 40).reshape(64, 40).astype(F)

    def k(x):
        t = sb(x)
        m = nl.ndarray((64, 8), dtype=nl.float32, buffer=nl.sbuf)
        nisa.max8(dst=m, src=t)
        idx = nl.ndarray((64, 8), dtype=nl.uint32, buffer=nl.sbuf)
        nisa.nc_find_index8(dst=idx, data=t, vals=m)
        rep = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.nc_match_replace8(dst=rep, data=t, vals=m, imm=-1.0)
        return out(m), out(idx), out(rep)

    m, idx, rep = run_kernel(k, x).outputs
    ref = -np.sort(-x, axis=1)[:, :8]
    np.testing.assert_array_equal(m, ref)
    np.testing.assert_array_equal(np.take_along_axis(x, idx.astype(np.int64), axis=1), ref)
    assert ((rep == -1).sum(axis=1) == 8).all() and (rep.max(axis=1) == np.sort(x, axis=1)[:, -9]).all()

    def small(x):
        m = nl.ndarray((4, 8), dtype=nl.float32, buffer=nl.sbuf)
        nisa.max8(dst=m, src=sb(x))

    err(small, np.zeros((4, 7), F), match="must be in \\[8, 16384\\]")


# ------------------------------------------------------------------------------------ gpsimd
def test_iota_and_affine_select(rng):
    x = rng.standard_normal((16, 24)).astype(F)

    def k(x):
        i = nl.ndarray((16, 4, 6), dtype=nl.int32, buffer=nl.sbuf)
        nisa.iota(dst=i, pattern=[[6, 4], [1, 6]], offset=3, channel_multiplier=100)
        s = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.affine_select(dst=s, pattern=[[-1, 24]], channel_multiplier=1, on_true_tile=sb(x),
                           on_false_value=-9.0, cmp_op=nl.greater_equal, offset=2)
        return out(i), out(s)

    i, s = run_kernel(k, x).outputs
    p, f = np.arange(16)[:, None], np.arange(24)[None, :]
    np.testing.assert_array_equal(i.reshape(16, 24), 3 + 100 * p + f)
    np.testing.assert_array_equal(s, np.where(2 + p - f >= 0, x, -9.0))

    def wrong_count(x):
        i = nl.ndarray((16, 24), dtype=nl.int32, buffer=nl.sbuf)
        nisa.iota(dst=i, pattern=[[1, 23]])

    err(wrong_count, x, match="has 23 elements")

    def psum_dst(x):
        i = nl.ndarray((16, 24), dtype=nl.float32, buffer=nl.psum)
        nisa.iota(dst=i, pattern=[[1, 24]])

    err(psum_dst, x, match="GpSimd engine cannot access PSUM")


# ------------------------------------------------------------------------------------ DMA
def test_dma_copy_strided_and_cast(rng):
    x = rng.standard_normal((6, 10)).astype(F)

    def k(x):
        t = nl.ndarray((6, 5), dtype=nl.bfloat16, buffer=nl.sbuf)
        nisa.dma_copy(dst=t, src=x[:, 1::2])
        o = nl.ndarray((5, 6), dtype=nl.bfloat16, buffer=nl.shared_hbm)
        nisa.dma_copy(dst=o.transpose(), src=t)  # strided HBM write
        return o

    res = run_kernel(k, x).outputs
    np.testing.assert_array_equal(res.astype(F), x[:, 1::2].astype(BF16).astype(F).T)


def test_dma_copy_errors():
    def from_psum(x):
        p = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.psum)
        o = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.shared_hbm)
        nisa.dma_copy(dst=o, src=p)

    err(from_psum, np.zeros((4, 4), F), match="DMA cannot read PSUM")

    def count(x):
        t = nl.ndarray((4, 3), dtype=nl.float32, buffer=nl.sbuf)
        nisa.dma_copy(dst=t, src=x)

    err(count, np.zeros((4, 4), F), match="element counts differ")

    def hwdge_cast(x):
        t = nl.ndarray((4, 4), dtype=nl.bfloat16, buffer=nl.sbuf)
        nisa.dma_copy(dst=t, src=x, dge_mode=nisa.dge_mode.hwdge)

    err(hwdge_cast, np.zeros((4, 4), F), match="hwdge needs equal dtypes")


def test_dma_transpose(rng):
    x = rng.standard_normal((16, 40)).astype(BF16)

    def k(x):
        t = nl.ndarray((40, 16), dtype=nl.bfloat16, buffer=nl.sbuf)
        nisa.dma_transpose(dst=t, src=x)
        return out(t)

    run = run_kernel(k, x)
    np.testing.assert_array_equal(run.outputs, x.T)
    assert run.trace.instructions[0].opcode == "dma_transpose" and run.trace.instructions[0].engine == "dma"

    def bad_axes(x):
        t = nl.ndarray((40, 16), dtype=nl.bfloat16, buffer=nl.sbuf)
        nisa.dma_transpose(dst=t, src=x, axes=(0, 1))

    err(bad_axes, x, match="axes \\[0, 1\\]")


def test_dropout_and_shuffle(rng):
    x = rng.uniform(1, 2, (64, 100)).astype(F)

    def k(x):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.dropout(dst=d, data=sb(x), prob=0.25)
        s = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.memset(dst=s, value=0.0)
        nisa.nc_stream_shuffle(dst=s, src=sb(x), shuffle_mask=[31 - i for i in range(31)] + [255])
        return out(d), out(s)

    d, s = run_kernel(k, x).outputs
    assert 0.15 < (d == 0).mean() < 0.35 and np.all((d == 0) | (d == x))
    np.testing.assert_array_equal(s[0], x[31])
    np.testing.assert_array_equal(s[32], x[63])
    np.testing.assert_array_equal(s[31], 0)


def test_dma_indirect_gather_scatter(rng):
    x = rng.standard_normal((32, 16)).astype(F)
    rows = np.array([[5], [0], [31], [7]], np.int32)

    def k(x, rows):
        idx = sb(rows)
        g = nl.ndarray((4, 16), dtype=nl.float32, buffer=nl.sbuf)
        nisa.dma_copy(dst=g, src=x.ap([[16, 4], [1, 16]], offset=0, vector_offset=idx, indirect_dim=0))
        o = nl.ndarray((32, 16), dtype=nl.float32, buffer=nl.shared_hbm)
        z = nl.ndarray((32, 16), dtype=nl.float32, buffer=nl.sbuf)
        nisa.memset(dst=z, value=0.0)
        nisa.dma_copy(dst=o, src=z)
        nisa.dma_copy(dst=o.ap([[16, 4], [1, 16]], offset=0, vector_offset=idx, indirect_dim=0), src=g)
        return out(g), o

    run = run_kernel(k, x, rows)
    g, o = run.outputs
    np.testing.assert_array_equal(g, x[rows[:, 0]])
    ref = np.zeros_like(x)
    ref[rows[:, 0]] = x[rows[:, 0]]
    np.testing.assert_array_equal(o, ref)
    ind = [i for i in run.trace.instructions if i.attrs.get("indirect")]
    assert len(ind) == 2 and all(len(i.inputs) == 2 for i in ind)

    def oob(x, rows):
        idx = sb(rows)
        g = nl.ndarray((4, 16), dtype=nl.float32, buffer=nl.sbuf)
        nisa.dma_copy(dst=g, src=x.ap([[16, 4], [1, 16]], offset=0, vector_offset=idx, indirect_dim=0))

    with pytest.raises(IndexError, match="indirect index 40 out of bounds"):
        run_kernel(oob, x, np.array([[1], [40], [2], [3]], np.int32))


def test_nc_n_gather_and_gather_flattened(rng):
    x = rng.standard_normal((16, 40)).astype(F)
    ix = rng.integers(0, 40, (16, 7)).astype(np.uint32)

    def k(x, ix):
        d = nl.ndarray((16, 7), dtype=nl.float32, buffer=nl.sbuf)
        nisa.nc_n_gather(dst=d, data=sb(x), indices=sb(ix))
        return out(d), out(nl.gather_flattened(sb(x), sb(ix)))

    a, b = run_kernel(k, x, ix).outputs
    np.testing.assert_array_equal(a, np.take_along_axis(x, ix.astype(np.int64), axis=1))
    np.testing.assert_array_equal(b, a)

    def bad(x, ix):
        d = nl.ndarray((16, 7), dtype=nl.float32, buffer=nl.sbuf)
        nisa.nc_n_gather(dst=d, data=sb(x), indices=sb(ix))

    with pytest.raises(IndexError, match="out of range"):
        run_kernel(bad, x, np.full((16, 7), 40, np.uint32))


def test_sequence_bounds():
    seg = np.array([[0, 1, 1, 2, 2, 2, 0, 3]], F)

    def k(s):
        d = nl.ndarray((1, 2, 8), dtype=nl.float32, buffer=nl.sbuf)
        nisa.sequence_bounds(dst=d, segment_ids=sb(s))
        return out(d)

    r = run_kernel(k, seg).outputs
    np.testing.assert_array_equal(r[0, 0], [8, 1, 1, 3, 3, 3, 8, 7])
    np.testing.assert_array_equal(r[0, 1], [-1, 3, 3, 6, 6, 6, -1, 8])

"""PRNG (rng, rand2, set_rng_seed, rand_set_state/get_state, nl.rand/random_seed), activate2,
nonzero_with_count, topk and local_gather (both API generations) against NumPy references."""

from __future__ import annotations

import numpy as np
import pytest

from isa_util import out, sb
from nkihelpers import BF16, needs_trn3

import trnsim.nki.isa as nisa
import trnsim.nki.language as nl
import trnsim.nki.legacy.isa as onisa
import trnsim.nki.legacy.language as onl
from trnsim.errors import TrnsimError
from trnsim.neuroncore import simulate
from trnsim.nki import run_kernel

F = np.float32
U32 = np.uint32
THIS = "test_nki_isa_rng_select.py:"


def err(kernel, *arrays, match, target="trn2"):
    with pytest.raises(TrnsimError, match=match) as e:
        run_kernel(kernel, *arrays, target=target)
    assert THIS in str(e.value)


def costed(run, opcode, engine):
    """The instruction is in the trace on ``engine`` and the timing model accepts the trace."""
    ins = [i for i in run.trace.instructions if i.opcode == opcode]
    assert ins and all(i.engine == engine for i in ins)
    prof = simulate(run.trace)
    assert prof.instructions == len(run.trace.instructions) and prof.engine_busy.get(engine, 0) > 0


def xorwow_ref(words, n):
    """Plain-Python XORWOW (x, y, z, w, v, d) of one generator: n outputs and the final words."""
    x, y, z, w, v, d = (int(a) for a in words)
    m = 0xFFFFFFFF
    outs = []
    for _ in range(n):
        t = x ^ (x >> 2)
        x, y, z, w = y, z, w, v
        v = (v ^ ((v << 4) & m)) ^ (t ^ ((t << 1) & m))
        d = (d + 362437) & m
        outs.append((v + d) & m)
    return outs, [x, y, z, w, v, d]


def lane_ref(words, gens, n):
    """Reference stream of one lane with ``gens`` interleaved generators (element j from generator j % gens)."""
    steps = -(-n // gens)
    per = [xorwow_ref(words[g * 6:(g + 1) * 6], steps) for g in range(gens)]
    stream = [per[j % gens][0][j // gens] for j in range(n)]
    return np.array(stream, dtype=np.uint64).astype(U32), np.concatenate([np.array(p[1], U32) for p in per])


def seed_tile(value, dtype=nl.int32):
    t = nl.ndarray((1, 1), dtype=dtype, buffer=nl.sbuf)
    nisa.memset(dst=t, value=value)
    return t


# ------------------------------------------------------------------------------------ rng / state
@pytest.mark.parametrize("target,engine,gens", [("trn2", nisa.engine.gpsimd, 1),
                                                pytest.param("trn3", nisa.engine.vector, 4, marks=needs_trn3)])
def test_rand_set_state_then_rng_matches_xorwow(rng, target, engine, gens):
    p, f = 32, 10
    words = rng.integers(1, 2 ** 32, (p, 6 * gens), dtype=np.uint64).astype(U32)

    def k(w):
        st = sb(w)
        nisa.rand_set_state(src_seeds=st, engine=engine)
        bits = nl.ndarray((p, f), dtype=nl.uint32, buffer=nl.sbuf)
        nisa.rng(dst=bits, engine=engine)
        after = nl.ndarray((p, 6 * gens), dtype=nl.uint32, buffer=nl.sbuf)
        nisa.rand_get_state(dst=after, engine=engine)
        return out(bits), out(after)

    run = run_kernel(k, words, target=target)
    bits, after = run.outputs
    for lane in range(p):
        ref_bits, ref_words = lane_ref(words[lane], gens, f)
        np.testing.assert_array_equal(bits[lane], ref_bits)
        if gens == 1:
            np.testing.assert_array_equal(after[lane], ref_words)
    costed(run, "rng", engine.value)
    costed(run, "rand_set_state", engine.value)


def test_rng_seed_reproducible_and_truncated():
    def k(dummy):
        a = nl.ndarray((128, 64), dtype=nl.uint32, buffer=nl.sbuf)
        b = nl.ndarray((128, 64), dtype=nl.uint8, buffer=nl.psum)
        c = nl.ndarray((128, 64), dtype=nl.int16, buffer=nl.sbuf)
        nisa.set_rng_seed(src_seeds=seed_tile(7))
        nisa.rng(dst=a)
        nisa.set_rng_seed(src_seeds=seed_tile(7))
        nisa.rng(dst=b)
        nisa.set_rng_seed(src_seeds=seed_tile(8))
        nisa.rng(dst=c)
        return out(a), out(b), out(c)

    run = run_kernel(k, np.zeros((1, 1), F))
    a, b, c = run.outputs
    np.testing.assert_array_equal(b, (a & 0xFF).astype(np.uint8))  # same seed, low 8 bits
    assert len(np.unique(a)) > 8000  # 32 random bits per element
    assert not np.array_equal(c, (a & 0xFFFF).astype(np.uint16).view(np.int16))  # another seed, another stream
    np.testing.assert_array_equal(run_kernel(k, np.zeros((1, 1), F)).outputs[0], a)  # deterministic runs
    costed(run, "set_rng_seed", "vector")


def test_rng_errors():
    def float_dst(x):
        nisa.rng(dst=nl.ndarray((4, 4), dtype=nl.float32, buffer=nl.sbuf))

    err(float_dst, np.zeros((1, 1), F), match="rng: dst dtype float32 must be an integer type")

    def gpsimd_psum(x):
        nisa.rng(dst=nl.ndarray((4, 4), dtype=nl.uint32, buffer=nl.psum), engine=nisa.engine.gpsimd)

    err(gpsimd_psum, np.zeros((1, 1), F), match="rng: dst must be in SBUF")

    def gpsimd_v2(x):
        nisa.rng(dst=nl.ndarray((4, 4), dtype=nl.uint32, buffer=nl.sbuf), engine=nisa.engine.gpsimd)

    err(gpsimd_v2, np.zeros((1, 1), F), match="engine gpsimd needs NeuronCore-v3", target="trn1")

    def bad_seed(x):
        nisa.set_rng_seed(src_seeds=nl.ndarray((2, 1), dtype=nl.int32, buffer=nl.sbuf))

    err(bad_seed, np.zeros((1, 1), F), match=r"seed must be a \[1, 1\] tensor")

    def seed_16bit(x):
        nisa.set_rng_seed(src_seeds=seed_tile(3, nl.int16))

    err(seed_16bit, np.zeros((1, 1), F), match="seed must be a 32-bit value")

    def state_words(x):
        nisa.rand_set_state(src_seeds=nl.ndarray((8, 24), dtype=nl.uint32, buffer=nl.sbuf))

    err(state_words, np.zeros((1, 1), F), match="needs 6 XORWOW state words per partition on the gpsimd engine")

    def vector_state_v3(x):
        nisa.rand_get_state(dst=nl.ndarray((8, 24), dtype=nl.uint32, buffer=nl.sbuf), engine=nisa.engine.vector)

    err(vector_state_v3, np.zeros((1, 1), F), match="engine vector needs NeuronCore-v4")

    def state_dtype(x):
        nisa.rand_get_state(dst=nl.ndarray((8, 6), dtype=nl.int32, buffer=nl.sbuf))

    err(state_dtype, np.zeros((1, 1), F), match="dst dtype int32 must be uint32")


@needs_trn3
def test_rand2_uniform_range(rng):
    p, f = 16, 12
    words = rng.integers(1, 2 ** 32, (p, 24), dtype=np.uint64).astype(U32)
    lo = rng.uniform(-5, 0, (p, 1)).astype(F)

    def k(w, lo):
        nisa.rand_set_state(src_seeds=sb(w), engine=nisa.engine.vector)
        d = nl.ndarray((p, f), dtype=nl.float32, buffer=nl.sbuf)
        nisa.rand2(dst=d, min=sb(lo), max=3.0)
        e = nl.ndarray((p, 512), dtype=nl.bfloat16, buffer=nl.psum)
        nisa.rand2(dst=e, min=-1.0, max=1.0)
        return out(d), out(e)

    run = run_kernel(k, words, lo, target="trn3")
    d, e = run.outputs
    u = np.stack([lane_ref(words[i], 4, f)[0] for i in range(p)]) >> U32(8)
    np.testing.assert_allclose(d, lo + u.astype(F) * F(2.0 ** -24) * (F(3.0) - lo), rtol=1e-6)
    e = e.astype(F)
    assert e.min() >= -1 and e.max() <= 1 and abs(float(e.mean())) < 0.1
    costed(run, "rand2", "vector")


def test_rand2_errors():
    def k(x):
        nisa.rand2(dst=nl.ndarray((4, 4), dtype=nl.float32, buffer=nl.sbuf), min=0.0, max=1.0)

    err(k, np.zeros((1, 1), F), match="rand2: needs NeuronCore-v4")

    def inverted(x):
        nisa.rand2(dst=nl.ndarray((4, 4), dtype=nl.float32, buffer=nl.sbuf), min=2.0, max=1.0)

    if has_trn3():
        err(inverted, np.zeros((1, 1), F), match="min 2.0 must be < max 1.0", target="trn3")


def has_trn3():
    from nkihelpers import has_target
    return has_target("trn3")


# ------------------------------------------------------------------------------------ nl.rand / random_seed / dropout
def test_language_random_seed_and_rand():
    def k(dummy):
        nl.random_seed(nl.full((1, 1), 42, dtype=nl.int32, buffer=nl.sbuf))
        a = nl.rand((128, 256), dtype=nl.float32)
        nl.random_seed(nl.full((1, 1), 42, dtype=nl.int32, buffer=nl.sbuf))
        b = nl.rand((128, 256), dtype=nl.float32)
        c = nl.rand((128, 256), dtype=nl.float32)
        x = nl.full((128, 256), 1.0, dtype=nl.float32, buffer=nl.sbuf)
        nl.random_seed(nl.full((1, 1), 5, dtype=nl.int32, buffer=nl.sbuf))
        d1 = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.dropout(dst=d1, data=x, prob=0.25)
        nl.random_seed(nl.full((1, 1), 5, dtype=nl.int32, buffer=nl.sbuf))
        d2 = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.dropout(dst=d2, data=x, prob=0.25)
        return out(a), out(b), out(c), out(d1), out(d2)

    run = run_kernel(k, np.zeros((1, 1), F))
    a, b, c, d1, d2 = run.outputs
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)
    assert a.min() >= 0 and a.max() < 1 and abs(float(a.mean()) - 0.5) < 0.01
    np.testing.assert_array_equal(d1, d2)
    assert abs(float((d1 == 0).mean()) - 0.25) < 0.02
    costed(run, "rand", "vector")

    def scalar_seed(x):
        nl.random_seed(42)

    err(scalar_seed, np.zeros((1, 1), F), match=r"random_seed: seed must be a \[1, 1\] tensor")


def test_legacy_random_seed_and_rand():
    def k(dummy):
        onl.random_seed(123)
        a = onl.rand((64, 32))
        onl.random_seed(123)
        b = onl.rand((64, 32))
        out_t = onl.ndarray((2, 64, 32), dtype=onl.float32, buffer=onl.shared_hbm)
        onl.store(out_t[0], a)
        onl.store(out_t[1], b)
        return out_t

    res = run_kernel(k, np.zeros((1, 1), F)).outputs
    np.testing.assert_array_equal(res[0], res[1])
    assert res.min() >= 0 and res.max() < 1

    def bad(x):
        onl.random_seed("seed")

    err(bad, np.zeros((1, 1), F), match="random_seed: seed must be a 32-bit integer scalar")


# ------------------------------------------------------------------------------------ activate2
def _a2(x, op, imm0, imm1, op0, op1, **kw):
    def k(x):
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.activate2(dst=d, op=op, data=sb(x), imm0=imm0, imm1=imm1, op0=op0, op1=op1, **kw)
        return out(d)
    return run_kernel(k, x, target="trn3")


@needs_trn3
@pytest.mark.parametrize("op0,op1,ref", [
    (nl.multiply, nl.add, lambda x: np.tanh(x * 2.0 + 0.5)),
    (nl.multiply, nl.subtract, lambda x: np.tanh(x * 2.0 - 0.5)),
    (nl.multiply, nl.bypass, lambda x: np.tanh(x * 2.0)),
    (nl.add, nl.bypass, lambda x: np.tanh(x + 2.0)),
    (nl.subtract, nl.bypass, lambda x: np.tanh(x - 2.0)),
    (nl.bypass, nl.bypass, np.tanh)])
def test_activate2_pipelines(rng, op0, op1, ref):
    x = rng.uniform(-2, 2, (64, 96)).astype(F)
    run = _a2(x, nl.tanh, 2.0, 0.5, op0, op1)
    np.testing.assert_allclose(run.outputs, ref(x), rtol=1e-5, atol=1e-6)
    costed(run, "activate2", "scalar")


@needs_trn3
def test_activate2_reverse_vectors_prelu_and_reduce(rng):
    x = rng.uniform(-3, -0.5, (32, 40)).astype(F)
    s = rng.uniform(0.5, 1.5, (32, 1)).astype(F)
    alpha = rng.uniform(0.1, 0.3, (32, 1)).astype(F)

    def k(x, s, alpha):
        t = sb(x)
        d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        r = nl.ndarray((x.shape[0], 1), dtype=nl.float32, buffer=nl.sbuf)
        # (imm0 - x) then prelu: all positive
        nisa.activate2(dst=d, op=nl.prelu, data=t, imm0=1.0, imm1=0.0, op0=nl.subtract, op1=nl.bypass,
                       reverse0=True)
        # x * s + 0 -> prelu(alpha): negative inputs scaled by alpha; running max over two calls
        e = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
        nisa.activate2(dst=e, op=nl.prelu, data=t, imm0=sb(s), imm1=0.0, op0=nl.multiply, op1=nl.add,
                       relu_param=sb(alpha), reduce_op=nl.maximum, reduce_cmd=nisa.reduce_cmd.reset_reduce)
        nisa.activate2(dst=e, op=nl.prelu, data=t, imm0=sb(s), imm1=-1.0, op0=nl.multiply, op1=nl.add,
                       relu_param=sb(alpha), reduce_op=nl.maximum, reduce_cmd=nisa.reduce_cmd.reduce, reduce_res=r)
        q = nl.ndarray((x.shape[0], 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activate2(dst=e, op=nl.copy, data=t, imm0=1.0, imm1=0.0, op0=nl.multiply, op1=nl.bypass,
                       reduce_op=nl.abs_max, reduce_cmd=nisa.reduce_cmd.reset_reduce, reduce_res=q)
        return out(d), out(r), out(q)

    run = run_kernel(k, x, s, alpha, target="trn3")
    d, r, q = run.outputs
    np.testing.assert_allclose(d, 1.0 - x, rtol=1e-6)
    y1, y2 = alpha * (x * s), alpha * (x * s - 1.0)  # all negative: the max is below 0 (identity -inf, not 0)
    np.testing.assert_allclose(r[:, 0], np.maximum(y1.max(1), y2.max(1)), rtol=1e-5)
    assert (r < 0).all()
    np.testing.assert_allclose(q[:, 0], np.abs(x).max(1), rtol=1e-6)
    assert [i for i in run.trace.instructions if i.opcode == "activate2"][-1].attrs["reduce_res_read"]


def test_activate2_errors():
    x = np.ones((4, 8), F)
    with pytest.raises(TrnsimError, match="activate2: needs NeuronCore-v4"):
        run_kernel(lambda x: _a2_body(x, nl.multiply, nl.add), x, target="trn2")
    if not has_trn3():
        return
    for (o0, o1, kw), msg in [
            ((nl.add, nl.add, {}), r"\(op0, op1\) = \(add, add\) is not a supported combination"),
            ((nl.bypass, nl.add, {}), "op1 add requires op0 to be set"),
            ((nl.bypass, nl.bypass, {"reverse0": True}), "reverse0 requires op0 to be set"),
            ((nl.multiply, nl.add, {"reduce_op": nl.multiply, "reduce_cmd": nisa.reduce_cmd.reduce}),
             "reduce_op multiply not supported")]:
        err(lambda x: _a2_body(x, o0, o1, **kw), x, match=msg, target="trn3")


def _a2_body(x, op0, op1, **kw):
    d = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
    nisa.activate2(dst=d, op=nl.exp, data=sb(x), imm0=1.0, imm1=1.0, op0=op0, op1=op1, **kw)


# ------------------------------------------------------------------------------------ nonzero_with_count
def test_nonzero_with_count(rng):
    x = (rng.random((128, 24)) < 0.3).astype(F) * rng.uniform(1, 2, (128, 24)).astype(F)
    x[16] = 0  # a core with no nonzero element

    def k(x):
        d = nl.ndarray((128, 25), dtype=nl.int32, buffer=nl.sbuf)
        nisa.memset(dst=d, value=7)
        nisa.nonzero_with_count(dst=d, src=sb(x), index_offset=100, padding_val=-1)
        return out(d)

    run = run_kernel(k, x)
    res = run.outputs
    for p in range(128):
        if p % 16:
            assert (res[p] == 7).all()  # only each GpSimd core's partition 0 is written
            continue
        nz = np.flatnonzero(x[p])
        ref = np.full(25, -1)
        ref[:len(nz)] = nz + 100
        ref[24] = len(nz)
        np.testing.assert_array_equal(res[p], ref)
    assert res[16, 24] == 0
    costed(run, "nonzero_with_count", "gpsimd")


def test_nonzero_with_count_errors():
    def k(x, dst_cols=9, dst_dtype=nl.int32, offset=0):
        d = nl.ndarray((16, dst_cols), dtype=dst_dtype, buffer=nl.sbuf)
        nisa.nonzero_with_count(dst=d, src=sb(x), index_offset=offset)

    x = np.ones((16, 8), F)
    err(k, x, match="nonzero_with_count: needs NeuronCore-v3", target="trn1")
    err(lambda x: k(x, dst_cols=8), x, match="dst must have src's 8 elements \\+ 1")
    err(lambda x: k(x, dst_dtype=nl.float32), x, match="dst dtype float32 must be int32")
    err(lambda x: k(x, offset=2.5), x, match="index_offset must be an int32 value")


# ------------------------------------------------------------------------------------ topk
def topk_ref(src, n, k):
    """Per 16-partition group: top-k of the snake (element s at [s % 16, s // 16]), ascending, snake layout."""
    p = src.shape[0]
    vals = np.full((p, k), np.nan, F)
    idxs = np.full((p, k), 4, U32)
    for g in range(0, p, 16):
        snake = np.array([src[g + s % 16, s // 16] for s in range(n)], F)
        order = sorted(range(n), key=lambda s: (-snake[s], s))[:k]
        order = sorted(order, key=lambda s: snake[s])
        for pos, s in enumerate(order):
            vals[g + pos % 16, pos // 16] = snake[s]
            idxs[g + pos % 16, pos // 16] = s
    return vals, idxs


@pytest.mark.parametrize("n,k", [(42, 8), (100, 20)])
def test_topk(rng, n, k):
    cols = -(-n // 16)
    src = rng.permutation(32 * cols).reshape(32, cols).astype(F).astype(BF16)  # distinct values

    def kern(x):
        s = sb(x)
        v = nl.ndarray((32, k), dtype=nl.bfloat16, buffer=nl.sbuf)
        i = nl.ndarray((32, k), dtype=nl.uint32, buffer=nl.sbuf)
        nisa.topk(val_dst=v, idx_dst=i, src=s, n=n)
        return out(v), out(i)

    run = run_kernel(kern, src)
    v, i = run.outputs
    rv, ri = topk_ref(src.astype(F), n, k)
    written = ~np.isnan(rv)
    np.testing.assert_array_equal(v.astype(F)[written], rv[written])
    np.testing.assert_array_equal(i[written], ri[written])
    assert written.sum() == 2 * k
    costed(run, "topk", "gpsimd")


def test_topk_errors():
    def k(x, n=16, kk=8, src_dtype=nl.bfloat16, parts=16):
        s = nl.ndarray((parts, 2), dtype=src_dtype, buffer=nl.sbuf)
        v = nl.ndarray((parts, kk), dtype=nl.bfloat16, buffer=nl.sbuf)
        i = nl.ndarray((parts, kk), dtype=nl.uint32, buffer=nl.sbuf)
        nisa.topk(val_dst=v, idx_dst=i, src=s, n=n)

    x = np.zeros((1, 1), F)
    err(lambda x: k(x, src_dtype=nl.float32), x, match="topk: src and val_dst must be bfloat16")
    err(lambda x: k(x, n=4), x, match=r"n 4 must be an integer in \[8, 65536\)")
    err(lambda x: k(x, kk=20), x, match="K 20 .* must be in .* and <= n 16")
    err(lambda x: k(x, parts=24), x, match="must be equal and a multiple of 16")
    err(lambda x: k(x, n=40), x, match=r"src free size 2 < ceil\(n / 16\) = 3")


# ------------------------------------------------------------------------------------ local_gather
def local_gather_ref(src, index, e, nv):
    p = src.shape[0]
    flat = src.reshape(p, -1)
    res = np.zeros((p, nv * e), src.dtype)
    for g in range(0, p, 16):
        idx = index[g:g + 16].flatten(order="F")[:nv].astype(np.int64)
        for k_, i in enumerate(idx):
            res[g:g + 16, k_ * e:(k_ + 1) * e] = flat[g:g + 16, i:i + e]
    return res


@pytest.mark.parametrize("e,nv", [(1, None), (4, 50)])
def test_local_gather_new_api(rng, e, nv):
    src = rng.uniform(-1, 1, (32, 64, 4)).astype(F)
    index = (rng.integers(0, 64, (32, 4)) * 4).astype(np.uint16)
    nvv = nv or 64

    def k(src, index):
        d = nl.ndarray((32, nvv * e), dtype=nl.float32, buffer=nl.sbuf)
        nisa.local_gather(dst=d, src_buffer=sb(src), index=sb(index), num_elem_per_idx=e,
                          num_valid_indices=nv)
        return out(d)

    run = run_kernel(k, src, index)
    np.testing.assert_array_equal(run.outputs, local_gather_ref(src, index, e, nvv))
    ins = [i for i in run.trace.instructions if i.opcode == "local_gather"][0]
    assert ins.attrs["num_valid_indices"] == nvv and ins.attrs["num_elem_per_idx"] == e
    costed(run, "local_gather", "gpsimd")


def test_local_gather_legacy_api(rng):
    src = rng.uniform(0, 100, (128, 64, 4)).astype(F)
    per_core = rng.integers(0, 64, (16, 2)).astype(np.uint16)
    index = np.tile(per_core, (8, 1)) * np.uint16(4)

    def k(src, index):
        res = onl.ndarray((128, 2, 16, 4), dtype=src.dtype, buffer=onl.shared_hbm)
        g = onisa.local_gather(onl.load(src), onl.load(index), 4, 32)
        assert tuple(g.shape) == (128, 32, 4) and g.dtype == np.float32
        onl.store(res, g)
        return res

    got = run_kernel(k, src, index).outputs
    np.testing.assert_array_equal(got.reshape(128, -1), local_gather_ref(src, index, 4, 32))


def test_local_gather_errors():
    def k(src, index, e=1, dtype=nl.uint16, parts=16, nv=None):
        s = nl.ndarray((parts, 8), dtype=nl.float32, buffer=nl.sbuf)
        i = nl.ndarray((parts, 2), dtype=dtype, buffer=nl.sbuf)
        nisa.memset(dst=s, value=0.0)
        nisa.memset(dst=i, value=9)
        d = nl.ndarray((parts, 64), dtype=nl.float32, buffer=nl.sbuf)
        nisa.local_gather(dst=d, src_buffer=s, index=i, num_elem_per_idx=e, num_valid_indices=nv)

    z = np.zeros((1, 1), F)
    err(lambda a, b: k(a, b, dtype=nl.int32), z, z, match="local_gather: index dtype int32 must be uint16")
    err(lambda a, b: k(a, b, e=3), z, z, match=r"num_elem_per_idx 3 must be one of \[1, 2, 4, 8, 16, 32\]")
    err(lambda a, b: k(a, b, parts=24), z, z, match="must equal index partitions 24 and be a multiple of 16")
    err(lambda a, b: k(a, b, nv=40), z, z, match=r"num_valid_indices 40 must be in \[1, 32\]")
    err(lambda a, b: k(a, b), z, z, match=r"index 9 \+ 1 elements out of range \[0, 8\)")


# ------------------------------------------------------------------------------------ timing-only runs
def test_timing_only_trace_matches_functional(rng):
    from trnsim.nki.runtime import shape_only

    def k(x, w):
        t = sb(x)
        nisa.rand_set_state(src_seeds=sb(w))
        b = nl.ndarray((32, 16), dtype=nl.uint16, buffer=nl.sbuf)
        nisa.rng(dst=b, engine=nisa.engine.gpsimd)
        nl.random_seed(nl.full((1, 1), 1, dtype=nl.int32, buffer=nl.sbuf))
        r = nl.rand((32, 16), dtype=nl.float32)
        d = nl.ndarray((32, 17), dtype=nl.int32, buffer=nl.sbuf)
        nisa.nonzero_with_count(dst=d, src=t)
        s = nl.ndarray((32, 2), dtype=nl.bfloat16, buffer=nl.sbuf)
        nisa.tensor_copy(dst=s, src=t[:, 0:2])
        v = nl.ndarray((32, 8), dtype=nl.bfloat16, buffer=nl.sbuf)
        i = nl.ndarray((32, 8), dtype=nl.uint32, buffer=nl.sbuf)
        nisa.topk(val_dst=v, idx_dst=i, src=s, n=32)
        return out(b), out(r), out(d), out(v)

    x = rng.uniform(0, 1, (32, 16)).astype(F)
    w = rng.integers(1, 2 ** 32, (32, 6), dtype=np.uint64).astype(U32)
    full = run_kernel(k, x, w)
    timed = run_kernel(k, shape_only(x.shape, F), shape_only(w.shape, U32), timing_only=True)
    assert [i.opcode for i in timed.trace.instructions] == [i.opcode for i in full.trace.instructions]
    assert simulate(timed.trace).instructions == len(timed.trace.instructions)

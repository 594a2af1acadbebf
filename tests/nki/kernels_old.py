"""Tutorial-style kernels written against the old ``neuronxcc.nki`` API (value-returning ISA, arange/mgrid
index expressions, masks, SPMD grids, ``psum += nc_matmul``). Written for the trnsim test-suite."""

from __future__ import annotations

import numpy as np

import trnsim.nki.legacy as nki
import trnsim.nki.legacy.isa as nisa
import trnsim.nki.legacy.language as nl


@nki.jit(mode="simulation")
def add_spmd(x, y):
    """One 128 x 256 tile per program of a 2-D grid."""
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    r = nl.program_id(0) * 128 + nl.arange(128)[:, None]
    c = nl.program_id(1) * 256 + nl.arange(256)[None, :]
    a = nl.load(x[r, c])
    b = nl.load(y[r, c])
    nl.store(out[r, c], value=nl.add(a, b))
    return out


@nki.jit
def add_masked(x, y):
    """Ragged rows with a mask on the last tile."""
    rows, cols = x.shape
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    i_p, i_f = nl.mgrid[0:128, 0:cols]
    for t in nl.affine_range((rows + 127) // 128):
        m = t * 128 + i_p < rows
        a = nl.load(x[t * 128 + i_p, i_f], mask=m)
        b = nl.load(y[t * 128 + i_p, i_f], mask=m)
        s = a + b
        nl.store(out[t * 128 + i_p, i_f], value=s, mask=m)
    return out


@nki.jit
def transpose_free(x, f1, f2):
    p, f = x.shape
    out = nl.ndarray((p, f), dtype=x.dtype, buffer=nl.shared_hbm)
    i_p = nl.arange(p)[:, None]
    i_a = nl.arange(f1)[None, :]
    i_b = nl.arange(f2)[None, :]
    t = nl.load(x)
    o = nl.ndarray((p, f), dtype=x.dtype, buffer=nl.sbuf)
    for j in nl.affine_range(f2):
        o[i_p, j * f1 + i_a] = nl.copy(t[i_p, i_a * f2 + j])
    nl.store(out, value=o)
    return out


@nki.jit
def avg_pool(x, k):
    c, h, w = x.shape
    ho, wo = h // k, w // k
    out = nl.ndarray((c, ho, wo), dtype=x.dtype, buffer=nl.shared_hbm)
    i_c, i_h, i_kh, i_w, i_kw = nl.mgrid[0:c, 0:ho, 0:k, 0:wo, 0:k]
    t = nl.load(x[i_c, k * i_h + i_kh, k * i_w + i_kw])  # [c, ho, k, wo, k] view of the input
    s = nl.sum(t, axis=[2, 4])
    r = nl.multiply(s, 1.0 / (k * k))
    nl.store(out, value=r)
    return out


@nki.jit
def matmul_basic(lhsT, rhs):
    k, m = lhsT.shape
    _, n = rhs.shape
    out = nl.ndarray((m, n), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    a = nl.load(lhsT)
    b = nl.load(rhs)
    ps = nl.ndarray((m, n), dtype=nl.float32, buffer=nl.psum)
    ps[...] = nisa.nc_matmul(a, b)
    nl.store(out, value=nl.copy(ps, dtype=lhsT.dtype))
    return out


@nki.jit
def matmul_tiled(lhsT, rhs):
    k_, m_ = lhsT.shape
    _, n_ = rhs.shape
    out = nl.ndarray((m_, n_), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for mi in nl.affine_range(m_ // 128):
        for ni in nl.affine_range(n_ // 512):
            ps = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
            for ki in nl.affine_range(k_ // 128):
                a = nl.load(lhsT[ki * 128:(ki + 1) * 128, mi * 128:(mi + 1) * 128])
                b = nl.load(rhs[ki * 128:(ki + 1) * 128, ni * 512:(ni + 1) * 512])
                ps += nisa.nc_matmul(a, b)
            nl.store(out[mi * 128:(mi + 1) * 128, ni * 512:(ni + 1) * 512], value=nl.copy(ps, dtype=out.dtype))
    return out


@nki.jit
def matmul_hoisted(lhsT, rhs):
    k_, m_ = lhsT.shape
    _, n_ = rhs.shape
    nk = k_ // 128
    out = nl.ndarray((m_, n_), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    i_k, i_m = nl.mgrid[0:128, 0:128]
    i_n = nl.arange(512)[None, :]
    for mi in nl.affine_range(m_ // 128):
        a = nl.ndarray((nk, nl.par_dim(128), 128), dtype=lhsT.dtype, buffer=nl.sbuf)
        for ki in nl.affine_range(nk):
            a[ki, i_k, i_m] = nl.load(lhsT[ki * 128 + i_k, mi * 128 + i_m])
        for ni in nl.affine_range(n_ // 512):
            b = nl.ndarray((nk, nl.par_dim(128), 512), dtype=rhs.dtype, buffer=nl.sbuf)
            for ki in nl.affine_range(nk):
                b[ki, i_k, i_n] = nl.load(rhs[ki * 128 + i_k, ni * 512 + i_n])
            ps = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
            for ki in nl.affine_range(nk):
                ps += nisa.nc_matmul(a[ki, i_k, i_m], b[ki, i_k, i_n])
            nl.store(out[mi * 128 + i_k, ni * 512 + i_n], value=nl.copy(ps, dtype=out.dtype))
    return out


@nki.jit
def matmul_blocked_free(lhsT, rhs, bm=2, bn=2):
    k_, m_ = lhsT.shape
    _, n_ = rhs.shape
    nk = k_ // 128
    out = nl.ndarray((m_, n_), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for mb in nl.affine_range(m_ // (128 * bm)):
        a = nl.ndarray((nk, nl.par_dim(128), bm * 128), dtype=lhsT.dtype, buffer=nl.sbuf)
        for ki in nl.affine_range(nk):
            a[ki] = nl.load(lhsT[ki * 128:(ki + 1) * 128, mb * bm * 128:(mb + 1) * bm * 128])
        for nb in nl.affine_range(n_ // (512 * bn)):
            b = nl.ndarray((nk, nl.par_dim(128), bn * 512), dtype=rhs.dtype, buffer=nl.sbuf)
            for ki in nl.affine_range(nk):
                b[ki] = nl.load(rhs[ki * 128:(ki + 1) * 128, nb * bn * 512:(nb + 1) * bn * 512])
            for i in nl.affine_range(bm):
                for j in nl.affine_range(bn):
                    ps = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
                    for ki in nl.affine_range(nk):
                        ps += nisa.nc_matmul(a[ki, :, i * 128:(i + 1) * 128], b[ki, :, j * 512:(j + 1) * 512])
                    m0, n0 = (mb * bm + i) * 128, (nb * bn + j) * 512
                    nl.store(out[m0:m0 + 128, n0:n0 + 512], value=nl.copy(ps, dtype=out.dtype))
    return out


@nki.jit
def matmul_fully_blocked(lhsT, rhs, bm=2, bn=2, bk=2):
    k_, m_ = lhsT.shape
    _, n_ = rhs.shape
    out = nl.ndarray((m_, n_), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for nb in nl.affine_range(n_ // (512 * bn)):
        res = nl.zeros((m_ // 128, nl.par_dim(128), bn * 512), dtype=nl.float32, buffer=nl.sbuf)
        for kb in nl.sequential_range(k_ // (128 * bk)):
            b = nl.ndarray((bk, nl.par_dim(128), bn * 512), dtype=rhs.dtype, buffer=nl.sbuf)
            for kk in nl.affine_range(bk):
                k0 = (kb * bk + kk) * 128
                b[kk] = nl.load(rhs[k0:k0 + 128, nb * bn * 512:(nb + 1) * bn * 512])
            for mb in nl.affine_range(m_ // (128 * bm)):
                a = nl.ndarray((bk, nl.par_dim(128), bm * 128), dtype=lhsT.dtype, buffer=nl.sbuf)
                for kk in nl.affine_range(bk):
                    k0 = (kb * bk + kk) * 128
                    a[kk] = nl.load(lhsT[k0:k0 + 128, mb * bm * 128:(mb + 1) * bm * 128])
                for i in nl.affine_range(bm):
                    for j in nl.affine_range(bn):
                        ps = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
                        for kk in nl.affine_range(bk):
                            ps += nisa.nc_matmul(a[kk, :, i * 128:(i + 1) * 128], b[kk, :, j * 512:(j + 1) * 512])
                        res[mb * bm + i, :, j * 512:(j + 1) * 512] = nl.add(res[mb * bm + i, :, j * 512:(j + 1) * 512], ps)
        for mi in nl.affine_range(m_ // 128):
            nl.store(out[mi * 128:(mi + 1) * 128, nb * bn * 512:(nb + 1) * bn * 512],
                     value=nl.copy(res[mi], dtype=out.dtype))
    return out


@nki.jit
def rmsnorm(x, g):
    n, d = x.shape
    out = nl.ndarray((n, d), dtype=x.dtype, buffer=nl.shared_hbm)
    i_p = nl.arange(128)[:, None]
    i_f = nl.arange(d)[None, :]
    i_0 = nl.arange(1)[:, None]
    gt = nl.load(g.reshape((1, d))[i_0, i_f])
    gb = nl.broadcast_to(gt, (128, d))
    for t in nl.affine_range((n + 127) // 128):
        m = t * 128 + i_p < n
        xt = nl.load(x[t * 128 + i_p, i_f], mask=m)
        ss = nl.sum(nl.square(xt, mask=m), axis=[1], mask=m)
        rs = nl.rsqrt(nl.add(nl.multiply(ss, 1.0 / d, mask=m), 1e-6, mask=m), mask=m)
        y = nl.multiply(nl.multiply(xt, rs, mask=m), gb, mask=m)
        nl.store(out[t * 128 + i_p, i_f], value=y, mask=m)
    return out


@nki.jit
def layernorm_v1(x, gamma, beta):
    n, d = x.shape
    out = nl.ndarray((n, d), dtype=x.dtype, buffer=nl.shared_hbm)
    gb = nl.broadcast_to(nl.load(gamma.reshape((1, d))), (128, d))
    bb = nl.broadcast_to(nl.load(beta.reshape((1, d))), (128, d))
    i_p, i_f = nl.mgrid[0:128, 0:d]
    for t in nl.affine_range((n + 127) // 128):
        m = t * 128 + i_p < n
        xt = nl.load(x[t * 128 + i_p, i_f], mask=m)
        mean = nl.mean(xt, axis=[1], mask=m)
        xc = nl.subtract(xt, mean, mask=m)
        var = nl.mean(nl.square(xc, mask=m), axis=[1], mask=m)
        rstd = nl.rsqrt(nl.add(var, 1e-5, mask=m), mask=m)
        y = nl.add(nl.multiply(nl.multiply(xc, rstd, mask=m), gb, mask=m), bb, mask=m)
        nl.store(out[t * 128 + i_p, i_f], value=y, mask=m)
    return out


@nki.jit
def layernorm_v2(x, gamma, beta):
    n, d = x.shape
    out = nl.ndarray((n, d), dtype=x.dtype, buffer=nl.shared_hbm)
    gb = nl.broadcast_to(nl.load(gamma.reshape((1, d))), (128, d))
    bb = nl.broadcast_to(nl.load(beta.reshape((1, d))), (128, d))
    i_p, i_f = nl.mgrid[0:128, 0:d]
    nch = (d + 511) // 512
    for t in nl.affine_range((n + 127) // 128):
        m = t * 128 + i_p < n
        xt = nl.load(x[t * 128 + i_p, i_f], mask=m)
        stats = nl.ndarray((128, 6 * nch), dtype=nl.float32, buffer=nl.sbuf)
        for c in nl.affine_range(nch):
            w = min(512, d - c * 512)
            i_c = nl.arange(w)[None, :]
            i_s = nl.arange(6)[None, :]
            stats[i_p, c * 6 + i_s] = nisa.bn_stats(xt[i_p, c * 512 + i_c], mask=m, dtype=nl.float32)
        mv = nisa.bn_aggr(stats, mask=m)
        rstd = nl.rsqrt(nl.add(mv[:, 1:2], 1e-5, mask=m), mask=m)
        y = nisa.tensor_scalar(xt, op0=np.subtract, operand0=mv[:, 0:1], op1=np.multiply, operand1=rstd,
                               mask=m, dtype=nl.float32)
        y = nl.add(nl.multiply(y, gb, mask=m), bb, mask=m)
        nl.store(out[t * 128 + i_p, i_f], value=y, mask=m)
    return out


@nki.jit
def softmax(x):
    n, d = x.shape
    out = nl.ndarray((n, d), dtype=x.dtype, buffer=nl.shared_hbm)
    for t in nl.affine_range(n // 128):
        xt = nl.load(x[t * 128:(t + 1) * 128, :])
        mx = nl.max(xt, axis=[1], keepdims=True)
        e = nl.exp(nl.subtract(xt, mx))
        s = nl.sum(e, axis=[1], keepdims=True)
        nl.store(out[t * 128:(t + 1) * 128, :], value=nl.multiply(e, nl.reciprocal(s)))
    return out


@nki.jit
def causal_attention(qT, kT, v):
    d, s = qT.shape
    out = nl.ndarray((s, d), dtype=v.dtype, buffer=nl.shared_hbm)
    k_sb = nl.load(kT)
    i_q, i_k = nl.mgrid[0:128, 0:s]
    for i in nl.affine_range(s // 128):
        q_sb = nl.load(qT[:, i * 128:(i + 1) * 128])
        sc = nl.ndarray((128, s), dtype=nl.float32, buffer=nl.psum)
        sc[...] = nisa.nc_matmul(q_sb, k_sb)
        scaled = nisa.activation(op=nl.copy, data=sc, scale=1.0 / np.sqrt(d), dtype=nl.float32)
        masked = nisa.affine_select(i * 128 + i_q >= i_k, scaled, -3.0e38)
        mx = nisa.tensor_reduce(np.max, masked, axis=(1,), keepdims=True, negate=True)
        ssum = nl.ndarray((128, 1), dtype=nl.float32, buffer=nl.sbuf)
        probs = nisa.activation(op=nl.exp, data=masked, bias=mx, reduce_op=np.add, reduce_res=ssum,
                                dtype=v.dtype)
        o_ps = nl.zeros((128, d), nl.float32, buffer=nl.psum)
        for j in nl.affine_range(s // 128):
            pT = nl.copy(nisa.nc_transpose(probs[:, j * 128:(j + 1) * 128]), dtype=v.dtype)
            o_ps += nisa.nc_matmul(pT, nl.load(v[j * 128:(j + 1) * 128, :]))
        o = nl.multiply(o_ps, nl.reciprocal(ssum), dtype=v.dtype)
        nl.store(out[i * 128:(i + 1) * 128, :], value=o)
    return out


@nki.jit
def cumsum(x):
    n, f = x.shape
    out = nl.ndarray((n, f), dtype=x.dtype, buffer=nl.shared_hbm)
    for t in nl.affine_range(n // 128):
        xt = nl.load(x[t * 128:(t + 1) * 128, :])
        ones = nl.ones((128, f), dtype=nl.float32)
        r = nisa.tensor_tensor_scan(ones, xt, 0.0, np.multiply, np.add, dtype=nl.float32)
        nl.store(out[t * 128:(t + 1) * 128, :], value=r)
    return out


@nki.jit
def selective_scan(delta, u, a, b, c):
    ch, ln = delta.shape
    _, ns = a.shape
    y = nl.ndarray((ch, ln), dtype=u.dtype, buffer=nl.shared_hbm)
    i_p = nl.arange(128)[:, None]
    i_t = nl.arange(ln)[None, :]
    for ci in nl.affine_range(ch // 128):
        dl = nl.load(delta[ci * 128 + i_p, i_t])
        ut = nl.load(u[ci * 128 + i_p, i_t])
        at = nl.load(a[ci * 128:(ci + 1) * 128, :])
        du = nisa.tensor_tensor(dl, ut, op=nl.multiply, dtype=nl.float32)
        acc = nl.zeros((128, ln), dtype=nl.float32)
        for n in nl.affine_range(ns):
            da = nisa.activation(op=nl.exp, data=dl, scale=at[:, n:n + 1], dtype=nl.float32)
            bt = nl.broadcast_to(nl.load(b[n:n + 1, :]), (128, ln))
            ct = nl.broadcast_to(nl.load(c[n:n + 1, :]), (128, ln))
            dbu = nl.multiply(du, bt, dtype=nl.float32)
            h = nisa.tensor_tensor_scan(da, dbu, 0.0, np.multiply, np.add, dtype=nl.float32)
            acc[...] = nl.add(acc, nl.multiply(h, ct, dtype=nl.float32))
        nl.store(y[ci * 128 + i_p, i_t], value=acc)
    return y

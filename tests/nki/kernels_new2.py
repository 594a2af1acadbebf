"""More tutorial-style kernels (norms, softmax, attention, scans) in the current ``nki`` API."""

from __future__ import annotations

import trnsim.nki as nki
import trnsim.nki.isa as nisa
import trnsim.nki.language as nl

P = 128
NEG = -3.0e38


@nki.jit
def rmsnorm(x, g, eps=1e-6):
    n, d = x.shape
    out = nl.ndarray((n, d), dtype=x.dtype, buffer=nl.shared_hbm)
    gt = nl.ndarray((P, d), dtype=g.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=gt, src=g.reshape((1, d)).broadcast(0, P))  # partition-broadcast DMA
    for i in nl.affine_range((n + P - 1) // P):
        r0 = i * P
        nr = min(P, n - r0)
        xt = nl.ndarray((nr, d), dtype=x.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=xt, src=x[r0:r0 + nr, :])
        sq = nl.ndarray((nr, d), dtype=nl.float32, buffer=nl.sbuf)
        ss = nl.ndarray((nr, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=sq, op=nl.square, data=xt, reduce_op=nl.add, reduce_res=ss,
                        reduce_cmd=nisa.reduce_cmd.reset_reduce)
        rs = nl.ndarray((nr, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=rs, data=ss, op0=nl.multiply, operand0=1.0 / d, op1=nl.add, operand1=eps)
        nisa.activation(dst=rs, op=nl.rsqrt, data=rs)
        y = nl.ndarray((nr, d), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=y, data=xt, op0=nl.multiply, operand0=rs)
        o = nl.ndarray((nr, d), dtype=x.dtype, buffer=nl.sbuf)
        nisa.tensor_tensor(dst=o, data1=y, data2=gt[0:nr, :], op=nl.multiply)
        nisa.dma_copy(dst=out[r0:r0 + nr, :], src=o)
    return out


def _load_affine(v, d):
    t = nl.ndarray((P, d), dtype=v.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=t, src=v.reshape((1, d)).broadcast(0, P))
    return t


@nki.jit
def layernorm_meanvar(x, gamma, beta, eps=1e-5):
    n, d = x.shape
    out = nl.ndarray((n, d), dtype=x.dtype, buffer=nl.shared_hbm)
    gt, bt = _load_affine(gamma, d), _load_affine(beta, d)
    for i in nl.affine_range((n + P - 1) // P):
        r0 = i * P
        nr = min(P, n - r0)
        xt = nl.ndarray((nr, d), dtype=x.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=xt, src=x[r0:r0 + nr, :])
        s = nl.ndarray((nr, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_reduce(dst=s, op=nl.add, data=xt, axis=1)
        mean = nl.ndarray((nr, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=mean, data=s, op0=nl.multiply, operand0=1.0 / d)
        xc = nl.ndarray((nr, d), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=xc, data=xt, op0=nl.subtract, operand0=mean)
        sq = nl.ndarray((nr, d), dtype=nl.float32, buffer=nl.sbuf)
        vs = nl.ndarray((nr, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=sq, op=nl.square, data=xc, reduce_op=nl.add, reduce_res=vs,
                        reduce_cmd=nisa.reduce_cmd.reset_reduce)
        rstd = nl.ndarray((nr, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=rstd, data=vs, op0=nl.multiply, operand0=1.0 / d, op1=nl.add, operand1=eps)
        nisa.tensor_scalar(dst=rstd, data=rstd, op0=nl.power, operand0=-0.5)
        y = nl.ndarray((nr, d), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=y, data=xc, op0=nl.multiply, operand0=rstd)
        nisa.tensor_tensor(dst=y, data1=y, data2=gt[0:nr, :], op=nl.multiply)
        o = nl.ndarray((nr, d), dtype=x.dtype, buffer=nl.sbuf)
        nisa.tensor_tensor(dst=o, data1=y, data2=bt[0:nr, :], op=nl.add)
        nisa.dma_copy(dst=out[r0:r0 + nr, :], src=o)
    return out


@nki.jit
def layernorm_bnstats(x, gamma, beta, eps=1e-5):
    n, d = x.shape
    fmax = nl.tile_size.bn_stats_fmax
    nch = (d + fmax - 1) // fmax
    out = nl.ndarray((n, d), dtype=x.dtype, buffer=nl.shared_hbm)
    gt, bt = _load_affine(gamma, d), _load_affine(beta, d)
    for i in nl.affine_range((n + P - 1) // P):
        r0 = i * P
        nr = min(P, n - r0)
        xt = nl.ndarray((nr, d), dtype=x.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=xt, src=x[r0:r0 + nr, :])
        stats = nl.ndarray((nr, nch * 6), dtype=nl.float32, buffer=nl.sbuf)
        for c in nl.affine_range(nch):
            w = min(fmax, d - c * fmax)
            nisa.bn_stats(dst=stats[:, c * 6:(c + 1) * 6], data=xt[:, c * fmax:c * fmax + w])
        mv = nl.ndarray((nr, 2), dtype=nl.float32, buffer=nl.sbuf)
        nisa.bn_aggr(dst=mv, data=stats)
        rstd = nl.ndarray((nr, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=rstd, data=mv[:, 1:2], op0=nl.add, operand0=eps, op1=nl.power, operand1=-0.5)
        y = nl.ndarray((nr, d), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=y, data=xt, op0=nl.subtract, operand0=mv[:, 0:1], op1=nl.multiply, operand1=rstd)
        nisa.tensor_tensor(dst=y, data1=y, data2=gt[0:nr, :], op=nl.multiply)
        o = nl.ndarray((nr, d), dtype=x.dtype, buffer=nl.sbuf)
        nisa.tensor_tensor(dst=o, data1=y, data2=bt[0:nr, :], op=nl.add)
        nisa.dma_copy(dst=out[r0:r0 + nr, :], src=o)
    return out


@nki.jit
def softmax_rows(x):
    n, d = x.shape
    out = nl.ndarray((n, d), dtype=x.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range((n + P - 1) // P):
        r0 = i * P
        nr = min(P, n - r0)
        xt = nl.ndarray((nr, d), dtype=x.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=xt, src=x[r0:r0 + nr, :])
        negmax = nl.ndarray((nr, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_reduce(dst=negmax, op=nl.max, data=xt, axis=1, negate=True)
        e = nl.ndarray((nr, d), dtype=nl.float32, buffer=nl.sbuf)
        s = nl.ndarray((nr, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=e, op=nl.exp, data=xt, bias=negmax, reduce_op=nl.add, reduce_res=s,
                        reduce_cmd=nisa.reduce_cmd.reset_reduce)
        r = nl.ndarray((nr, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.reciprocal(dst=r, data=s)
        o = nl.ndarray((nr, d), dtype=x.dtype, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=o, data=e, op0=nl.multiply, operand0=r)
        nisa.dma_copy(dst=out[r0:r0 + nr, :], src=o)
    return out


@nki.jit
def causal_attention(qT, kT, v):
    """Single head: qT, kT [d, S] (d <= 128), v [S, d]; S a multiple of 128, S <= 512."""
    d, s = qT.shape
    scale = 1.0 / float(d) ** 0.5
    out = nl.ndarray((s, d), dtype=v.dtype, buffer=nl.shared_hbm)
    k_sb = nl.ndarray((d, s), dtype=kT.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=k_sb, src=kT)
    v_sb = nl.ndarray((P, s // P, d), dtype=v.dtype, buffer=nl.sbuf)
    for j in nl.affine_range(s // P):
        nisa.dma_copy(dst=v_sb[:, j, :], src=v[j * P:(j + 1) * P, :])
    for i in nl.affine_range(s // P):
        q_sb = nl.ndarray((d, P), dtype=qT.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=q_sb, src=qT[:, i * P:(i + 1) * P])
        sc_ps = nl.ndarray((P, s), dtype=nl.float32, buffer=nl.psum)
        nisa.nc_matmul(dst=sc_ps, stationary=q_sb, moving=k_sb)
        sc = nl.ndarray((P, s), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=sc, op=nl.copy, data=sc_ps, scale=scale)
        masked = nl.ndarray((P, s), dtype=nl.float32, buffer=nl.sbuf)
        # keep key j for query row (i*P + p) when i*P + p - j >= 0
        nisa.affine_select(dst=masked, pattern=[[-1, s]], channel_multiplier=1, on_true_tile=sc,
                           on_false_value=NEG, cmp_op=nl.greater_equal, offset=i * P)
        negmax = nl.ndarray((P, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_reduce(dst=negmax, op=nl.max, data=masked, axis=1, negate=True)
        probs = nl.ndarray((P, s), dtype=v.dtype, buffer=nl.sbuf)
        ssum = nl.ndarray((P, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=probs, op=nl.exp, data=masked, bias=negmax, reduce_op=nl.add, reduce_res=ssum,
                        reduce_cmd=nisa.reduce_cmd.reset_reduce)
        rsum = nl.ndarray((P, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.reciprocal(dst=rsum, data=ssum)
        o_ps = nl.ndarray((P, d), dtype=nl.float32, buffer=nl.psum)
        for j in nl.affine_range(s // P):
            pt_ps = nl.ndarray((P, P), dtype=nl.float32, buffer=nl.psum)
            nisa.nc_transpose(dst=pt_ps, data=probs[:, j * P:(j + 1) * P])
            pt = nl.ndarray((P, P), dtype=v.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=pt, src=pt_ps)
            nisa.nc_matmul(dst=o_ps, stationary=pt, moving=v_sb[:, j, :])
        o = nl.ndarray((P, d), dtype=v.dtype, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=o, data=o_ps, op0=nl.multiply, operand0=rsum)
        nisa.dma_copy(dst=out[i * P:(i + 1) * P, :], src=o)
    return out


@nki.jit
def cumsum_rows(x, tile_f=256):
    """Cumulative sum along the free dim with tensor_tensor_scan, carrying across tiles."""
    n, f = x.shape
    out = nl.ndarray((n, f), dtype=x.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range((n + P - 1) // P):
        r0 = i * P
        nr = min(P, n - r0)
        ones = nl.ndarray((nr, tile_f), dtype=nl.float32, buffer=nl.sbuf)
        nisa.memset(dst=ones, value=1.0)
        carry = nl.ndarray((nr, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.memset(dst=carry, value=0.0)
        for j in nl.sequential_range((f + tile_f - 1) // tile_f):
            w = min(tile_f, f - j * tile_f)
            xt = nl.ndarray((nr, w), dtype=x.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=xt, src=x[r0:r0 + nr, j * tile_f:j * tile_f + w])
            acc = nl.ndarray((nr, w), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_tensor_scan(dst=acc, data0=ones[:, 0:w], data1=xt, initial=carry, op0=nl.multiply,
                                    op1=nl.add)
            nisa.tensor_copy(dst=carry, src=acc[:, w - 1:w])
            o = nl.ndarray((nr, w), dtype=x.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=o, src=acc)
            nisa.dma_copy(dst=out[r0:r0 + nr, j * tile_f:j * tile_f + w], src=o)
    return out


@nki.jit
def selective_scan(delta, u, a, b, c):
    """Mamba-style scan: delta, u [C, L]; a [C, N]; b, c [N, L] -> y [C, L]."""
    ch, ln = delta.shape
    _, ns = a.shape
    y = nl.ndarray((ch, ln), dtype=u.dtype, buffer=nl.shared_hbm)
    for ci in nl.affine_range(ch // P):
        cs = slice(ci * P, (ci + 1) * P)
        dl = nl.ndarray((P, ln), dtype=delta.dtype, buffer=nl.sbuf)
        ut = nl.ndarray((P, ln), dtype=u.dtype, buffer=nl.sbuf)
        at = nl.ndarray((P, ns), dtype=a.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=dl, src=delta[cs, :])
        nisa.dma_copy(dst=ut, src=u[cs, :])
        nisa.dma_copy(dst=at, src=a[cs, :])
        du = nl.ndarray((P, ln), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_tensor(dst=du, data1=dl, data2=ut, op=nl.multiply)
        acc = nl.ndarray((P, ln), dtype=nl.float32, buffer=nl.sbuf)
        nisa.memset(dst=acc, value=0.0)
        for n in nl.affine_range(ns):
            da = nl.ndarray((P, ln), dtype=nl.float32, buffer=nl.sbuf)
            nisa.activation(dst=da, op=nl.exp, data=dl, scale=at[:, n:n + 1])
            bt = nl.ndarray((P, ln), dtype=b.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=bt, src=b[n:n + 1, :].broadcast(0, P))
            dbu = nl.ndarray((P, ln), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_tensor(dst=dbu, data1=du, data2=bt, op=nl.multiply)
            h = nl.ndarray((P, ln), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_tensor_scan(dst=h, data0=da, data1=dbu, initial=0.0, op0=nl.multiply, op1=nl.add)
            ct = nl.ndarray((P, ln), dtype=c.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=ct, src=c[n:n + 1, :].broadcast(0, P))
            hc = nl.ndarray((P, ln), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_tensor(dst=hc, data1=h, data2=ct, op=nl.multiply)
            nisa.tensor_tensor(dst=acc, data1=acc, data2=hc, op=nl.add)
        o = nl.ndarray((P, ln), dtype=u.dtype, buffer=nl.sbuf)
        nisa.tensor_copy(dst=o, src=acc)
        nisa.dma_copy(dst=y[cs, :], src=o)
    return y

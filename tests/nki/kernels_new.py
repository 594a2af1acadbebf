"""Tutorial-style kernels written against the current ``nki`` API (destination-passing ISA).

Written for the trnsim test-suite; they follow the public tutorials' structure, not their code.
"""

from __future__ import annotations

import trnsim.nki as nki
import trnsim.nki.isa as nisa
import trnsim.nki.language as nl

P = 128


@nki.jit
def tensor_add(x, y):
    rows, cols = x.shape
    fw = min(cols, 512)
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range((rows + P - 1) // P):
        r0 = i * P
        nr = min(P, rows - r0)
        for j in nl.affine_range(cols // fw):
            a = nl.ndarray((nr, fw), dtype=x.dtype, buffer=nl.sbuf)
            b = nl.ndarray((nr, fw), dtype=y.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=a, src=x[r0:r0 + nr, j * fw:(j + 1) * fw])
            nisa.dma_copy(dst=b, src=y[r0:r0 + nr, j * fw:(j + 1) * fw])
            s = nl.ndarray((nr, fw), dtype=x.dtype, buffer=nl.sbuf)
            nisa.tensor_tensor(dst=s, data1=a, data2=b, op=nl.add)
            nisa.dma_copy(dst=out[r0:r0 + nr, j * fw:(j + 1) * fw], src=s)
    return out


@nki.jit
def transpose_free(x, f1, f2):
    """Per partition, view the free dim as [f1, f2] and write it back as [f2, f1]."""
    p, f = x.shape
    out = nl.ndarray((p, f), dtype=x.dtype, buffer=nl.shared_hbm)
    src = nl.ndarray((p, f1, f2), dtype=x.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=src, src=x.reshape((p, f1, f2)))
    dst = nl.ndarray((p, f2, f1), dtype=x.dtype, buffer=nl.sbuf)
    for i in nl.affine_range(f1):
        nisa.tensor_copy(dst=dst[:, :, i:i + 1], src=src[:, i, :])
    nisa.dma_copy(dst=out.reshape((p, f2, f1)), src=dst)
    return out


@nki.jit
def transpose_2d(x):
    """Full 2-D transpose [R, C] -> [C, R] through the Tensor Engine, 128x128 blocks."""
    rows, cols = x.shape
    out = nl.ndarray((cols, rows), dtype=x.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(rows // P):
        for j in nl.affine_range(cols // P):
            t = nl.ndarray((P, P), dtype=x.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=t, src=x[i * P:(i + 1) * P, j * P:(j + 1) * P])
            tp = nl.ndarray((P, P), dtype=x.dtype, buffer=nl.psum)
            nisa.nc_transpose(dst=tp, data=t)
            ts = nl.ndarray((P, P), dtype=x.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=ts, src=tp)
            nisa.dma_copy(dst=out[j * P:(j + 1) * P, i * P:(i + 1) * P], src=ts)
    return out


@nki.jit
def avg_pool(x, k):
    """[C, H, W] -> [C, H//k, W//k] average pool with a k x k window (C <= 128)."""
    c, h, w = x.shape
    ho, wo = h // k, w // k
    out = nl.ndarray((c, ho, wo), dtype=x.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray((c, h, w), dtype=x.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=t, src=x)
    # 5-D window view over the same storage: [c, ho, k, wo, k] -> reduce the two window dims
    win = t.ap([[h * w, c], [k * w, ho], [k, wo], [w, k], [1, k]])
    s = nl.ndarray((c, ho, wo), dtype=nl.float32, buffer=nl.sbuf)
    nisa.tensor_reduce(dst=s, op=nl.add, data=win, axis=(3, 4))
    r = nl.ndarray((c, ho, wo), dtype=x.dtype, buffer=nl.sbuf)
    nisa.tensor_scalar(dst=r, data=s, op0=nl.multiply, operand0=1.0 / (k * k))
    nisa.dma_copy(dst=out, src=r)
    return out


# ----------------------------------------------------------------------------- matmul variants
@nki.jit
def matmul_basic(lhsT, rhs):
    k, m = lhsT.shape
    _, n = rhs.shape
    out = nl.ndarray((m, n), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    a = nl.ndarray((k, m), dtype=lhsT.dtype, buffer=nl.sbuf)
    b = nl.ndarray((k, n), dtype=rhs.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=a, src=lhsT)
    nisa.dma_copy(dst=b, src=rhs)
    acc = nl.ndarray((m, n), dtype=nl.float32, buffer=nl.psum)
    nisa.nc_matmul(dst=acc, stationary=a, moving=b)
    res = nl.ndarray((m, n), dtype=out.dtype, buffer=nl.sbuf)
    nisa.tensor_copy(dst=res, src=acc)
    nisa.dma_copy(dst=out, src=res)
    return out


@nki.jit
def matmul_tiled(lhsT, rhs):
    k_, m_ = lhsT.shape
    _, n_ = rhs.shape
    tm, tk, tn = nl.tile_size.gemm_stationary_fmax, nl.tile_size.pmax, nl.tile_size.gemm_moving_fmax
    out = nl.ndarray((m_, n_), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for mi in nl.affine_range(m_ // tm):
        for ni in nl.affine_range(n_ // tn):
            acc = nl.ndarray((tm, tn), dtype=nl.float32, buffer=nl.psum)
            for ki in nl.affine_range(k_ // tk):
                a = nl.ndarray((tk, tm), dtype=lhsT.dtype, buffer=nl.sbuf)
                b = nl.ndarray((tk, tn), dtype=rhs.dtype, buffer=nl.sbuf)
                nisa.dma_copy(dst=a, src=lhsT[ki * tk:(ki + 1) * tk, mi * tm:(mi + 1) * tm])
                nisa.dma_copy(dst=b, src=rhs[ki * tk:(ki + 1) * tk, ni * tn:(ni + 1) * tn])
                nisa.nc_matmul(dst=acc, stationary=a, moving=b)
            res = nl.ndarray((tm, tn), dtype=out.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=res, src=acc)
            nisa.dma_copy(dst=out[mi * tm:(mi + 1) * tm, ni * tn:(ni + 1) * tn], src=res)
    return out


@nki.jit
def matmul_hoisted(lhsT, rhs):
    """Load each lhsT column block once per m, reuse it across all n."""
    k_, m_ = lhsT.shape
    _, n_ = rhs.shape
    tm, tk, tn = 128, 128, 512
    nk = k_ // tk
    out = nl.ndarray((m_, n_), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for mi in nl.affine_range(m_ // tm):
        a = nl.ndarray((tk, nk, tm), dtype=lhsT.dtype, buffer=nl.sbuf)
        for ki in nl.affine_range(nk):
            nisa.dma_copy(dst=a[:, ki, :], src=lhsT[ki * tk:(ki + 1) * tk, mi * tm:(mi + 1) * tm])
        for ni in nl.affine_range(n_ // tn):
            b = nl.ndarray((tk, nk, tn), dtype=rhs.dtype, buffer=nl.sbuf)
            for ki in nl.affine_range(nk):
                nisa.dma_copy(dst=b[:, ki, :], src=rhs[ki * tk:(ki + 1) * tk, ni * tn:(ni + 1) * tn])
            acc = nl.ndarray((tm, tn), dtype=nl.float32, buffer=nl.psum)
            for ki in nl.affine_range(nk):
                nisa.nc_matmul(dst=acc, stationary=a[:, ki, :], moving=b[:, ki, :])
            res = nl.ndarray((tm, tn), dtype=out.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=res, src=acc)
            nisa.dma_copy(dst=out[mi * tm:(mi + 1) * tm, ni * tn:(ni + 1) * tn], src=res)
    return out


@nki.jit
def matmul_blocked_free(lhsT, rhs, bm=2, bn=2):
    """Block M and N: bm x bn PSUM tiles live at once, each loaded operand feeds several matmuls."""
    k_, m_ = lhsT.shape
    _, n_ = rhs.shape
    tm, tk, tn = 128, 128, 512
    nk = k_ // tk
    out = nl.ndarray((m_, n_), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for mb in nl.affine_range(m_ // (tm * bm)):
        a = nl.ndarray((tk, nk, bm * tm), dtype=lhsT.dtype, buffer=nl.sbuf)
        for ki in nl.affine_range(nk):
            nisa.dma_copy(dst=a[:, ki, :], src=lhsT[ki * tk:(ki + 1) * tk, mb * bm * tm:(mb + 1) * bm * tm])
        for nb in nl.affine_range(n_ // (tn * bn)):
            b = nl.ndarray((tk, nk, bn * tn), dtype=rhs.dtype, buffer=nl.sbuf)
            for ki in nl.affine_range(nk):
                nisa.dma_copy(dst=b[:, ki, :], src=rhs[ki * tk:(ki + 1) * tk, nb * bn * tn:(nb + 1) * bn * tn])
            for i in nl.affine_range(bm):
                for j in nl.affine_range(bn):
                    acc = nl.ndarray((tm, tn), dtype=nl.float32, buffer=nl.psum)
                    for ki in nl.affine_range(nk):
                        nisa.nc_matmul(dst=acc, stationary=a[:, ki, i * tm:(i + 1) * tm],
                                       moving=b[:, ki, j * tn:(j + 1) * tn])
                    res = nl.ndarray((tm, tn), dtype=out.dtype, buffer=nl.sbuf)
                    nisa.tensor_copy(dst=res, src=acc)
                    m0, n0 = (mb * bm + i) * tm, (nb * bn + j) * tn
                    nisa.dma_copy(dst=out[m0:m0 + tm, n0:n0 + tn], src=res)
    return out


@nki.jit
def matmul_fully_blocked(lhsT, rhs, bm=2, bn=2, bk=2):
    """Block M, N and K; partial sums of each K block are added up in SBUF (fp32)."""
    k_, m_ = lhsT.shape
    _, n_ = rhs.shape
    tm, tk, tn = 128, 128, 512
    out = nl.ndarray((m_, n_), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for nb in nl.affine_range(n_ // (tn * bn)):
        res = nl.ndarray((tm, m_ // tm, bn * tn), dtype=nl.float32, buffer=nl.sbuf)
        nisa.memset(dst=res, value=0.0)
        for kb in nl.sequential_range(k_ // (tk * bk)):
            b = nl.ndarray((tk, bk, bn * tn), dtype=rhs.dtype, buffer=nl.sbuf)
            for kk in nl.affine_range(bk):
                k0 = (kb * bk + kk) * tk
                nisa.dma_copy(dst=b[:, kk, :], src=rhs[k0:k0 + tk, nb * bn * tn:(nb + 1) * bn * tn])
            for mb in nl.affine_range(m_ // (tm * bm)):
                a = nl.ndarray((tk, bk, bm * tm), dtype=lhsT.dtype, buffer=nl.sbuf)
                for kk in nl.affine_range(bk):
                    k0 = (kb * bk + kk) * tk
                    nisa.dma_copy(dst=a[:, kk, :], src=lhsT[k0:k0 + tk, mb * bm * tm:(mb + 1) * bm * tm])
                for i in nl.affine_range(bm):
                    for j in nl.affine_range(bn):
                        acc = nl.ndarray((tm, tn), dtype=nl.float32, buffer=nl.psum)
                        for kk in nl.affine_range(bk):
                            nisa.nc_matmul(dst=acc, stationary=a[:, kk, i * tm:(i + 1) * tm],
                                           moving=b[:, kk, j * tn:(j + 1) * tn])
                        dst = res[:, mb * bm + i, j * tn:(j + 1) * tn]
                        nisa.tensor_tensor(dst=dst, data1=dst, data2=acc, op=nl.add)
        for mi in nl.affine_range(m_ // tm):
            o = nl.ndarray((tm, bn * tn), dtype=out.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=o, src=res[:, mi, :])
            nisa.dma_copy(dst=out[mi * tm:(mi + 1) * tm, nb * bn * tn:(nb + 1) * bn * tn], src=o)
    return out

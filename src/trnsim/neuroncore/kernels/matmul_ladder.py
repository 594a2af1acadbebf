"""Four schedules of ``result[M, N] = lhsT[K, M].T @ rhs[K, N]`` (trnsim's own NKI kernels).

They follow the optimization steps of the NKI matrix-multiplication tutorial (validation rows
NKI-001..008: BF16 [4096, 8192] @ [8192, 8192] on one NeuronCore-v2) but are written here from the
description of each step, in the current ``nki.isa`` destination-passing style:

1. ``tiled``: for every 128 x 512 output tile, load a 128 x 128 lhsT tile and a 128 x 512 rhs tile
   per 128-deep K step, accumulate in PSUM, copy to SBUF, store.
2. ``hoisted``: the K column of lhsT tiles is loaded once per M tile, the rhs K column once per
   (M, N) tile.
3. ``block_free``: the free dims are blocked (2 M tiles x 2 N tiles per block), so each loaded
   tile feeds two matmuls.
4. ``optimized``: M, N and K are blocked (2048 x 1024 x 1024); partial sums of each K block are
   added into an SBUF accumulator on VectorE (the first K block copies), loads move 2-4 KiB per
   partition.

Each function takes the NKI modules it uses (so the same code runs under ``trnsim.nki``).
"""

from __future__ import annotations

from typing import Any, Callable

from trnsim.nki import isa as nisa
from trnsim.nki import language as nl

TK, TM, TN = 128, 128, 512   # contraction tile (partitions), stationary free, moving free


def _shapes(lhsT: Any, rhs: Any) -> tuple[int, int, int]:
    k, m = lhsT.shape
    k2, n = rhs.shape
    assert k == k2, f"contraction dims differ: lhsT {list(lhsT.shape)} vs rhs {list(rhs.shape)}"
    assert k % TK == 0 and m % TM == 0 and n % TN == 0, "K, M must be multiples of 128 and N of 512"
    return k, m, n


def _evict(psum: Any, result: Any, row: int, col: int, dtype: Any) -> None:
    """PSUM tile -> SBUF (VectorE copy with cast) -> HBM."""
    out = nl.ndarray((TM, TN), dtype=dtype, buffer=nl.sbuf)
    nisa.tensor_copy(dst=out, src=psum)
    nisa.dma_copy(dst=result[row:row + TM, col:col + TN], src=out)


def tiled(lhsT: Any, rhs: Any, bufs: int = 4) -> Any:
    k_, m_, n_ = _shapes(lhsT, rhs)
    result = nl.ndarray((m_, n_), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    # ``bufs`` rotating input tiles: the loads of the next K steps run ahead of the matmuls, the
    # multi-buffering the NKI compiler gives tiles declared inside an affine loop body
    a_ring = [nl.ndarray((TK, TM), dtype=lhsT.dtype, buffer=nl.sbuf) for _ in range(bufs)]
    b_ring = [nl.ndarray((TK, TN), dtype=rhs.dtype, buffer=nl.sbuf) for _ in range(bufs)]
    step = 0
    for m in range(m_ // TM):
        for n in range(n_ // TN):
            acc = nl.ndarray((TM, TN), dtype=nl.float32, buffer=nl.psum)
            for k in range(k_ // TK):
                a, b = a_ring[step % bufs], b_ring[step % bufs]
                step += 1
                nisa.dma_copy(dst=a, src=lhsT[k * TK:(k + 1) * TK, m * TM:(m + 1) * TM])
                nisa.dma_copy(dst=b, src=rhs[k * TK:(k + 1) * TK, n * TN:(n + 1) * TN])
                nisa.nc_matmul(dst=acc, stationary=a, moving=b)
            _evict(acc, result, m * TM, n * TN, result.dtype)
    return result


def hoisted(lhsT: Any, rhs: Any) -> Any:
    k_, m_, n_ = _shapes(lhsT, rhs)
    kt = k_ // TK
    result = nl.ndarray((m_, n_), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    b = nl.ndarray((TK, kt, TN), dtype=rhs.dtype, buffer=nl.sbuf)  # reused tile by tile
    for m in range(m_ // TM):
        a = nl.ndarray((TK, kt, TM), dtype=lhsT.dtype, buffer=nl.sbuf)
        for k in range(kt):
            nisa.dma_copy(dst=a[:, k, :], src=lhsT[k * TK:(k + 1) * TK, m * TM:(m + 1) * TM])
        for n in range(n_ // TN):
            for k in range(kt):
                nisa.dma_copy(dst=b[:, k, :], src=rhs[k * TK:(k + 1) * TK, n * TN:(n + 1) * TN])
            acc = nl.ndarray((TM, TN), dtype=nl.float32, buffer=nl.psum)
            for k in range(kt):
                nisa.nc_matmul(dst=acc, stationary=a[:, k, :], moving=b[:, k, :])
            _evict(acc, result, m * TM, n * TN, result.dtype)
    return result


def block_free(lhsT: Any, rhs: Any, tiles_m: int = 2, tiles_n: int = 2) -> Any:
    k_, m_, n_ = _shapes(lhsT, rhs)
    kt = k_ // TK
    bm_, bn_ = TM * tiles_m, TN * tiles_n
    assert m_ % bm_ == 0 and n_ % bn_ == 0, f"M must be a multiple of {bm_} and N of {bn_}"
    result = nl.ndarray((m_, n_), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    # one rhs block buffer reused tile by tile: the next block's loads start as soon as the
    # tiles they overwrite have been consumed (tile-granular double buffering)
    b = nl.ndarray((TK, tiles_n, kt, TN), dtype=rhs.dtype, buffer=nl.sbuf)
    for m in range(m_ // bm_):
        a = nl.ndarray((TK, tiles_m, kt, TM), dtype=lhsT.dtype, buffer=nl.sbuf)
        for i in range(tiles_m):
            col = m * bm_ + i * TM
            for k in range(kt):
                nisa.dma_copy(dst=a[:, i, k, :], src=lhsT[k * TK:(k + 1) * TK, col:col + TM])
        for n in range(n_ // bn_):
            for j in range(tiles_n):
                col = n * bn_ + j * TN
                for k in range(kt):
                    nisa.dma_copy(dst=b[:, j, k, :], src=rhs[k * TK:(k + 1) * TK, col:col + TN])
            for i in range(tiles_m):
                for j in range(tiles_n):
                    acc = nl.ndarray((TM, TN), dtype=nl.float32, buffer=nl.psum)
                    for k in range(kt):
                        nisa.nc_matmul(dst=acc, stationary=a[:, i, k, :], moving=b[:, j, k, :])
                    _evict(acc, result, m * bm_ + i * TM, n * bn_ + j * TN, result.dtype)
    return result


def optimized(lhsT: Any, rhs: Any, tiles_m: int = 16, tiles_n: int = 2, tiles_k: int = 8,
              a_buffers: int = 3) -> Any:
    k_, m_, n_ = _shapes(lhsT, rhs)
    bm_, bn_, bk_ = TM * tiles_m, TN * tiles_n, TK * tiles_k
    assert m_ % bm_ == 0 and n_ % bn_ == 0 and k_ % bk_ == 0, \
        f"M, N, K must be multiples of the blocks {bm_}, {bn_}, {bk_}"
    nbm = m_ // bm_
    result = nl.ndarray((m_, n_), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    # SBUF accumulator of a whole [M, BLOCK_N] output column, in the output dtype; reused for every
    # N block (each slice is overwritten by the first K block once its previous store is done)
    acc_sb = nl.ndarray((TM, nbm, tiles_m, tiles_n, TN), dtype=result.dtype, buffer=nl.sbuf)
    # explicit multi-buffering of the input blocks: loads of the next blocks overlap the matmuls
    a_ring = [nl.ndarray((TK, tiles_k, bm_), dtype=lhsT.dtype, buffer=nl.sbuf) for _ in range(a_buffers)]
    b_ring = [nl.ndarray((TK, tiles_k, bn_), dtype=rhs.dtype, buffer=nl.sbuf) for _ in range(2)]
    step = 0
    for n in range(n_ // bn_):
        for kb in range(k_ // bk_):
            b = b_ring[(n * (k_ // bk_) + kb) % 2]
            for kk in range(tiles_k):
                row = kb * bk_ + kk * TK
                nisa.dma_copy(dst=b[:, kk, :], src=rhs[row:row + TK, n * bn_:(n + 1) * bn_])
            for mb in range(nbm):
                a = a_ring[step % a_buffers]
                step += 1
                for kk in range(tiles_k):
                    row = kb * bk_ + kk * TK
                    nisa.dma_copy(dst=a[:, kk, :], src=lhsT[row:row + TK, mb * bm_:(mb + 1) * bm_])
                for j in range(tiles_n):
                    for i in range(tiles_m):
                        ps = nl.ndarray((TM, TN), dtype=nl.float32, buffer=nl.psum)
                        for kk in range(tiles_k):
                            nisa.nc_matmul(dst=ps, stationary=a[:, kk, i * TM:(i + 1) * TM],
                                           moving=b[:, kk, j * TN:(j + 1) * TN])
                        dst = acc_sb[:, mb, i, j, :]
                        if kb == 0:
                            nisa.tensor_copy(dst=dst, src=ps)
                        else:
                            nisa.tensor_tensor(dst=dst, data1=dst, data2=ps, op=nl.add)
        for mb in range(nbm):
            for i in range(tiles_m):
                row = mb * bm_ + i * TM
                nisa.dma_copy(dst=result[row:row + TM, n * bn_:(n + 1) * bn_],
                              src=acc_sb[:, mb, i, :, :])
    return result


SCHEDULES: dict[str, Callable[..., Any]] = {
    "tiled": tiled, "hoisted": hoisted, "block_free": block_free, "optimized": optimized,
}

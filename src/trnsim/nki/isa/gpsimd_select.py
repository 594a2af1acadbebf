"""GpSimd selection instructions: ``nonzero_with_count`` and ``topk``.

Both work per GpSimd core: each of the eight cores is wired to 16 contiguous SBUF partitions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trnsim.nki import dtypes as dt
from trnsim.nki import runtime
from trnsim.nki.isa import core as K

CORE_PARTITIONS = 16  # SBUF partitions per GpSimd core
INT32 = (-2 ** 31, 2 ** 31 - 1)
TOPK_N = (8, 65536)  # 8 <= n < 65536
TOPK_K = (1, 32768)  # 1 <= K < 32768


def _sbuf(instr: str, t: Any, role: str, c: Any) -> K.NkiTensor:
    x = K.tensor(t, instr, role)
    K.check_engine(instr, "gpsimd", [x], c)
    K.on_chip(x, instr, role, ("sbuf",))
    K.tile(x, instr, role, c)
    return x


def _int32(instr: str, v: Any, role: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not INT32[0] <= int(v) <= INT32[1]:
        K.fail(instr, f"{role} must be an int32 value, got {v!r}")
    return int(v)


def nonzero_with_count(dst: Any, src: Any, index_offset: int = 0, padding_val: int = -1, name: Any = None) -> Any:
    """Per GpSimd core (its partition 0 only): indices of the nonzero elements of ``src`` plus
    ``index_offset``, then ``padding_val`` up to the input length, then the count (``dst`` has one more
    element per partition than ``src``). Other partitions of ``dst`` are left unchanged."""
    instr = "nonzero_with_count"
    c = runtime.current()
    if c.version < 3:
        K.fail(instr, f"needs NeuronCore-v3+ (target {c.target})")
    s = _sbuf(instr, src, "src", c)
    d = _sbuf(instr, dst, "dst", c)
    if dt.name(s.dtype) not in ("float32", "int32"):
        K.fail(instr, f"src dtype {dt.name(s.dtype)} must be float32 or int32")
    if dt.name(d.dtype) != "int32":
        K.fail(instr, f"dst dtype {dt.name(d.dtype)} must be int32")
    if d.shape[0] != s.shape[0]:
        K.fail(instr, f"dst partitions {d.shape[0]} != src partitions {s.shape[0]}")
    n = s.free_size
    if d.free_size != n + 1:
        K.fail(instr, f"dst must have src's {n} elements + 1 (count) per partition, got {d.free_size} "
                      f"in shape {list(d.shape)}")
    off = _int32(instr, index_offset, "index_offset")
    pad = _int32(instr, padding_val, "padding_val")
    K.record(c, "gpsimd", instr, (s,), (d,), {"dtype": dt.name(s.dtype), "dst_dtype": "int32",
                                              "index_offset": off, "padding_val": pad})
    if not c.timing_only:
        rows = np.nonzero((s.access().partition_start + np.arange(s.shape[0])) % CORE_PARTITIONS == 0)[0]
        sv = K.get(s).reshape(s.shape[0], n)
        out = np.ascontiguousarray(d.np()).reshape(d.shape[0], n + 1).astype(np.int64)
        for r in rows:
            nz = np.flatnonzero(sv[r] != 0)
            out[r, :] = pad
            out[r, :len(nz)] = nz + off
            out[r, n] = len(nz)
        K.put(d, (out & 0xFFFFFFFF).astype(np.uint32).view(np.int32))
    return d


def topk(val_dst: Any, idx_dst: Any, src: Any, n: int, name: Any = None) -> Any:
    """Top-K of each 16-partition group's input snake (element ``s`` at partition ``s % 16``, column
    ``s // 16``; ``n`` active elements), K = ``val_dst`` free size. The K largest values, in ascending
    order, and their snake indices are written in the same snake layout (output position ``k`` at
    partition ``k % 16``, column ``k // 16``); other ``val_dst``/``idx_dst`` elements are unchanged.

    The documented order is ascending; the nki-library ``gpsimd_topk`` kernel notes the hardware's
    output order within the snake differs and does not rely on it, so neither should kernels."""
    instr = "topk"
    c = runtime.current()
    s = _sbuf(instr, src, "src", c)
    v = _sbuf(instr, val_dst, "val_dst", c)
    ix = _sbuf(instr, idx_dst, "idx_dst", c)
    if dt.name(s.dtype) != "bfloat16" or dt.name(v.dtype) != "bfloat16":
        K.fail(instr, f"src and val_dst must be bfloat16, got {dt.name(s.dtype)} and {dt.name(v.dtype)}")
    if dt.name(ix.dtype) != "uint32":
        K.fail(instr, f"idx_dst dtype {dt.name(ix.dtype)} must be uint32")
    p = s.shape[0]
    if p % CORE_PARTITIONS or v.shape[0] != p or ix.shape[0] != p:
        K.fail(instr, f"partition dims src {p}, val_dst {v.shape[0]}, idx_dst {ix.shape[0]} must be equal and a "
                      f"multiple of {CORE_PARTITIONS}")
    if v.free_size != ix.free_size:
        K.fail(instr, f"val_dst {list(v.shape)} and idx_dst {list(ix.shape)} must have the same shape [P, k]")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not TOPK_N[0] <= int(n) < TOPK_N[1]:
        K.fail(instr, f"n {n!r} must be an integer in [{TOPK_N[0]}, {TOPK_N[1]})")
    n = int(n)
    k = v.free_size
    if not TOPK_K[0] <= k < TOPK_K[1] or k > n:
        K.fail(instr, f"K {k} (val_dst free size) must be in [{TOPK_K[0]}, {TOPK_K[1]}) and <= n {n}")
    cols = -(-n // CORE_PARTITIONS)
    if s.free_size < cols:
        K.fail(instr, f"src free size {s.free_size} < ceil(n / 16) = {cols} for n {n}")
    K.record(c, "gpsimd", instr, (s,), (v, ix), {"dtype": "bfloat16", "dst_dtype": "bfloat16", "n": n, "k": k})
    if not c.timing_only:
        sv = K.get(s).reshape(p, -1)[:, :cols]
        vals = np.ascontiguousarray(v.np()).reshape(p, k).astype(np.float32)
        idxs = np.ascontiguousarray(ix.np()).reshape(p, k).copy()
        pos = np.arange(k)
        for g in range(0, p, CORE_PARTITIONS):
            snake = sv[g:g + CORE_PARTITIONS].T.reshape(-1)[:n]
            top = np.argsort(-snake, kind="stable")[:k]  # ties: lower snake index first
            top = top[np.argsort(snake[top], kind="stable")]  # ascending values
            rows, cc = g + pos % CORE_PARTITIONS, pos // CORE_PARTITIONS
            vals[rows, cc] = snake[top]
            idxs[rows, cc] = top
        K.put(v, vals)
        K.put(ix, idxs)
    return v


__all__ = ["nonzero_with_count", "topk"]

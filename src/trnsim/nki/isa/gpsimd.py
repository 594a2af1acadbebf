"""GpSimd Engine: ``iota``, ``affine_select``, ``tensor_partition_reduce``, ``local_gather``."""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np

from trnsim.nki import dtypes as dt
from trnsim.nki import runtime
from trnsim.nki.isa import alu
from trnsim.nki.isa import core as K


def _pattern(instr: str, pattern: Any, d: K.NkiTensor) -> list[tuple[int, int]]:
    pat = [(int(p[0]), int(p[1])) for p in pattern]
    if len(pat) > 4:
        K.fail(instr, f"pattern has {len(pat)} dims, at most 4 allowed")
    n = prod(cnt for _, cnt in pat)
    if n != d.free_size:
        K.fail(instr, f"pattern {[list(p) for p in pat]} has {n} elements but dst {list(d.shape)} has "
                      f"{d.free_size} per partition")
    return pat


def _affine(pat: list[tuple[int, int]], p: int, offset: int, cm: int) -> np.ndarray:
    v = np.full((p,) + tuple(cnt for _, cnt in pat), int(offset), np.int64)
    v += (np.arange(p, dtype=np.int64) * int(cm)).reshape((p,) + (1,) * len(pat))
    for k, (step, cnt) in enumerate(pat):
        shape = [1] * (len(pat) + 1)
        shape[k + 1] = cnt
        v += (np.arange(cnt, dtype=np.int64) * step).reshape(shape)
    return v


def _dst(instr: str, c: Any, dst: Any) -> K.NkiTensor:
    d = K.tensor(dst, instr, "dst")
    K.check_engine(instr, "gpsimd", [d], c)
    K.on_chip(d, instr, "dst", ("sbuf",))
    K.tile(d, instr, "dst", c)
    return d


def iota(dst: Any, pattern: Any, offset: int = 0, channel_multiplier: int = 0, name: Any = None) -> Any:
    instr = "iota"
    c = runtime.current()
    d = _dst(instr, c, dst)
    pat = _pattern(instr, pattern, d)
    K.record(c, "gpsimd", instr, (), (d,), {"dtype": dt.name(d.dtype), "pattern": tuple(pat)})
    if not c.timing_only:
        v = _affine(pat, d.shape[0], offset, channel_multiplier).astype(np.int32)
        K.put(d, v if dt.is_int(d.dtype) else v.astype(np.float32))
    return d


def affine_select(dst: Any, pattern: Any, channel_multiplier: int, on_true_tile: Any, on_false_value: Any,
                  cmp_op: Any = "equal", offset: int = 0, name: Any = None) -> Any:
    instr = "affine_select"
    c = runtime.current()
    d = _dst(instr, c, dst)
    x = K.tensor(on_true_tile, instr, "on_true_tile")
    K.check_engine(instr, "gpsimd", [x], c)
    K.on_chip(x, instr, "on_true_tile", ("sbuf",))
    K.same_tiles(instr, x, d, "on_true_tile", "dst")
    pat = _pattern(instr, pattern, d)
    cmp = alu.opname(cmp_op)
    if cmp not in alu.ALU:
        K.fail(instr, f"cmp_op {cmp} is not a comparison operator")
    K.record(c, "gpsimd", instr, (x,), (d,), {"dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype),
                                              "cmp_op": cmp, "pattern": tuple(pat)})
    if not c.timing_only:
        aff = _affine(pat, d.shape[0], offset, channel_multiplier).astype(np.float32)
        pred = alu.ALU[cmp](aff, np.float32(0)) != 0
        K.put(d, np.where(pred, K.get(x).reshape(pred.shape), np.float32(on_false_value)))
    return d


def tensor_partition_reduce(dst: Any, op: Any, data: Any, name: Any = None) -> Any:
    """Reduce across partitions: ``dst[1, F] = op over p of data[p, F]`` (GpSimd)."""
    instr = "tensor_partition_reduce"
    c = runtime.current()
    d = _dst(instr, c, dst)
    x = K.tensor(data, instr, "data")
    K.check_engine(instr, "gpsimd", [x], c)
    K.on_chip(x, instr, "data", ("sbuf",))
    K.tile(x, instr, "data", c)
    opn = alu.opname(op)
    if opn not in alu.REDUCE and opn != "average":
        K.fail(instr, f"op {opn} is not a reduction operator")
    if d.free_size != x.free_size:
        K.fail(instr, f"dst free size {d.free_size} != data free size {x.free_size}")
    K.record(c, "gpsimd", instr, (x,), (d,), {"op": opn, "dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        v = K.get(x).reshape(x.shape[0], -1)
        r = v.mean(axis=0, keepdims=True) if opn == "average" else alu.reduce(opn, v, 0, keepdims=True)
        K.put(d, np.broadcast_to(r, (d.shape[0], r.shape[1])))
    return d


LOCAL_GATHER_ELEMS = (1, 2, 4, 8, 16, 32)  # allowed num_elem_per_idx
LOCAL_GATHER_MAX_INDICES = 4096  # indices per GpSimd core
CORE_PARTITIONS = 16  # SBUF partitions per GpSimd core


def local_gather(dst: Any, src_buffer: Any, index: Any, num_elem_per_idx: int = 1, num_valid_indices: Any = None,
                 name: Any = None) -> Any:
    """Gather per GpSimd core (16 partitions): the core's ``index`` slice flattened partition-first gives
    ``idx[0:V]`` (element offsets into each partition's flattened free dims); every partition ``p`` of
    the core gets ``dst[p, k*e:(k+1)*e] = src[p, idx[k]:idx[k]+e]`` (``e = num_elem_per_idx``)."""
    instr = "local_gather"
    c = runtime.current()
    d = _dst(instr, c, dst)
    s = K.tensor(src_buffer, instr, "src_buffer")
    ix = K.tensor(index, instr, "index")
    K.check_engine(instr, "gpsimd", [s, ix], c)
    for t, role in ((s, "src_buffer"), (ix, "index")):
        K.on_chip(t, instr, role, ("sbuf",))
        K.tile(t, instr, role, c)
    p = s.shape[0]
    if ix.shape[0] != p or p % CORE_PARTITIONS:
        K.fail(instr, f"src_buffer partitions {p} must equal index partitions {ix.shape[0]} and be a multiple "
                      f"of {CORE_PARTITIONS}")
    if d.shape[0] != p:
        K.fail(instr, f"dst partitions {d.shape[0]} != src_buffer partitions {p}")
    if dt.name(ix.dtype) != "uint16":
        K.fail(instr, f"index dtype {dt.name(ix.dtype)} must be uint16")
    if dt.name(d.dtype) != dt.name(s.dtype):
        K.fail(instr, f"dst dtype {dt.name(d.dtype)} != src_buffer dtype {dt.name(s.dtype)} (no casting)")
    e = int(num_elem_per_idx)
    if e not in LOCAL_GATHER_ELEMS:
        K.fail(instr, f"num_elem_per_idx {num_elem_per_idx} must be one of {list(LOCAL_GATHER_ELEMS)}")
    per_core = ix.free_size * CORE_PARTITIONS
    nv = per_core if num_valid_indices is None else int(num_valid_indices)
    if not 0 < nv <= per_core:
        K.fail(instr, f"num_valid_indices {num_valid_indices} must be in [1, {per_core}] (index elements per core)")
    if nv > LOCAL_GATHER_MAX_INDICES:
        K.fail(instr, f"{nv} indices per core > {LOCAL_GATHER_MAX_INDICES}")
    if d.free_size < nv * e:
        K.fail(instr, f"dst free size {d.free_size} < num_valid_indices * num_elem_per_idx = {nv * e}")
    K.record(c, "gpsimd", instr, (s, ix), (d,), {"dtype": dt.name(s.dtype), "num_elem_per_idx": e,
                                                 "num_valid_indices": nv})
    if not c.timing_only:
        f = s.free_size
        sv = s.np().reshape(p, f)
        iv = K.get(ix).reshape(p, -1).astype(np.int64)
        out = np.ascontiguousarray(d.np()).reshape(p, -1).copy()
        cols = np.arange(e)
        for g in range(0, p, CORE_PARTITIONS):
            idx = iv[g:g + CORE_PARTITIONS].T.reshape(-1)[:nv]  # flattened along the partition dim first
            if idx.size and (idx.min() < 0 or idx.max() + e > f):
                bad = int(idx[(idx < 0) | (idx + e > f)][0])
                K.fail(instr, f"index {bad} + {e} elements out of range [0, {f}) of src_buffer {list(s.shape)}",
                       K.OutOfBoundsError)
            out[g:g + CORE_PARTITIONS, :nv * e] = sv[g:g + CORE_PARTITIONS][:, (idx[:, None] + cols).reshape(-1)]
        K.put(d, out)
    return d


def nc_n_gather(dst: Any, data: Any, indices: Any, name: Any = None) -> Any:
    """Per-partition gather along the (flattened) free dim: ``dst[p, j] = data[p, indices[p, j]]``."""
    instr = "nc_n_gather"
    c = runtime.current()
    d = _dst(instr, c, dst)
    x = K.tensor(data, instr, "data")
    ix = K.tensor(indices, instr, "indices")
    K.check_engine(instr, "gpsimd", [x, ix], c)
    if d.shape[0] != x.shape[0] or ix.shape[0] != x.shape[0] or d.free_size != ix.free_size:
        K.fail(instr, f"shapes data {list(x.shape)}, indices {list(ix.shape)}, dst {list(d.shape)} do not match")
    if not dt.is_int(ix.dtype):
        K.fail(instr, f"indices dtype {dt.name(ix.dtype)} must be an integer type")
    K.record(c, "gpsimd", instr, (x, ix), (d,), {"dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        xv = x.np().reshape(x.shape[0], -1)
        iv = ix.np().reshape(ix.shape[0], -1).astype(np.int64)
        if iv.size and (iv.min() < 0 or iv.max() >= xv.shape[1]):
            K.fail(instr, f"index {int(iv.max())} out of range [0, {xv.shape[1]})", K.OutOfBoundsError)
        K.put(d, np.take_along_axis(xv, iv, axis=1).astype(np.float32) if not dt.is_int(d.dtype)
              else np.take_along_axis(xv, iv, axis=1))
    return d


def sequence_bounds(dst: Any, segment_ids: Any, name: Any = None) -> Any:
    """Per partition: start (inclusive) and end (exclusive) index of each element's segment;
    segment id 0 is padding (start = N, end = -1). ``dst`` is [P, 2, N]."""
    instr = "sequence_bounds"
    c = runtime.current()
    d = _dst(instr, c, dst)
    s = K.tensor(segment_ids, instr, "segment_ids")
    K.check_engine(instr, "gpsimd", [s], c)
    n = s.free_size
    if d.shape[0] != s.shape[0] or d.free_size != 2 * n:
        K.fail(instr, f"dst must be [{s.shape[0]}, 2, {n}], got {list(d.shape)}")
    K.record(c, "gpsimd", instr, (s,), (d,), {"dtype": dt.name(s.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        seg = K.get(s).reshape(s.shape[0], n)
        out = np.zeros((s.shape[0], 2, n), np.float64)
        for p in range(seg.shape[0]):
            row = seg[p]
            for i in range(n):
                if row[i] == 0:
                    out[p, 0, i], out[p, 1, i] = n, -1
                    continue
                lo = i
                while lo > 0 and row[lo - 1] == row[i]:
                    lo -= 1
                hi = i + 1
                while hi < n and row[hi] == row[i]:
                    hi += 1
                out[p, 0, i], out[p, 1, i] = lo, hi
        K.put(d, out)
    return d

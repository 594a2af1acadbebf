"""Vector Engine statistics, selection, top-8 and shuffle instructions, and ``nc_transpose``."""

from __future__ import annotations

from typing import Any

import numpy as np

from trnsim.nki import dtypes as dt
from trnsim.nki import runtime
from trnsim.nki.isa import alu
from trnsim.nki.isa import core as K
from trnsim.nki.isa.enums import value as ev
from trnsim.nki.isa.prng import uniform
from trnsim.nki.isa.scalar import update_accumulator
from trnsim.nki.isa.tensor_engine import transpose_tensor_engine
from trnsim.nki.isa.vector import _axes, _op, _prep, _scalar_apply

F32 = np.float32
BN_STATS_FMAX = 512  # nl.tile_size.bn_stats_fmax (ISA limit)
VECTOR_TRANSPOSE_MAX = 32  # Vector Engine transposes up to 32x32
MAX8_RANGE = (8, 16384)
FP32_MIN = float(np.finfo(np.float32).min)


def bn_stats(dst: Any, data: Any, name: Any = None) -> Any:
    instr = "bn_stats"
    c = runtime.current()
    d, s = _prep(instr, c, dst, data=data)
    x = s["data"]
    n = x.free_size
    if n > BN_STATS_FMAX:
        K.fail(instr, f"data free size {n} > {BN_STATS_FMAX} (bn_stats_fmax) in shape {list(x.shape)}")
    if d.shape[0] != x.shape[0] or d.free_size != 6:
        K.fail(instr, f"dst must be [{x.shape[0]}, 6], got {list(d.shape)}")
    K.record(c, "vector", instr, (x,), (d,), {"dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        v = K.get(x).reshape(x.shape[0], -1).astype(F32)
        out = np.zeros((x.shape[0], 6), F32)
        for k, part in enumerate((v[:, 0::2], v[:, 1::2])):
            cnt = part.shape[1]
            mean = part.mean(axis=1) if cnt else np.zeros(part.shape[0], F32)
            m2 = ((part - mean[:, None]) ** 2).sum(axis=1) if cnt else np.zeros(part.shape[0], F32)
            out[:, 3 * k], out[:, 3 * k + 1], out[:, 3 * k + 2] = cnt, mean, m2
        K.put(d, out)
    return d


def bn_aggr(dst: Any, data: Any, name: Any = None) -> Any:
    instr = "bn_aggr"
    c = runtime.current()
    d, s = _prep(instr, c, dst, data=data)
    x = s["data"]
    if x.free_size % 3:
        K.fail(instr, f"data free size {x.free_size} is not a multiple of 3 (count, mean, var*count tuples)")
    if d.shape[0] != x.shape[0] or d.free_size != 2:
        K.fail(instr, f"dst must be [{x.shape[0]}, 2] (mean, variance), got {list(d.shape)}")
    K.record(c, "vector", instr, (x,), (d,), {"dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        v = K.get(x).reshape(x.shape[0], -1, 3).astype(np.float64)
        cnt, mean, m2 = v[..., 0], v[..., 1], v[..., 2]
        n = cnt.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = (cnt * mean).sum(axis=1) / n
            var = (m2 + cnt * (mean - mu[:, None]) ** 2).sum(axis=1) / n
        K.put(d, np.stack([mu, var], axis=1))
    return d


def select_reduce(dst: Any, predicate: Any, on_true: Any, on_false: Any, reduce_res: Any = None,
                  reduce_cmd: Any = None, reduce_op: Any = "maximum", reverse_pred: bool = False,
                  name: Any = None) -> Any:
    instr = "select_reduce"
    c = runtime.current()
    d, s = _prep(instr, c, dst, predicate=predicate, on_true=on_true)
    pr, t = s["predicate"], s["on_true"]
    K.same_tiles(instr, pr, d, "predicate", "dst")
    K.same_tiles(instr, t, d, "on_true", "dst")
    fv, tf = K.scalar_or_vector(on_false, d, instr, "on_false", c) if not (
        isinstance(on_false, K.NkiTensor) and on_false.free_size > 1) else (None, K.tensor(on_false, instr, "on_false"))
    rr = K.tensor(reduce_res, instr, "reduce_res") if reduce_res is not None else None
    rop = alu.opname(reduce_op)
    ins = (pr, t) + ((tf,) if tf is not None else ())
    K.record(c, "vector", instr, ins, (d,) + ((rr,) if rr is not None else ()),
             {"dtype": dt.name(t.dtype), "dst_dtype": dt.name(d.dtype), "reduce_op": rop,
              "reduce_cmd": ev(reduce_cmd, "idle")})
    if not c.timing_only:
        m = K.get(pr).reshape(d.shape) != 0
        if reverse_pred:
            m = ~m
        other = K.get(tf).reshape(d.shape) if tf is not None and tf.free_size > 1 else K.vec_value(
            fv if tf is None else tf, d.shape[0], d.ndim)
        out = np.where(m, K.get(t).reshape(d.shape), other).astype(F32)
        K.put(d, out)
        if rr is not None or ev(reduce_cmd, "idle") != "idle":
            update_accumulator(c, "vector", ev(reduce_cmd, "idle"), rop, out, rr)
    return d


def range_select(dst: Any, on_true_tile: Any, comp_op0: Any, comp_op1: Any, bound0: Any, bound1: Any,
                 reduce_cmd: Any = "reset_reduce", reduce_res: Any = None, reduce_op: Any = "maximum",
                 range_start: Any = 0, on_false_value: Any = FP32_MIN, name: Any = None) -> Any:
    instr = "range_select"
    c = runtime.current()
    if c.version < 3:
        K.fail(instr, f"needs NeuronCore-v3+ (target {c.target})")
    d, s = _prep(instr, c, dst, on_true_tile=on_true_tile, bound0=bound0, bound1=bound1)
    t, b0, b1 = s["on_true_tile"], s["bound0"], s["bound1"]
    K.same_tiles(instr, t, d, "on_true_tile", "dst")
    c0, c1 = _op(instr, comp_op0, "comp_op0"), _op(instr, comp_op1, "comp_op1")
    rr = K.tensor(reduce_res, instr, "reduce_res") if reduce_res is not None else None
    rop = alu.opname(reduce_op)
    K.record(c, "vector", instr, (t, b0, b1), (d,) + ((rr,) if rr is not None else ()),
             {"dtype": dt.name(t.dtype), "dst_dtype": dt.name(d.dtype), "reduce_op": rop})
    if not c.timing_only:
        p, f = d.shape[0], d.free_size
        idx = (np.arange(f, dtype=F32) + np.float32(range_start))[None, :]
        m = (alu.ALU[c0](idx, K.get(b0).reshape(p, 1)) != 0) & (alu.ALU[c1](idx, K.get(b1).reshape(p, 1)) != 0)
        out = np.where(m, K.get(t).reshape(p, f), np.float32(on_false_value)).astype(F32)
        K.put(d, out)
        update_accumulator(c, "vector", ev(reduce_cmd, "reset_reduce"), rop, out, rr)
    return d


def _top8_check(instr: str, x: K.NkiTensor) -> None:
    if not MAX8_RANGE[0] <= x.free_size <= MAX8_RANGE[1]:
        K.fail(instr, f"free size {x.free_size} must be in [{MAX8_RANGE[0]}, {MAX8_RANGE[1]}] in shape {list(x.shape)}")


def max8(dst: Any, src: Any, name: Any = None) -> Any:
    instr = "max8"
    c = runtime.current()
    d, s = _prep(instr, c, dst, src=src)
    x = s["src"]
    _top8_check(instr, x)
    if d.shape[0] != x.shape[0] or d.free_size != 8:
        K.fail(instr, f"dst must be [{x.shape[0]}, 8], got {list(d.shape)}")
    K.record(c, "vector", instr, (x,), (d,), {"dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        v = K.get(x).reshape(x.shape[0], -1)
        K.put(d, -np.sort(-v, axis=1)[:, :8])
    return d


def _first_index(row: np.ndarray, val: Any, taken: set) -> int:
    hits = np.nonzero(row == val)[0]
    for h in hits:
        if int(h) not in taken:
            return int(h)
    return int(hits[0]) if len(hits) else 0xFFFFFFFF


def nc_find_index8(dst: Any, data: Any, vals: Any, name: Any = None) -> Any:
    instr = "nc_find_index8"
    c = runtime.current()
    d, s = _prep(instr, c, dst, data=data, vals=vals)
    x, v = s["data"], s["vals"]
    _top8_check(instr, x)
    if v.free_size != 8 or d.free_size != 8:
        K.fail(instr, f"vals and dst must have 8 elements per partition, got {list(v.shape)}, {list(d.shape)}")
    K.record(c, "vector", instr, (x, v), (d,), {"dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        xv, vv = K.get(x).reshape(x.shape[0], -1), K.get(v).reshape(v.shape[0], 8)
        out = np.zeros((x.shape[0], 8), np.int64)
        for p in range(x.shape[0]):
            taken: set = set()
            for j in range(8):
                out[p, j] = _first_index(xv[p], vv[p, j], taken)
                taken.add(int(out[p, j]))
        K.put(d, out)
    return d


def nc_match_replace8(dst: Any, data: Any, vals: Any, imm: float, dst_idx: Any = None, name: Any = None) -> Any:
    instr = "nc_match_replace8"
    c = runtime.current()
    d, s = _prep(instr, c, dst, data=data, vals=vals)
    x, v = s["data"], s["vals"]
    _top8_check(instr, x)
    K.same_tiles(instr, x, d, "data", "dst")
    di = K.tensor(dst_idx, instr, "dst_idx") if dst_idx is not None else None
    K.record(c, "vector", instr, (x, v), (d,) + ((di,) if di is not None else ()),
             {"dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        xv = K.get(x).reshape(x.shape[0], -1).astype(F32).copy()
        vv = K.get(v).reshape(v.shape[0], 8)
        idx = np.zeros((x.shape[0], 8), np.int64)
        for p in range(x.shape[0]):
            taken: set = set()
            for j in range(8):
                k = _first_index(xv[p], vv[p, j], taken)
                idx[p, j] = k
                if k != 0xFFFFFFFF:
                    taken.add(k)
            for k in taken:
                xv[p, k] = imm
        K.put(d, xv)
        if di is not None:
            K.put(di, idx)
    return d


def tensor_scalar_reduce(dst: Any, data: Any, op0: Any, operand0: Any, reduce_op: Any, reduce_res: Any = None,
                         reverse0: bool = False, reduce_cmd: Any = "reset_reduce", reduce_init: Any = None,
                         reduce_res_negate: bool = False, name: Any = None) -> Any:
    instr = "tensor_scalar_reduce"
    c = runtime.current()
    d, s = _prep(instr, c, dst, data=data)
    x = s["data"]
    K.same_tiles(instr, x, d, "data", "dst")
    o0 = _op(instr, op0, "op0")
    rop = alu.opname(reduce_op)
    s0, t0 = K.scalar_or_vector(operand0, x, instr, "operand0", c)
    rr = K.tensor(reduce_res, instr, "reduce_res") if reduce_res is not None else None
    ins = (x,) + ((t0,) if t0 is not None else ())
    K.record(c, "vector", instr, ins, (d,) + ((rr,) if rr is not None else ()),
             {"op0": o0, "reduce_op": rop, "dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        with np.errstate(all="ignore"):
            v = _scalar_apply(o0, K.get(x), K.vec_value(s0, x.shape[0], x.ndim), reverse0)
        K.put(d, v)
        if rr is not None:
            r = alu.reduce(rop, np.asarray(v, F32).reshape(x.shape[0], -1), 1, keepdims=True)
            K.put(rr, -r if reduce_res_negate else r)
    return d


def tensor_scalar_cumulative(dst: Any, src: Any, op0: Any, op1: Any, imm0: Any, imm1: Any = None,
                             reduce_cmd: Any = "reset_reduce", name: Any = None) -> Any:
    """``t = src op0 imm0``; ``dst[:, i] = op1(dst[:, i-1], t[:, i])`` (running reduction)."""
    instr = "tensor_scalar_cumulative"
    c = runtime.current()
    d, s = _prep(instr, c, dst, src=src)
    x = s["src"]
    K.same_tiles(instr, x, d, "src", "dst")
    o0, o1 = _op(instr, op0, "op0"), _op(instr, op1, "op1")
    s0, t0 = K.scalar_or_vector(imm0, x, instr, "imm0", c)
    K.record(c, "vector", instr, (x,) + ((t0,) if t0 is not None else ()), (d,),
             {"op0": o0, "op1": o1, "dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        p = x.shape[0]
        t = np.asarray(alu.ALU[o0](K.get(x), K.vec_value(s0, p, x.ndim)), F32).reshape(p, -1)
        f = alu.ALU[o1]
        if o1 in ("add", "multiply", "maximum", "minimum"):
            acc = {"add": np.cumsum, "multiply": np.cumprod}.get(o1)
            out = acc(t, axis=1) if acc else (np.maximum if o1 == "maximum" else np.minimum).accumulate(t, axis=1)
            if imm1 is not None:
                out = f(np.float32(imm1), out) if o1 in ("add", "multiply") else f(out, np.float32(imm1))
        else:
            out = np.empty_like(t)
            prev = np.full(p, np.float32(imm1) if imm1 is not None else 0.0, F32)
            for i in range(t.shape[1]):
                prev = t[:, i] if (i == 0 and imm1 is None) else f(prev, t[:, i])
                out[:, i] = prev
        K.put(d, out)
    return d


def nc_stream_shuffle(dst: Any, src: Any, shuffle_mask: Any, name: Any = None) -> Any:
    instr = "nc_stream_shuffle"
    c = runtime.current()
    d, s = _prep(instr, c, dst, src=src)
    x = s["src"]
    mask = [int(m) for m in shuffle_mask]
    if len(mask) != 32:
        K.fail(instr, f"shuffle_mask must have 32 entries, got {len(mask)}")
    if x.free_size != d.free_size:
        K.fail(instr, f"src {list(x.shape)} and dst {list(d.shape)} free sizes differ")
    K.record(c, "vector", instr, (x,), (d,), {"dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        sv = K.get(x).reshape(x.shape[0], -1)
        out = K.get(d).reshape(d.shape[0], -1).astype(F32).copy()
        for p in range(d.shape[0]):
            m = mask[p % 32]
            if m == 255:
                continue
            q = (p // 32) * 32 + m
            if q < sv.shape[0]:
                out[p] = sv[q]
        K.put(d, out)
    return d


def dropout(dst: Any, data: Any, prob: Any, name: Any = None) -> Any:
    instr = "dropout"
    c = runtime.current()
    d, s = _prep(instr, c, dst, data=data)
    x = s["data"]
    K.same_tiles(instr, x, d, "data", "dst")
    pv, tp = K.scalar_or_vector(prob, x, instr, "prob", c)
    K.record(c, "vector", instr, (x,) + ((tp,) if tp is not None else ()), (d,), {"dtype": dt.name(x.dtype)})
    if not c.timing_only:
        keep = uniform(c, "vector", d).reshape(x.shape) >= K.vec_value(pv, x.shape[0], x.ndim)  # Vector Engine PRNG
        K.put(d, np.where(keep, K.get(x), 0))
    return d


def nc_transpose(dst: Any, data: Any, engine: Any = None, name: Any = None) -> Any:
    """Swap partition and (flattened) free dims: TensorE (<=128x128, SBUF->PSUM) or VectorE (<=32x32)."""
    instr = "nc_transpose"
    c = runtime.current()
    d = K.tensor(dst, instr, "dst")
    x = K.tensor(data, instr, "data")
    K.tile(x, instr, "data", c)
    K.tile(d, instr, "dst", c)
    p, f = x.shape[0], x.free_size
    e = K.engine_of(engine, "")
    if not e:
        small = p <= VECTOR_TRANSPOSE_MAX and f <= VECTOR_TRANSPOSE_MAX
        e = "tensor" if (d.storage.space == "psum" and x.storage.space == "sbuf" and not small) or not small else "vector"
        if small and d.storage.space == "psum" and x.storage.space == "sbuf":
            e = "tensor"
    if e == "tensor":
        transpose_tensor_engine(instr, d, x, c)
        return d
    if e != "vector":
        K.fail(instr, f"engine {e} cannot transpose (tensor or vector)")
    if p > VECTOR_TRANSPOSE_MAX or f > VECTOR_TRANSPOSE_MAX:
        K.fail(instr, f"Vector Engine transpose input [{p}, {f}] exceeds [32, 32]")
    if d.shape[0] != f or d.free_size != p:
        K.fail(instr, f"dst shape {list(d.shape)} != [{f}, {p}] (transpose of {list(x.shape)})")
    K.record(c, "vector", instr, (x,), (d,), {"dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype),
                                              "is_transpose": True})
    if not c.timing_only:
        K.put(d, x.np().reshape(p, f).T)
    return d


__all__ = ["bn_stats", "bn_aggr", "select_reduce", "range_select", "max8", "nc_find_index8", "nc_match_replace8",
           "tensor_scalar_reduce", "tensor_scalar_cumulative", "nc_stream_shuffle", "dropout", "nc_transpose",
           "_axes"]

"""``neuronxcc.nki.isa``: the old value-returning instruction API (``dtype=``, ``mask=``), built on ``nki.isa``."""

from __future__ import annotations

from typing import Any

import numpy as np

from trnsim.nki import isa as _n
from trnsim.nki import runtime as _rt
from trnsim.nki.isa import core as _K
from trnsim.nki.isa.enums import (dge_mode, dma_engine, engine, matmul_perf_mode, nc_version, oob_mode,  # noqa: F401
                                  reduce_cmd)
from trnsim.nki.isa import get_nc_version  # noqa: F401

# old-API engine names
tensor_engine, vector_engine, scalar_engine = engine.tensor, engine.vector, engine.scalar
gpsimd_engine, unknown_engine, activation_engine = engine.gpsimd, engine.unknown, engine.scalar
from trnsim.nki.legacy.index import Expr, Mask
from trnsim.nki.language import ops as _ops
from trnsim.nki.legacy.wrap import DeferredMatmul, begin, end, mask_info, materialize, prepare


def _new(shape: Any, dtype: Any, space: str = "sbuf"):
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        shape = shape + (1,) * (2 - len(shape))
    if _ops.ALLOC_HOOK[0] is not None:
        return _ops.ALLOC_HOOK[0](shape, dtype, space)
    return _rt.current().alloc(shape, dtype, space)


def _dt(dtype: Any, x: Any) -> Any:
    return dtype if dtype is not None else getattr(materialize(x), "dtype", np.float32)


def nc_matmul(stationary: Any, moving: Any, is_stationary_onezero: bool = False, is_moving_onezero: bool = False,
              is_transpose: bool = False, mask: Any = None, perf_mode: Any = None, tile_position: Any = (),
              tile_size: Any = (), **_k: Any) -> DeferredMatmul:
    (s, m), _ = prepare("nc_matmul", (stationary, moving), {}, mask)
    kw = dict(is_stationary_onezero=is_stationary_onezero, is_moving_onezero=is_moving_onezero,
              is_transpose=is_transpose, tile_position=tile_position, tile_size=tile_size)
    if perf_mode is not None:
        kw["perf_mode"] = perf_mode
    return DeferredMatmul(materialize(s), materialize(m), kw)


def nc_transpose(data: Any, mask: Any = None, dtype: Any = None, engine: Any = None, **_k: Any) -> Any:
    (x,), _ = prepare("nc_transpose", (data,), {}, mask)
    p, f = x.shape[0], x.free_size
    eng = _K.engine_of(engine, "")
    if not eng:
        eng = "vector" if (p <= 32 and f <= 32 and x.storage.space == "psum") else "tensor"
    if eng == "tensor":
        c = _rt.current()
        od = dtype or (x.dtype if c.version >= 3 else np.float32)
        d = _new((f, p), od, "psum")
    else:
        d = _new((f, p), dtype or x.dtype)
    return _n.nc_transpose(dst=d, data=x, engine=eng)


def activation(op: Any, data: Any, bias: Any = None, scale: Any = 1.0, reduce_op: Any = None, reduce_res: Any = None,
               reduce_cmd: Any = None, mask: Any = None, dtype: Any = None, **_k: Any) -> Any:
    (x,), kw = prepare("activation", (data,), {"bias": bias, "scale": scale, "reduce_res": reduce_res}, mask)
    d = _new(x.shape, _dt(dtype, x))
    cmd = reduce_cmd if reduce_cmd is not None else ("reset_reduce" if kw["reduce_res"] is not None else None)
    return _n.activation(dst=d, op=op, data=x, bias=kw["bias"], scale=kw["scale"], reduce_op=reduce_op,
                         reduce_res=kw["reduce_res"], reduce_cmd=cmd)


def activation_reduce(op: Any, data: Any, reduce_op: Any = None, reduce_res: Any = None, bias: Any = None,
                      scale: Any = 1.0, mask: Any = None, dtype: Any = None, **_k: Any) -> Any:
    return activation(op, data, bias=bias, scale=scale, reduce_op=reduce_op, reduce_res=reduce_res,
                      reduce_cmd="reset_reduce", mask=mask, dtype=dtype)


def tensor_tensor(data1: Any, data2: Any, op: Any, dtype: Any = None, mask: Any = None, engine: Any = None,
                  **_k: Any) -> Any:
    (a, b), _ = prepare("tensor_tensor", (data1, data2), {}, mask)
    d = _new(a.shape, _dt(dtype, a))
    return _n.tensor_tensor(dst=d, data1=a, data2=b, op=op, engine=engine)


def tensor_scalar(data: Any, op0: Any, operand0: Any, reverse0: bool = False, op1: Any = None, operand1: Any = None,
                  reverse1: bool = False, dtype: Any = None, mask: Any = None, engine: Any = None, **_k: Any) -> Any:
    (x,), kw = prepare("tensor_scalar", (data,), {"o0": operand0, "o1": operand1}, mask)
    d = _new(x.shape, _dt(dtype, x))
    return _n.tensor_scalar(dst=d, data=x, op0=op0, operand0=kw["o0"], reverse0=reverse0, op1=op1,
                            operand1=kw["o1"], reverse1=reverse1, engine=engine)


def scalar_tensor_tensor(data: Any = None, op0: Any = None, operand0: Any = None, op1: Any = None,
                         operand1: Any = None, reverse0: bool = False, reverse1: bool = False, dtype: Any = None,
                         mask: Any = None, **_k: Any) -> Any:
    (x, y), kw = prepare("scalar_tensor_tensor", (data, operand1), {"o0": operand0}, mask)
    d = _new(x.shape, _dt(dtype, x))
    return _n.scalar_tensor_tensor(dst=d, data=x, op0=op0, operand0=kw["o0"], op1=op1, operand1=y,
                                   reverse0=reverse0, reverse1=reverse1)


def tensor_reduce(op: Any, data: Any, axis: Any, mask: Any = None, dtype: Any = None, negate: bool = False,
                  keepdims: bool = False, **_k: Any) -> Any:
    (x,), _ = prepare("tensor_reduce", (data,), {}, mask)
    ax = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    ax = tuple(int(a) % x.ndim for a in ax)
    shape = [1 if d in ax else n for d, n in enumerate(x.shape)] if keepdims else \
        [n for d, n in enumerate(x.shape) if d not in ax]
    d = _new(shape, _dt(dtype, x))
    return _n.tensor_reduce(dst=d, op=op, data=x, axis=ax, negate=negate, keepdims=keepdims)


def tensor_tensor_scan(data0: Any, data1: Any, initial: Any, op0: Any, op1: Any, reverse0: bool = False,
                       reverse1: bool = False, dtype: Any = None, mask: Any = None, **_k: Any) -> Any:
    (a, b), kw = prepare("tensor_tensor_scan", (data0, data1), {"i": initial}, mask)
    d = _new(a.shape, _dt(dtype, a))
    return _n.tensor_tensor_scan(dst=d, data0=a, data1=b, initial=kw["i"], op0=op0, op1=op1, reverse0=reverse0,
                                 reverse1=reverse1)


def tensor_copy(src: Any, mask: Any = None, dtype: Any = None, engine: Any = None, **_k: Any) -> Any:
    (x,), _ = prepare("tensor_copy", (src,), {}, mask)
    d = _new(x.shape, _dt(dtype, x))
    return _n.tensor_copy(dst=d, src=x, engine=engine)


def tensor_copy_dynamic_src(src: Any, mask: Any = None, dtype: Any = None, engine: Any = None, **_k: Any) -> Any:
    """Old API: a copy whose source view holds runtime (register/tile) offsets; same data path as tensor_copy."""
    (x,), _ = prepare("tensor_copy_dynamic_src", (src,), {}, mask)
    d = _new(x.shape, _dt(dtype, x))
    return _n.tensor_copy(dst=d, src=x, engine=engine, _opcode="tensor_copy_dynamic_src")


def tensor_copy_dynamic_dst(dst: Any, src: Any, mask: Any = None, dtype: Any = None, engine: Any = None,
                            **_k: Any) -> Any:
    (d, x), _ = prepare("tensor_copy_dynamic_dst", (dst, src), {}, mask)
    return _n.tensor_copy(dst=d, src=x, engine=engine, _opcode="tensor_copy_dynamic_dst")


def sequence_bounds(segment_ids: Any = None, mask: Any = None, dtype: Any = None, **_k: Any) -> Any:
    (s,), _ = prepare("sequence_bounds", (segment_ids,), {}, mask)
    return _n.sequence_bounds(dst=_new((s.shape[0], 2, s.free_size), _dt(dtype, s)), segment_ids=s)


def memset(shape: Any, value: Any, dtype: Any, mask: Any = None, engine: Any = None, **_k: Any) -> Any:
    d = _new(shape, dtype)
    if mask is not None:
        (d2,), _ = prepare("memset", (d,), {}, mask)
        _n.memset(dst=d2, value=value, engine=engine)
        return d
    return _n.memset(dst=d, value=value, engine=engine)


def reciprocal(data: Any, dtype: Any = None, mask: Any = None, **_k: Any) -> Any:
    (x,), _ = prepare("reciprocal", (data,), {}, mask)
    return _n.reciprocal(dst=_new(x.shape, _dt(dtype, x)), data=x)


def _affine_parts(e: Expr, where: str) -> tuple[int, int, list[list[int]]]:
    """(offset, channel_multiplier, free pattern) of an affine expression over a [P, F...] index space."""
    nd = e.ndim
    cm = e.coef.get(nd - 1, 0) if nd >= 2 else 0
    pat = [[e.coef.get(rp, 0), e.sizes.get(rp, 1)] for rp in range(nd - 2, -1, -1)] if nd >= 2 else \
        [[e.coef.get(0, 0), e.sizes.get(0, 1)]]
    return e.const, cm, pat


def iota(expr: Any, dtype: Any, mask: Any = None, **_k: Any) -> Any:
    if not isinstance(expr, Expr):
        raise _K.IsaError("iota: expr must be an affine nl.arange/mgrid expression")
    off, cm, pat = _affine_parts(expr, "iota")
    p = expr.sizes.get(expr.ndim - 1, 1) if expr.ndim >= 2 else 1
    d = _new([p] + [n for _, n in pat], dtype)
    return _n.iota(dst=d, pattern=pat, offset=off, channel_multiplier=cm)


_CMP = {"<": "less", "<=": "less_equal", ">": "greater", ">=": "greater_equal", "==": "equal", "!=": "not_equal"}


def affine_select(pred: Any, on_true_tile: Any, on_false_value: Any, mask: Any = None, dtype: Any = None,
                  **_k: Any) -> Any:
    if not isinstance(pred, Mask) or len(pred.terms) != 1:
        raise _K.IsaError("affine_select: pred must be one affine comparison of nl.arange/mgrid indices")
    e, op = pred.terms[0]
    (x,), _ = prepare("affine_select", (on_true_tile,), {}, mask)
    off, cm, pat = _affine_parts(e, "affine_select")
    d = _new(x.shape, _dt(dtype, x))
    if sum(1 for _ in pat) and int(np.prod([n for _, n in pat])) != x.free_size:
        pat = [[pat[-1][0] if pat else 1, x.free_size]]
    return _n.affine_select(dst=d, pattern=pat, channel_multiplier=cm, on_true_tile=x,
                            on_false_value=on_false_value, cmp_op=_CMP[op], offset=off)


def bn_stats(data: Any, mask: Any = None, dtype: Any = None, **_k: Any) -> Any:
    (x,), _ = prepare("bn_stats", (data,), {}, mask)
    return _n.bn_stats(dst=_new((x.shape[0], 6), _dt(dtype, x)), data=x)


def bn_aggr(data: Any, mask: Any = None, dtype: Any = None, **_k: Any) -> Any:
    (x,), _ = prepare("bn_aggr", (data,), {}, mask)
    return _n.bn_aggr(dst=_new((x.shape[0], 2), _dt(dtype, x)), data=x)


def max8(src: Any = None, mask: Any = None, dtype: Any = None, **_k: Any) -> Any:
    (x,), _ = prepare("max8", (src,), {}, mask)
    return _n.max8(dst=_new((x.shape[0], 8), _dt(dtype, x)), src=x)


def nc_find_index8(data: Any = None, vals: Any = None, mask: Any = None, dtype: Any = np.uint32, **_k: Any) -> Any:
    (x, v), _ = prepare("nc_find_index8", (data, vals), {}, mask)
    return _n.nc_find_index8(dst=_new((x.shape[0], 8), dtype or np.uint32), data=x, vals=v)


def nc_match_replace8(data: Any = None, vals: Any = None, imm: float = 0.0, dst_idx: Any = None, mask: Any = None,
                      dtype: Any = None, **_k: Any) -> Any:
    (x, v), _ = prepare("nc_match_replace8", (data, vals), {}, mask)
    return _n.nc_match_replace8(dst=_new(x.shape, _dt(dtype, x)), data=x, vals=v, imm=imm, dst_idx=dst_idx)


def tensor_partition_reduce(op: Any, data: Any, mask: Any = None, dtype: Any = None, **_k: Any) -> Any:
    (x,), _ = prepare("tensor_partition_reduce", (data,), {}, mask)
    return _n.tensor_partition_reduce(dst=_new((1,) + tuple(x.shape[1:]), _dt(dtype, x)), op=op, data=x)


def tensor_scalar_reduce(data: Any = None, op0: Any = None, operand0: Any = None, reduce_op: Any = None,
                         reduce_res: Any = None, reverse0: bool = False, dtype: Any = None, mask: Any = None,
                         **_k: Any) -> Any:
    (x,), kw = prepare("tensor_scalar_reduce", (data,), {"o0": operand0, "r": reduce_res}, mask)
    return _n.tensor_scalar_reduce(dst=_new(x.shape, _dt(dtype, x)), data=x, op0=op0, operand0=kw["o0"],
                                   reduce_op=reduce_op, reduce_res=kw["r"], reverse0=reverse0)


def select_reduce(predicate: Any = None, on_true: Any = None, on_false: Any = None, reduce_res: Any = None,
                  reduce_cmd: Any = None, reduce_op: Any = "maximum", reverse_pred: bool = False, mask: Any = None,
                  dtype: Any = None, dst: Any = None, **_k: Any) -> Any:
    (p, t), kw = prepare("select_reduce", (predicate, on_true), {"f": on_false, "r": reduce_res, "d": dst}, mask)
    d = kw["d"] if kw["d"] is not None else _new(t.shape, _dt(dtype, t))
    return _n.select_reduce(dst=d, predicate=p, on_true=t, on_false=kw["f"],
                            reduce_res=kw["r"], reduce_cmd=reduce_cmd, reduce_op=reduce_op, reverse_pred=reverse_pred)


def range_select(on_true_tile: Any = None, comp_op0: Any = None, comp_op1: Any = None, bound0: Any = None,
                 bound1: Any = None, reduce_cmd: Any = "reset_reduce", reduce_res: Any = None, reduce_op: Any = "maximum",
                 range_start: Any = 0, on_false_value: Any = None, mask: Any = None, dtype: Any = None,
                 dst: Any = None, **_k: Any) -> Any:
    (t,), kw = prepare("range_select", (on_true_tile,), {"b0": bound0, "b1": bound1, "r": reduce_res, "d": dst}, mask)
    d = kw["d"] if kw["d"] is not None else _new(t.shape, _dt(dtype, t))
    extra = {} if on_false_value is None else {"on_false_value": on_false_value}
    return _n.range_select(dst=d, on_true_tile=t, comp_op0=comp_op0, comp_op1=comp_op1, bound0=kw["b0"],
                           bound1=kw["b1"], reduce_cmd=reduce_cmd, reduce_res=kw["r"], reduce_op=reduce_op,
                           range_start=range_start, **extra)


def dropout(data: Any, prob: Any, mask: Any = None, dtype: Any = None, **_k: Any) -> Any:
    (x,), _ = prepare("dropout", (data,), {}, mask)
    return _n.dropout(dst=_new(x.shape, _dt(dtype, x)), data=x, prob=prob)


def nc_stream_shuffle(src: Any, dst: Any, shuffle_mask: Any, mask: Any = None, **_k: Any) -> Any:
    (s, d), _ = prepare("nc_stream_shuffle", (src, dst), {}, mask)
    return _n.nc_stream_shuffle(dst=d, src=s, shuffle_mask=shuffle_mask)


def dma_copy(dst: Any = None, src: Any = None, mask: Any = None, dst_rmw_op: Any = None, oob_mode: Any = None,
             dge_mode: Any = None, **_k: Any) -> Any:
    (d, s), _ = prepare("dma_copy", (dst, materialize(src)), {}, mask)
    if dst_rmw_op is not None:
        return _n.dma_compute(dst=d, srcs=[d, s], reduce_op=dst_rmw_op)
    return _n.dma_copy(dst=d, src=s, dge_mode=dge_mode, oob_mode=oob_mode, _allow_psum=True)


def dma_transpose(src: Any, axes: Any = None, mask: Any = None, dtype: Any = None, **_k: Any) -> Any:
    (s,), _ = prepare("dma_transpose", (src,), {}, mask)
    ax = tuple(axes) if axes is not None else tuple(reversed(range(s.ndim)))
    return _n.dma_transpose(dst=_new(tuple(s.shape[a] for a in ax), _dt(dtype, s)), src=s, axes=ax)


def local_gather(src_buffer: Any, index: Any, num_elem_per_idx: int = 1, num_valid_indices: Any = None,
                 mask: Any = None, **_k: Any) -> Any:
    """Old API: returns a new ``[P, num_valid_indices, num_elem_per_idx]`` tile of ``src_buffer.dtype``."""
    (s, ix), _ = prepare("local_gather", (src_buffer, index), {}, mask)
    nv = int(num_valid_indices) if num_valid_indices else ix.free_size * 16
    return _n.local_gather(dst=_new((s.shape[0], nv, int(num_elem_per_idx)), s.dtype), src_buffer=s, index=ix,
                           num_elem_per_idx=num_elem_per_idx, num_valid_indices=nv)


def _masked(fn: Any) -> Any:
    """Masked calls allocate full-size outputs and return them (the instruction writes the masked region)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        state = begin(mask_info(kw.get("mask")))
        res = None
        try:
            res = fn(*args, **kw)
        finally:
            res = end(state, res)
        return res

    return wrapper


for _name, _fn in list(globals().items()):
    if callable(_fn) and getattr(_fn, "__module__", "") == __name__ and not _name.startswith("_") \
            and _name not in ("nc_matmul", "iota", "affine_select", "memset"):
        globals()[_name] = _masked(_fn)


def __getattr__(name: str) -> Any:
    return getattr(_n, name)

"""Vector Engine (and engine-selectable elementwise) instructions."""

from __future__ import annotations

from typing import Any

import numpy as np

from trnsim.nki import dtypes as dt
from trnsim.nki import runtime
from trnsim.nki.isa import alu
from trnsim.nki.isa import core as K
from trnsim.nki.isa.enums import value as ev

F32 = np.float32


def _prep(instr: str, c: Any, dst: Any, **srcs: Any) -> tuple[K.NkiTensor, dict[str, K.NkiTensor]]:
    d = K.tensor(dst, instr, "dst")
    K.on_chip(d, instr, "dst")
    K.tile(d, instr, "dst", c)
    out = {}
    for role, x in srcs.items():
        t = K.tensor(x, instr, role)
        K.on_chip(t, instr, role)
        K.tile(t, instr, role, c)
        out[role] = t
    return d, out


def _op(instr: str, op: Any, role: str = "op") -> str:
    n = alu.opname(op)
    if n not in alu.ALU:
        K.fail(instr, f"{role} {n} is not an ALU operator")
    return n


def _pick_engine(instr: str, engine: Any, default: str, tensors: list[K.NkiTensor], c: Any,
                 allowed: tuple[str, ...] = ("vector", "scalar", "gpsimd")) -> str:
    e = K.engine_of(engine, default)
    if e not in allowed:
        K.fail(instr, f"engine {e} cannot run {instr} (allowed: {', '.join(allowed)})")
    if e == "gpsimd" and ev(engine, "unknown") == "unknown" and any(t.storage.space == "psum" for t in tensors):
        e = "vector"
    K.check_engine(instr, e, tensors, c)
    return e


def tensor_tensor(dst: Any, data1: Any, data2: Any, op: Any, engine: Any = None, name: Any = None) -> Any:
    instr = "tensor_tensor"
    c = runtime.current()
    d, s = _prep(instr, c, dst, data1=data1, data2=data2)
    a, b = s["data1"], s["data2"]
    opn = _op(instr, op)
    K.same_tiles(instr, a, b, "data1", "data2")
    K.same_tiles(instr, a, d, "data1", "dst")
    if a.storage.space == "psum" and b.storage.space == "psum":
        K.fail(instr, f"data1 and data2 cannot both be in PSUM ({list(a.shape)}, {list(b.shape)})")
    default = "gpsimd" if (opn == "power" or dt.name(a.dtype) in ("int32", "uint32")) else "vector"
    e = _pick_engine(instr, engine, default, [a, b, d], c)
    K.record(c, e, instr, (a, b), (d,), {"op": opn, "dtype": dt.name(a.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        av, bv = K.get(a), K.get(b).reshape(a.shape)
        with np.errstate(all="ignore"):
            K.put(d, alu.ALU[opn](av, bv))
    return d


def _scalar_apply(opn: str, x: Any, s: Any, reverse: bool) -> Any:
    f = alu.ALU[opn]
    return f(s, x) if reverse else f(x, s)


def tensor_scalar(dst: Any, data: Any, op0: Any, operand0: Any, reverse0: bool = False, op1: Any = None,
                  operand1: Any = None, reverse1: bool = False, engine: Any = None, name: Any = None) -> Any:
    instr = "tensor_scalar"
    c = runtime.current()
    d, s = _prep(instr, c, dst, data=data)
    x = s["data"]
    K.same_tiles(instr, x, d, "data", "dst")
    o0 = _op(instr, op0, "op0")
    o1 = _op(instr, op1, "op1") if op1 is not None else None
    s0, t0 = K.scalar_or_vector(operand0, x, instr, "operand0", c)
    s1, t1 = K.scalar_or_vector(operand1, x, instr, "operand1", c)
    e = _pick_engine(instr, engine, "vector", [x, d] + [t for t in (t0, t1) if t is not None], c)
    if e == "scalar" and c.version == 3 and not all(o in (None, "add", "multiply", "subtract") for o in (o0, o1)):
        K.fail(instr, f"Scalar Engine tensor_scalar on {c.target} supports only multiply/add, got {o0}, {o1}")
    ins = tuple([x] + [t for t in (t0, t1) if t is not None])
    K.record(c, e, instr, ins, (d,), {"op0": o0, "op1": o1, "dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype),
                                      "vector_operands": int(t0 is not None) + int(t1 is not None)})
    if not c.timing_only:
        v = K.get(x)
        with np.errstate(all="ignore"):
            v = _scalar_apply(o0, v, K.vec_value(s0, x.shape[0], x.ndim), reverse0)
            if o1 is not None:
                v = _scalar_apply(o1, v, K.vec_value(s1, x.shape[0], x.ndim), reverse1)
        K.put(d, v)
    return d


def _two_tiles_two_ops(instr: str, c: Any, dst: Any, r0: str, x0: Any, r1: str, x1: Any, op0: Any, op1: Any,
                       rs: str, sv: Any) -> tuple:
    """Checks shared by the two-tile, two-operator instructions: tiles ``r0``/``r1`` shaped like ``dst``
    and not both in PSUM, ALU ``op0``/``op1``, and a scalar or [P, 1] operand ``rs``.
    Returns ``(dst, t0, t1, op0, op1, scalar, scalar_tile, input_tiles)``."""
    d, s = _prep(instr, c, dst, **{r0: x0, r1: x1})
    a, b = s[r0], s[r1]
    K.same_tiles(instr, a, d, r0, "dst")
    K.same_tiles(instr, a, b, r0, r1)
    if a.storage.space == "psum" and b.storage.space == "psum":
        K.fail(instr, f"{r0} and {r1} cannot both be in PSUM")
    o0, o1 = _op(instr, op0, "op0"), _op(instr, op1, "op1")
    sc, st = K.scalar_or_vector(sv, a, instr, rs, c)
    return d, a, b, o0, o1, sc, st, (a, b) + ((st,) if st is not None else ())


def scalar_tensor_tensor(dst: Any, data: Any, op0: Any, operand0: Any, op1: Any, operand1: Any,
                         reverse0: bool = False, reverse1: bool = False, name: Any = None) -> Any:
    """``dst = (data op0 operand0) op1 operand1`` with a scalar/[P,1] ``operand0`` and a tile ``operand1``."""
    instr = "scalar_tensor_tensor"
    c = runtime.current()
    d, x, y, o0, o1, s0, t0, ins = _two_tiles_two_ops(instr, c, dst, "data", data, "operand1", operand1,
                                                       op0, op1, "operand0", operand0)
    K.record(c, "vector", instr, ins, (d,), {"op0": o0, "op1": o1, "dtype": dt.name(x.dtype),
                                             "operand1_dtype": dt.name(y.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        with np.errstate(all="ignore"):
            v = _scalar_apply(o0, K.get(x), K.vec_value(s0, x.shape[0], x.ndim), reverse0)
            yv = K.get(y).reshape(x.shape)
            v = alu.ALU[o1](yv, v) if reverse1 else alu.ALU[o1](v, yv)
        K.put(d, v)
    return d


def _axes(instr: str, axis: Any, ndim: int) -> tuple[int, ...]:
    ax = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    ax = tuple(sorted(int(a) % ndim if int(a) < 0 else int(a) for a in ax))
    if not ax or 0 in ax:
        K.fail(instr, f"axis {list(ax)}: the partition axis 0 cannot be reduced")
    if ax != tuple(range(ax[0], ndim)):
        K.fail(instr, f"axis {list(ax)} must be the last contiguous free dims ending at dim {ndim - 1}")
    return ax


def tensor_reduce(dst: Any, op: Any, data: Any, axis: Any, negate: bool = False, keepdims: bool = False,
                  name: Any = None, **_k: Any) -> Any:
    instr = "tensor_reduce"
    c = runtime.current()
    d, s = _prep(instr, c, dst, data=data)
    x = s["data"]
    opn = alu.opname(op)
    if opn not in alu.REDUCE:
        K.fail(instr, f"op {opn} is not a reduction operator")
    ax = _axes(instr, axis, x.ndim)
    kept = int(np.prod([x.shape[i] for i in range(x.ndim) if i not in ax]))
    if d.shape[0] != x.shape[0] or d.size != kept:
        K.fail(instr, f"dst shape {list(d.shape)} does not match reducing {list(x.shape)} over axes {list(ax)}")
    K.record(c, "vector", instr, (x,), (d,), {"op": opn, "axis": ax, "negate": bool(negate),
                                              "dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        v = alu.reduce(opn, K.get(x), ax, keepdims=True)
        if negate:
            v = -v
        K.put(d, v)
    return d


def tensor_tensor_scan(dst: Any, data0: Any, data1: Any, initial: Any, op0: Any, op1: Any,
                       reverse0: bool = False, reverse1: bool = False, name: Any = None) -> Any:
    instr = "tensor_tensor_scan"
    c = runtime.current()
    d, a, b, o0, o1, init, ti, ins = _two_tiles_two_ops(instr, c, dst, "data0", data0, "data1", data1,
                                                         op0, op1, "initial", initial)
    K.record(c, "vector", instr, ins, (d,), {"op0": o0, "op1": o1, "dtype": dt.name(a.dtype),
                                             "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        p = a.shape[0]
        av = K.get(a).reshape(p, -1).astype(F32)
        bv = K.get(b).reshape(p, -1).astype(F32)
        f0, f1 = alu.ALU[o0], alu.ALU[o1]
        prev = (K.get(ti).reshape(p).astype(F32) if ti is not None else np.full(p, init, F32))
        out = np.empty_like(av)
        aT, bT = np.ascontiguousarray(av.T), np.ascontiguousarray(bv.T)
        for i in range(av.shape[1]):
            t = f0(prev, aT[i]) if reverse0 else f0(aT[i], prev)
            prev = f1(bT[i], t) if reverse1 else f1(t, bT[i])
            out[:, i] = prev
        K.put(d, out)
    return d


def tensor_copy(dst: Any, src: Any, engine: Any = None, name: Any = None, _opcode: str = "tensor_copy",
                **_k: Any) -> Any:
    instr = _opcode
    c = runtime.current()
    d, s = _prep(instr, c, dst, src=src)
    x = s["src"]
    K.same_tiles(instr, x, d, "src", "dst")
    e = _pick_engine(instr, engine, "vector", [x, d], c)
    if e == "scalar" and c.version < 3:
        K.fail(instr, f"Scalar Engine tensor_copy needs NeuronCore-v3+ (target {c.target})")
    K.record(c, e, instr, (x,), (d,), {"dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        v = x.np()
        if dt.name(x.dtype) == dt.name(d.dtype):
            d.np()[...] = v.reshape(d.shape) if v.shape != d.shape else v
            if d.storage.space == "psum" and d.storage.written is not None:
                K.psum_written(d)[...] = False
        else:
            K.put(d, K.get(x))
    return d


def tensor_copy_predicated(dst: Any, src: Any, predicate: Any, reverse_pred: bool = False, name: Any = None) -> Any:
    instr = "tensor_copy_predicated"
    c = runtime.current()
    d, s = _prep(instr, c, dst, predicate=predicate)
    pr = s["predicate"]
    K.same_tiles(instr, pr, d, "predicate", "dst")
    if isinstance(src, (int, float)):
        x, ins = None, (pr, d)
    else:
        x = K.tensor(src, instr, "src")
        K.on_chip(x, instr, "src")
        K.same_tiles(instr, x, d, "src", "dst")
        ins = (x, pr, d)
    K.record(c, "vector", instr, ins, (d,), {"dtype": dt.name(d.dtype), "reverse_pred": bool(reverse_pred)})
    if not c.timing_only:
        m = K.get(pr).reshape(d.shape) != 0
        if reverse_pred:
            m = ~m
        cur = K.get(d).astype(F32)
        new = K.get(x).reshape(d.shape) if x is not None else np.float32(src)
        K.put(d, np.where(m, new, cur))
    return d


def memset(dst: Any, value: Any, engine: Any = None, name: Any = None, **_k: Any) -> Any:
    instr = "memset"
    c = runtime.current()
    d, _ = _prep(instr, c, dst)
    e = _pick_engine(instr, engine, "vector", [d], c)
    dd = dt.canon(d.dtype)
    if isinstance(dd, dt.SpecialDType) and dd.packed > 1 and value != 0:
        K.fail(instr, f"x4 packed dtype {dd.name} can only be memset to 0, got {value}")
    if dt.is_int(dd) and isinstance(value, float) and not float(value).is_integer():
        K.fail(instr, f"value {value} does not match integer dst dtype {dt.name(dd)}")
    K.record(c, e, instr, (), (d,), {"dtype": dt.name(dd), "value": float(value) if not isinstance(value, int) else value})
    if not c.timing_only:
        K.put(d, np.full(d.shape, value, np.float64 if not dt.is_int(dd) else np.int64))
    return d


def reciprocal(dst: Any, data: Any, name: Any = None, engine: Any = None) -> Any:
    instr = "reciprocal"
    c = runtime.current()
    d, s = _prep(instr, c, dst, data=data)
    x = s["data"]
    K.same_tiles(instr, x, d, "data", "dst")
    e = _pick_engine(instr, engine, "vector", [x, d], c)
    K.record(c, e, instr, (x,), (d,), {"dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        with np.errstate(divide="ignore"):
            K.put(d, 1.0 / K.get(x))
    return d


def exponential(dst: Any, src: Any, max_value: Any = 0.0, reduce_res: Any = None, reduce_cmd: Any = None,
                reduce_init: Any = 0.0, name: Any = None) -> Any:
    """NC-v4: ``dst = exp(src - max_value)`` with an optional running sum (Vector Engine)."""
    instr = "exponential"
    c = runtime.current()
    if c.version < 4:
        K.fail(instr, f"needs NeuronCore-v4 (target {c.target}); use activation(op=nl.exp)")
    d, s = _prep(instr, c, dst, src=src)
    x = s["src"]
    K.same_tiles(instr, x, d, "src", "dst")
    mv, tm = K.scalar_or_vector(max_value, x, instr, "max_value", c)
    rr = K.tensor(reduce_res, instr, "reduce_res") if reduce_res is not None else None
    ins = (x,) + ((tm,) if tm is not None else ())
    K.record(c, "vector", instr, ins, (d,) + ((rr,) if rr is not None else ()),
             {"dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype), "reduce_cmd": ev(reduce_cmd, "idle")})
    if not c.timing_only:
        with np.errstate(over="ignore"):
            v = np.exp(K.get(x) - K.vec_value(mv, x.shape[0], x.ndim))
        K.put(d, v)
        from trnsim.nki.isa.scalar import update_accumulator

        update_accumulator(c, "vector", ev(reduce_cmd, "idle"), "add", v, rr, init=reduce_init)
    return d

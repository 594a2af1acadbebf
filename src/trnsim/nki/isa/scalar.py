"""Scalar (Activation) Engine: ``activation`` / ``activation_reduce`` and the reduce registers."""

from __future__ import annotations

from typing import Any

import numpy as np

from trnsim.nki import dtypes as dt
from trnsim.nki import runtime
from trnsim.nki.isa import alu
from trnsim.nki.isa import core as K
from trnsim.nki.isa.enums import value as ev

F32 = np.float32


def update_accumulator(c: Any, engine: str, cmd: str, op: str, values: np.ndarray | None, reduce_res: Any,
                       init: Any = 0.0) -> None:
    """The per-lane reduce registers of Vector/Scalar engines (state persists across instructions)."""
    if values is None:
        return
    p = values.shape[0]
    regs = c.accumulators.get(engine)
    if regs is None or regs.shape[0] != p:
        regs = np.zeros(p, F32)
    part = alu.reduce(op, values.reshape(p, -1), 1, keepdims=False).astype(F32)
    if cmd in ("reset", "reset_reduce"):
        regs = np.zeros(p, F32) + (0.0 if isinstance(init, K.NkiTensor) or init is None else np.float32(init))
    if cmd in ("reduce", "reset_reduce", "load_reduce"):
        regs = alu.FOLD.get(op, np.add)(regs, part)
    elif cmd == "idle" and reduce_res is not None:
        regs = part  # a reduce_res without an accumulate command: this instruction's own reduction
    c.accumulators[engine] = regs
    if reduce_res is not None:
        K.put(reduce_res, regs.reshape(p, 1))


def activation(dst: Any, op: Any, data: Any, bias: Any = None, scale: Any = 1.0, reduce_op: Any = None,
               reduce_res: Any = None, reduce_cmd: Any = None, name: Any = None, **_k: Any) -> Any:
    """``dst = op(data * scale + bias)`` on the Scalar Engine, with an optional add-reduction."""
    instr = "activation"
    c = runtime.current()
    d = K.tensor(dst, instr, "dst")
    x = K.tensor(data, instr, "data")
    for t, role in ((d, "dst"), (x, "data")):
        K.on_chip(t, instr, role)
        K.tile(t, instr, role, c)
    K.same_tiles(instr, x, d, "data", "dst")
    opn = alu.opname(op)
    if opn not in alu.ACT:
        K.fail(instr, f"op {opn} is not an activation function")
    sc, tsc = K.scalar_or_vector(scale, x, instr, "scale", c)
    if bias is not None and not isinstance(bias, K.NkiTensor) and c.version < 3 and bias != 0:
        K.fail(instr, f"a scalar bias needs NeuronCore-v3+; pass a [{x.shape[0]}, 1] tile on {c.target}")
    bi, tbi = K.scalar_or_vector(bias, x, instr, "bias", c)
    rop = alu.opname(reduce_op) if reduce_op is not None else None
    if rop is not None and rop not in ("add", "sum") and c.version < 4:
        K.fail(instr, f"reduce_op must be nl.add, got {rop}")
    rr = K.tensor(reduce_res, instr, "reduce_res") if reduce_res is not None else None
    if rr is not None:
        K.on_chip(rr, instr, "reduce_res")
        if rr.shape[0] != x.shape[0] or rr.free_size != 1:
            K.fail(instr, f"reduce_res must be [{x.shape[0]}, 1], got {list(rr.shape)}")
    cmd = ev(reduce_cmd, "idle")
    ins = (x,) + tuple(t for t in (tsc, tbi) if t is not None)
    outs = (d,) + ((rr,) if rr is not None else ())
    K.record(c, "scalar", instr, ins, outs, {"op": opn, "dtype": dt.name(x.dtype), "dst_dtype": dt.name(d.dtype),
                                             "reduce_op": rop, "reduce_cmd": cmd, "reduce_res": rr is not None})
    if not c.timing_only:
        v = K.get(x).astype(F32, copy=False)
        if tsc is not None or sc != 1.0:
            v = v * K.vec_value(sc, x.shape[0], x.ndim)
        if bi is not None:
            v = v + K.vec_value(bi, x.shape[0], x.ndim)
        rng = alu.ACT_RANGE.get(opn)
        if rng is not None and v.size:
            lo, hi = (float(np.nanmin(np.abs(v))), float(np.nanmax(np.abs(v)))) if opn in ("log", "rsqrt") \
                else (float(np.nanmin(v)), float(np.nanmax(v)))
            if lo < rng[0] or hi > rng[1]:
                c.warn(f"activation: {opn} input outside its valid range [{rng[0]:.3g}, {rng[1]:.3g}] at {c.where()}")
        with np.errstate(all="ignore"):
            out = np.asarray(alu.ACT[opn](v), dtype=F32)
        K.put(d, out)
        if rop is not None or rr is not None:
            update_accumulator(c, "scalar", cmd if cmd != "idle" or rr is None else "idle", rop or "add", out, rr)
    return d


def activation_reduce(dst: Any, op: Any, data: Any, reduce_op: Any, reduce_res: Any, bias: Any = None,
                      scale: Any = 1.0, name: Any = None, **_k: Any) -> Any:
    return activation(dst, op, data, bias=bias, scale=scale, reduce_op=reduce_op, reduce_res=reduce_res,
                      reduce_cmd="reset_reduce")

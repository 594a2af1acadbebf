"""Scalar (Activation) Engine: ``activation`` / ``activation_reduce`` / ``activate2`` and the reduce registers."""

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


def _dst_data(instr: str, dst: Any, data: Any, c: Any) -> tuple[Any, Any]:
    """The ``dst``/``data`` tiles of an activation: on chip, tile-shaped, the same shape."""
    d = K.tensor(dst, instr, "dst")
    x = K.tensor(data, instr, "data")
    for t, role in ((d, "dst"), (x, "data")):
        K.on_chip(t, instr, role)
        K.tile(t, instr, role, c)
    K.same_tiles(instr, x, d, "data", "dst")
    return d, x


def activation(dst: Any, op: Any, data: Any, bias: Any = None, scale: Any = 1.0, reduce_op: Any = None,
               reduce_res: Any = None, reduce_cmd: Any = None, name: Any = None, **_k: Any) -> Any:
    """``dst = op(data * scale + bias)`` on the Scalar Engine, with an optional add-reduction."""
    instr = "activation"
    c = runtime.current()
    d, x = _dst_data(instr, dst, data, c)
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


# ----------------------------------------------------------------------------- activate2 (NeuronCore-v4+)
# the (op0, op1) tensor-scalar combinations the docs list; "bypass" skips a stage
ACTIVATE2_PAIRS = (("multiply", "add"), ("multiply", "subtract"), ("multiply", "bypass"), ("add", "bypass"),
                   ("subtract", "bypass"), ("bypass", "bypass"))
ACTIVATE2_REDUCE = ("add", "maximum", "minimum", "abs_max", "abs_min")
_IDENTITY = {"add": 0.0, "maximum": -np.inf, "minimum": np.inf, "abs_max": 0.0, "abs_min": np.inf}


def _bypass(op: Any) -> str:
    n = alu.opname(op)
    return "bypass" if n in ("none", "bypass", "identity", "copy") else n


def _reduce_regs(c: Any, cmd: str, op: str | None, out: np.ndarray, rr: Any) -> None:
    """Scalar Engine accumulator registers for ``activate2``: reset to ``op``'s identity, then fold."""
    p = out.shape[0]
    regs = c.accumulators.get("scalar")
    if regs is None or regs.shape[0] != p:
        regs = np.zeros(p, F32)
    ident = F32(_IDENTITY.get(op or "add", 0.0))
    if cmd in ("reset", "reset_reduce"):
        regs = np.full(p, ident, F32)
    if cmd in ("reduce", "reset_reduce") and op is not None:
        v = out.reshape(p, -1).astype(F32)
        if op.startswith("abs_"):
            v = np.abs(v)
        fold = np.add if op == "add" else (np.maximum if op in ("maximum", "abs_max") else np.minimum)
        regs = fold(regs, fold.reduce(v, axis=1) if v.shape[1] else np.full(p, ident, F32)).astype(F32)
    c.accumulators["scalar"] = regs
    if rr is not None:
        K.put(rr, regs.reshape(p, 1))


def activate2(dst: Any, op: Any, data: Any, imm0: Any, imm1: Any, op0: Any, op1: Any, relu_param: Any = 0.0,
              reverse0: bool = False, reverse1: bool = False, reduce_op: Any = None, reduce_res: Any = None,
              reduce_cmd: Any = "idle", name: Any = None) -> Any:
    """``dst = op((data op0 imm0) op1 imm1)`` on the Scalar Engine (NeuronCore-v4+), with an optional
    reduction into the Scalar Engine accumulator registers (shared with ``activation``)."""
    instr = "activate2"
    c = runtime.current()
    if c.version < 4:
        K.fail(instr, f"needs NeuronCore-v4+ (target {c.target})")
    d, x = _dst_data(instr, dst, data, c)
    opn = alu.opname(op)
    if opn not in alu.ACT and opn != "prelu":
        K.fail(instr, f"op {opn} is not an activation function")
    o0, o1 = _bypass(op0), _bypass(op1)
    if o0 == "bypass" and o1 != "bypass":
        K.fail(instr, f"op1 {o1} requires op0 to be set (op0 is bypass)")
    if (o0, o1) not in ACTIVATE2_PAIRS:
        K.fail(instr, f"(op0, op1) = ({o0}, {o1}) is not a supported combination "
                      f"({', '.join(f'({a}, {b})' for a, b in ACTIVATE2_PAIRS)})")
    if reverse0 and o0 == "bypass":
        K.fail(instr, "reverse0 requires op0 to be set (op0 is bypass)")
    if reverse1 and o1 == "bypass":
        K.fail(instr, "reverse1 requires op1 to be set (op1 is bypass)")
    s0, t0 = K.scalar_or_vector(imm0, x, instr, "imm0", c)
    s1, t1 = K.scalar_or_vector(imm1, x, instr, "imm1", c)
    if t0 is not None and t1 is not None and dt.name(t0.dtype) != dt.name(t1.dtype):
        K.fail(instr, f"imm0 and imm1 must have the same dtype, got {dt.name(t0.dtype)} and {dt.name(t1.dtype)}")
    rp, trp = K.scalar_or_vector(relu_param, x, instr, "relu_param", c)
    rop = alu.opname(reduce_op) if reduce_op is not None else None
    if rop is not None and rop not in ACTIVATE2_REDUCE:
        K.fail(instr, f"reduce_op {rop} not supported ({', '.join(ACTIVATE2_REDUCE)})")
    cmd = ev(reduce_cmd, "idle")
    if cmd in ("reduce", "reset_reduce") and rop is None:
        K.fail(instr, f"reduce_cmd {cmd} needs a reduce_op")
    rr = K.tensor(reduce_res, instr, "reduce_res") if reduce_res is not None else None
    if rr is not None:
        K.on_chip(rr, instr, "reduce_res")
        if rr.shape[0] != x.shape[0] or rr.free_size != 1:
            K.fail(instr, f"reduce_res must be [{x.shape[0]}, 1], got {list(rr.shape)}")
        if cmd == "idle" and rop is not None:
            c.warn(f"{instr}: reduce_op with reduce_cmd idle leaves the accumulators unchanged; reduce_res reads "
                   f"their previous value at {c.where()}")
    ins = (x,) + tuple(t for t in (t0, t1, trp) if t is not None)
    outs = (d,) + ((rr,) if rr is not None else ())
    K.record(c, "scalar", instr, ins, outs, {"op": opn, "op0": o0, "op1": o1, "dtype": dt.name(x.dtype),
                                             "dst_dtype": dt.name(d.dtype), "reduce_op": rop, "reduce_cmd": cmd,
                                             "reduce_res_read": rr is not None})
    if not c.timing_only:
        p = x.shape[0]
        v = K.get(x).astype(F32, copy=False)
        with np.errstate(all="ignore"):
            for o, s, rev in ((o0, s0, reverse0), (o1, s1, reverse1)):
                if o != "bypass":
                    imm = np.asarray(K.vec_value(s, p, x.ndim), F32)
                    v = np.asarray(alu.ALU[o](imm, v) if rev else alu.ALU[o](v, imm), F32)
            rng = alu.ACT_RANGE.get(opn)
            a = np.abs(v) if opn in ("log", "rsqrt") else v
            if rng is not None and v.size and (float(np.nanmin(a)) < rng[0] or float(np.nanmax(a)) > rng[1]):
                c.warn(f"{instr}: {opn} input outside its valid range [{rng[0]:.3g}, {rng[1]:.3g}] at {c.where()}")
            if opn == "prelu":
                alpha = np.asarray(K.vec_value(rp, p, x.ndim), F32)
                out = np.where(v >= 0, v, alpha * v).astype(F32)
            else:
                out = np.asarray(alu.ACT[opn](v), dtype=F32)
        K.put(d, out)
        if cmd != "idle" or rr is not None:
            _reduce_regs(c, cmd, rop, out, rr)
    return d

"""DMA instructions (``dma_copy``, ``dma_transpose``, ``dma_compute``) and virtual registers."""

from __future__ import annotations

from typing import Any

import numpy as np

from trnsim.nki import dtypes as dt
from trnsim.nki import runtime
from trnsim.nki.isa import alu
from trnsim.nki.isa import core as K
from trnsim.nki.isa.enums import value as ev
from trnsim.nki.indirect import IndirectView


def _endpoint(instr: str, t: Any, role: str, c: Any, allow_psum: bool) -> K.NkiTensor:
    t = K.tensor(t, instr, role)
    if t.storage.space == "psum" and not allow_psum:
        K.fail(instr, f"DMA cannot {'read' if role == 'src' else 'write'} PSUM ({role} {t.name} {list(t.shape)}); "
                      f"copy it to SBUF with tensor_copy first")
    if t.on_chip:
        K.tile(t, instr, role, c)
    return t


def dma_copy(dst: Any, src: Any, priority: Any = None, oob_mode: Any = None, dge_mode: Any = None,
             engine: Any = None, name: Any = None, _allow_psum: bool = False, _opcode: str = "dma_copy",
             **_k: Any) -> Any:
    instr = "dma_copy"
    c = runtime.current()
    d = _endpoint(instr, dst, "dst", c, _allow_psum)
    s = _endpoint(instr, src, "src", c, _allow_psum)
    if d.size != s.size:
        K.fail(instr, f"element counts differ: dst {list(d.shape)} ({d.size}) vs src {list(s.shape)} ({s.size})")
    dge = ev(dge_mode, "unknown")
    if dge == "hwdge":
        if c.version < 3:
            K.fail(instr, f"dge_mode hwdge needs NeuronCore-v3+ (target {c.target})")
        if dt.name(d.dtype) != dt.name(s.dtype):
            K.fail(instr, f"dge_mode hwdge needs equal dtypes, got {dt.name(s.dtype)} -> {dt.name(d.dtype)}")
    attrs = {"dtype": dt.name(s.dtype), "dst_dtype": dt.name(d.dtype), "dge_mode": dge,
             "queue": None if priority is None else int(priority), "bytes": s.size * s.itemsize}
    eng = K.engine_of(engine, "dma")
    if eng not in ("dma", "sync", "scalar", "gpsimd", "vector", "tensor"):
        eng = "dma"
    if eng != "dma":
        attrs["trigger_engine"] = eng
    if isinstance(s, IndirectView) or isinstance(d, IndirectView):
        return _indirect_copy(c, d, s, attrs, ev(oob_mode, "error"), _opcode)
    K.record(c, "dma", _opcode, (s,), (d,), attrs)
    if not c.timing_only:
        sv = s.np()
        out = d.np()
        if sv.shape != out.shape:
            sv = sv.reshape(out.shape)
        if dt.name(d.dtype) == dt.name(s.dtype):
            out[...] = sv
        else:
            out[...] = dt.cast(K.get(s).reshape(out.shape), d.dtype)
        if d.storage.space == "psum" and d.storage.written is not None:
            K.psum_written(d)[...] = False
    return d


def _indirect_copy(c: Any, d: K.NkiTensor, s: K.NkiTensor, attrs: dict, oob: str, opcode: str,
                   combine: Any = None) -> K.NkiTensor:
    """DMA gather (indirect src) / scatter (indirect dst) with one runtime row index per partition."""
    ins = [s] + [v.index for v in (s, d) if isinstance(v, IndirectView)]
    attrs = dict(attrs, indirect=True, oob_mode=oob)
    K.record(c, "dma", opcode, tuple(ins), (d,), attrs)
    if c.timing_only:
        return d
    for v in (s, d):
        if isinstance(v, IndirectView):
            idx = v.indices()
            ok = v.valid(idx)
            if oob == "error" and not ok.all():
                bad = idx[~ok][0]
                K.fail("dma_copy", f"indirect index {int(bad)} out of bounds [0, {v.ind_size}) of {v.name} "
                                   f"{list(v.storage.shape)} (oob_mode=error)", K.OutOfBoundsError)
            if v is s:
                vals = s.gather(idx, ok)
                s_ok = ok
            else:
                d_idx, d_ok = idx, ok
    if not isinstance(s, IndirectView):
        vals = s.np()
        s_ok = np.ones(vals.shape[0], bool)
    vals = dt.cast(np.asarray(vals).astype(np.float32) if dt.name(s.dtype) != dt.name(d.dtype) else vals, d.dtype)
    if isinstance(d, IndirectView):
        d.scatter(vals, d_idx, d_ok & s_ok[: len(d_ok)] if len(s_ok) == len(d_ok) else d_ok, combine)
    else:
        out = d.np()
        vals = vals.reshape(out.shape)
        for p in range(out.shape[0]):
            if s_ok[p]:
                out[p] = vals[p] if combine is None else combine(out[p], vals[p])
    return d


_AXES = {2: ((1, 0),), 3: ((2, 1, 0),), 4: ((3, 1, 2, 0),)}


def dma_transpose(dst: Any, src: Any, axes: Any = None, priority: Any = None, dge_mode: Any = None,
                  oob_mode: Any = None, name: Any = None) -> Any:
    instr = "dma_transpose"
    c = runtime.current()
    d = _endpoint(instr, dst, "dst", c, False)
    s = _endpoint(instr, src, "src", c, False)
    nd = s.ndim
    ax = tuple(axes) if axes is not None else tuple(reversed(range(nd)))
    if nd not in _AXES or ax not in _AXES[nd]:
        K.fail(instr, f"axes {list(ax)} for a {nd}-D src {list(s.shape)} not supported "
                      f"(allowed: (1,0), (2,1,0), (3,1,2,0))")
    tshape = tuple(s.shape[a] for a in ax)
    if d.size != s.size or (d.shape != tshape and d.shape[0] != tshape[0]):
        K.fail(instr, f"dst shape {list(d.shape)} != transposed src shape {list(tshape)}")
    dge = ev(dge_mode, "unknown")
    if dge == "hwdge" and s.itemsize != 2:
        K.fail(instr, f"dge_mode hwdge transposes only 2-byte dtypes, got {dt.name(s.dtype)}")
    K.record(c, "dma", instr, (s,), (d,), {"dtype": dt.name(s.dtype), "dst_dtype": dt.name(d.dtype),
                                          "dge_mode": dge, "axes": ax, "bytes": s.size * s.itemsize})
    if not c.timing_only:
        v = np.transpose(s.np(), ax)
        out = d.np()
        if dt.name(d.dtype) == dt.name(s.dtype):
            out[...] = v.reshape(out.shape)
        else:
            out[...] = dt.cast(v.astype(np.float32).reshape(out.shape), d.dtype)
    return d


def dma_compute(dst: Any, srcs: Any, reduce_op: Any, scales: Any = None, unique_indices: bool = True,
                oob_mode: Any = None, name: Any = None) -> Any:
    """``dst = reduce_op(srcs[i] * scales[i])`` performed by the DMA engines."""
    instr = "dma_compute"
    c = runtime.current()
    d = _endpoint(instr, dst, "dst", c, False)
    ss = [_endpoint(instr, s, "src", c, False) for s in srcs]
    opn = alu.opname(reduce_op)
    if isinstance(d, IndirectView) and len(ss) == 2 and ss[0] is d:  # old dst_rmw_op scatter-accumulate
        f = alu.ALU[opn]
        return _indirect_copy(c, d, ss[1], {"op": opn, "dtype": dt.name(d.dtype), "bytes": ss[1].size * ss[1].itemsize},
                              "error", "dma_compute", combine=lambda a, b: f(a.astype(np.float32), b.astype(np.float32)))
    for s in ss:
        if s.size != d.size:
            K.fail(instr, f"src {list(s.shape)} and dst {list(d.shape)} element counts differ")
    K.record(c, "dma", instr, tuple(ss), (d,), {"op": opn, "dtype": dt.name(d.dtype),
                                               "bytes": sum(s.size * s.itemsize for s in ss)})
    if not c.timing_only:
        acc = None
        for i, s in enumerate(ss):
            v = K.get(s).reshape(d.shape).astype(np.float32)
            if scales is not None:
                v = v * np.float32(scales[i])
            acc = v if acc is None else alu.ALU[opn](acc, v)
        K.put(d, acc)
    return d


class Register:
    """A 32-bit virtual register (``nisa.register_alloc``)."""

    def __init__(self, value: int = 0):
        self.value = int(value)

    def __int__(self) -> int:
        return self.value

    __index__ = __int__

    def __bool__(self) -> bool:
        return self.value != 0

    def __repr__(self) -> str:
        return f"Register({self.value})"


def register_alloc(x: Any = None) -> Register:
    return Register(0 if x is None else int(x))


def register_move(dst: Register, src: Any) -> None:
    dst.value = int(src.value if isinstance(src, Register) else src)


def register_load(dst: Register, src: Any) -> None:
    c = runtime.current()
    t = K.tensor(src, "register_load", "src")
    K.record(c, "sync", "register_load", (t,), (), {"dtype": dt.name(t.dtype)})
    if not c.timing_only:
        dst.value = int(np.asarray(t.np()).reshape(-1)[0])


def register_store(dst: Any, src: Register) -> None:
    c = runtime.current()
    t = K.tensor(dst, "register_store", "dst")
    K.record(c, "sync", "register_store", (), (t,), {"dtype": dt.name(t.dtype)})
    if not c.timing_only:
        K.put(t, np.full(t.shape, src.value))

"""Tensor Engine: ``nc_matmul`` (PSUM accumulate semantics), ``nc_transpose`` on TensorE."""

from __future__ import annotations

from typing import Any

import numpy as np

from trnsim.nki import dtypes as dt
from trnsim.nki import runtime
from trnsim.nki.isa import core as K
from trnsim.nki.isa.enums import value as ev

_MM_DTYPES = {"float8_e4m3", "float8_e5m2", "float8_e4m3fn", "bfloat16", "float16", "tfloat32", "float32",
              "float32r"}
_FP32ISH = {"float32", "tfloat32", "float32r"}
_TILE_SIZES = {2: (128, 64), 3: (128, 64, 32), 4: (128, 64, 32)}


def _check_mm_dtypes(instr: str, s: K.NkiTensor, m: K.NkiTensor, c: Any) -> tuple[str, str]:
    sn, mn = dt.name(s.dtype), dt.name(m.dtype)
    for role, n in (("stationary", sn), ("moving", mn)):
        if n not in _MM_DTYPES:
            K.fail(instr, f"{role} dtype {n} is not supported by the Tensor Engine "
                          f"(fp8/bf16/fp16/tf32/fp32)")
        if n == "float8_e4m3fn" and c.version < 4:
            K.fail(instr, f"{role} dtype float8_e4m3fn needs NeuronCore-v4 (target {c.target})")
    if (sn in _FP32ISH) != (mn in _FP32ISH):
        K.fail(instr, f"fp32/tf32 operands must pair with fp32/tf32, got stationary {sn} and moving {mn}")
    return sn, mn


def _psum_dst(instr: str, d: K.NkiTensor, c: Any, transpose_mode: bool, in_dtype: str) -> int:
    K.on_chip(d, instr, "dst", ("psum",))
    dn = dt.name(d.dtype)
    ok = dn == "float32" or (c.version >= 4 and dn == "bfloat16") or (transpose_mode and dn == in_dtype)
    if not ok:
        K.fail(instr, f"dst dtype {dn} not allowed in PSUM matmul output (fp32"
                      f"{', bf16' if c.version >= 4 else ''} on {c.target})")
    st = d.storage
    start = st.address + (d.offset % (st.fsize or 1)) * st.elem_bytes
    nbytes = d.free_size * st.elem_bytes
    limit = c.bank_bytes if c.version < 4 else c.bank_bytes * c.memory.banks
    if nbytes > limit:
        K.fail(instr, f"dst free size {d.free_size} x {st.elem_bytes} B = {nbytes} B > {limit} B per partition "
                      f"({'one PSUM bank, ' if c.version < 4 else ''}tile rule TC#2) in shape {list(d.shape)}")
    bank = start // c.bank_bytes
    if c.version < 4 and (start + nbytes - 1) // c.bank_bytes != bank and start < c.bank_bytes * c.memory.banks:
        K.fail(instr, f"dst {d.name} {list(d.shape)} crosses a PSUM bank boundary")
    return int(bank)


def nc_matmul(dst: Any, stationary: Any, moving: Any, is_stationary_onezero: bool = False,
              is_moving_onezero: bool = False, is_transpose: bool = False, accumulate: Any = None,
              tile_position: Any = (), tile_size: Any = (), perf_mode: Any = None, name: Any = None,
              **_ignored: Any) -> K.NkiTensor:
    """``dst[M, N] (+)= stationary[K, M].T @ moving[K, N]`` on the Tensor Engine, SBUF -> PSUM."""
    instr = "nc_matmul"
    c = runtime.current()
    d = K.tensor(dst, instr, "dst")
    s = K.tensor(stationary, instr, "stationary")
    m = K.tensor(moving, instr, "moving")
    K.on_chip(s, instr, "stationary", ("sbuf",))
    K.on_chip(m, instr, "moving", ("sbuf",))
    K.tile(s, instr, "stationary", c)
    K.tile(m, instr, "moving", c)
    pm = str(ev(perf_mode, "none") or "none")
    pm = "double_row" if pm.startswith("double_row") else pm
    k = s.shape[0]
    if m.shape[0] != k:
        K.fail(instr, f"contraction (partition) dims differ: stationary {list(s.shape)} vs moving "
                      f"{list(m.shape)} (layout rule LC#1: contract over the partition dim)")
    sn, mn = _check_mm_dtypes(instr, s, m, c)
    rows = 1
    if pm == "double_row":
        if c.version < 3:
            K.fail(instr, f"perf_mode double_row needs NeuronCore-v3+ (target {c.target})")
        if not (dt.is_fp8(s.dtype) and dt.is_fp8(m.dtype)):
            K.fail(instr, f"perf_mode double_row needs fp8 operands, got {sn} and {mn}")
        if len(s.shape) != 3 or len(m.shape) != 3 or s.shape[1] != 2 or m.shape[1] != 2:
            K.fail(instr, f"perf_mode double_row needs [K, 2, F] operands, got {list(s.shape)} and {list(m.shape)}")
        rows = 2
    mfree = s.free_size // rows
    nfree = m.free_size // rows
    if mfree > c.stationary_fmax:
        K.fail(instr, f"stationary free size {mfree} > {c.stationary_fmax} (tile rule TC#3) in shape {list(s.shape)}")
    if nfree > c.moving_fmax:
        K.fail(instr, f"moving free size {nfree} > {c.moving_fmax} (tile rule TC#3) in shape {list(m.shape)}")
    if is_transpose and c.version < 3:
        K.fail(instr, f"is_transpose needs NeuronCore-v3+ (target {c.target})")
    bank = _psum_dst(instr, d, c, bool(is_transpose), sn)
    if d.shape[0] != mfree or d.free_size != nfree:
        K.fail(instr, f"dst shape {list(d.shape)} != [{mfree}, {nfree}] = stationary free x moving free "
                      f"(stationary {list(s.shape)}, moving {list(m.shape)})")
    ts = tuple(int(x) for x in tile_size) if tile_size else ()
    tp = tuple(int(x) for x in tile_position) if tile_position else ()
    if ts:
        allowed = _TILE_SIZES.get(c.version, (128, 64, 32))
        if len(ts) != 2 or any(x not in allowed for x in ts):
            K.fail(instr, f"tile_size {list(ts)} must be two of {list(allowed)} on {c.target}")
        if k > ts[0] or mfree > ts[1]:
            K.fail(instr, f"operands [K={k}, M={mfree}] exceed tile_size {list(ts)}")
        if tp and (len(tp) != 2 or tp[0] % ts[0] or tp[1] % ts[1] or tp[0] + ts[0] > 128 or tp[1] + ts[1] > 128):
            K.fail(instr, f"tile_position {list(tp)} must be multiples of tile_size {list(ts)} inside the 128x128 array")
    acc = None if accumulate is None else bool(accumulate)
    attrs = {"dtype": sn, "moving_dtype": mn, "dst_dtype": dt.name(d.dtype), "K": k * rows,
             "stationary": mfree, "moving": nfree, "accumulate": acc, "perf_mode": pm,
             "is_transpose": bool(is_transpose), "psum_bank": bank, "tile_position": tp, "tile_size": ts,
             "is_stationary_onezero": bool(is_stationary_onezero), "is_moving_onezero": bool(is_moving_onezero)}
    K.record(c, "tensor", "nc_matmul", (s, m, d) if acc is not False else (s, m), (d,), attrs)
    if not c.timing_only:
        sv = K.get(s).reshape(k * rows, mfree) if rows == 1 else K.get(s).transpose(0, 1, 2).reshape(k * 2, mfree)
        mv = K.get(m).reshape(k * rows, nfree) if rows == 1 else K.get(m).reshape(k * 2, nfree)
        res = (sv.T @ mv).astype(np.float32, copy=False)
        _psum_store(d, res, acc, c)
    return d


def _psum_store(d: K.NkiTensor, res: np.ndarray, acc: bool | None, c: Any) -> None:
    out = d.np()
    res = res.reshape(out.shape)
    w = K.psum_written(d)
    if acc is False:
        new = res
    elif acc is True:
        if c.version < 4 and not w.all():
            c.warn("nc_matmul: accumulate=True onto PSUM not written by a matmul is undefined on "
                   f"NeuronCore-v{c.version} at {c.where()}")
        new = out.astype(np.float32) + res
    else:
        if w.all():
            new = out.astype(np.float32) + res
        elif not w.any():
            new = res
        else:
            new = np.where(w, out.astype(np.float32) + res, res)
    out[...] = dt.cast(new, d.dtype)
    w[...] = True


def transpose_tensor_engine(instr: str, d: K.NkiTensor, x: K.NkiTensor, c: Any) -> None:
    K.on_chip(x, instr, "data", ("sbuf",))
    K.on_chip(d, instr, "dst", ("psum",))
    p, f = x.shape[0], x.free_size
    if p > c.pmax or f > c.stationary_fmax:
        K.fail(instr, f"Tensor Engine transpose input [{p}, {f}] exceeds [{c.pmax}, {c.stationary_fmax}] "
                      f"in shape {list(x.shape)}")
    xn, dn = dt.name(x.dtype), dt.name(d.dtype)
    if not (dn == "float32" or (dn == xn and c.version >= 3)):
        K.fail(instr, f"dst dtype {dn} must be float32{' or the input dtype ' + xn if c.version >= 3 else ''} "
                      f"for a Tensor Engine transpose on {c.target}")
    if d.shape[0] != f or d.free_size != p:
        K.fail(instr, f"dst shape {list(d.shape)} != [{f}, {p}] (transpose of {list(x.shape)})")
    bank = _psum_dst(instr, d, c, True, xn)
    attrs = {"dtype": xn, "dst_dtype": dn, "K": p, "stationary": f, "moving": p, "accumulate": False,
             "perf_mode": "none", "is_transpose": True, "psum_bank": bank}
    K.record(c, "tensor", "nc_transpose", (x,), (d,), attrs)
    if not c.timing_only:
        K.put(d, x.np().reshape(p, f).T)
        K.psum_written(d)[...] = True

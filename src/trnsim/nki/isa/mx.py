"""NeuronCore-v4 microscaling (MX) instructions: ``quantize_mx`` and ``nc_matmul_mx``.

Layout (NKI docs): a scaling group is 8 partitions x 4 elements (one x4-packed element per partition).
The scale of group ``g = p // 8`` sits on partition ``32 * (g // 4) + g % 4`` of the scale tile, in the
same column as its packed data element. x4 packing: fp8 in uint32 (element 0 in the low byte),
fp4 in uint16 (element 0 in the low nibble).
"""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np

from trnsim.nki import dtypes as dt
from trnsim.nki import runtime
from trnsim.nki.isa import core as K
from trnsim.nki.isa.tensor_engine import _psum_dst, _psum_store

_ELEM = {"float8_e5m2_x4": ml_dtypes.float8_e5m2, "float8_e4m3fn_x4": ml_dtypes.float8_e4m3fn,
         "float4_e2m1fn_x4": ml_dtypes.float4_e2m1fn}
_EMAX = {"float8_e5m2_x4": 15, "float8_e4m3fn_x4": 8}
_FMAX = {"float8_e5m2_x4": 57344.0, "float8_e4m3fn_x4": 448.0, "float4_e2m1fn_x4": 6.0}
GROUP_P, GROUP_F = 8, 4  # scaling group: 8 partitions x 4 elements


def unpack(bits: np.ndarray, name: str) -> np.ndarray:
    """x4-packed storage [..., F4] -> float32 [..., F4, 4]."""
    if name == "float4_e2m1fn_x4":
        b = bits.astype(np.uint16)
        codes = np.stack([(b >> (4 * i)) & 0xF for i in range(4)], axis=-1).astype(np.uint8)
        return codes.view(ml_dtypes.float4_e2m1fn).astype(np.float32)
    b = np.ascontiguousarray(bits.astype(np.uint32))
    return b.view(np.uint8).reshape(bits.shape + (4,)).view(_ELEM[name]).astype(np.float32)


def pack(values: np.ndarray, name: str) -> np.ndarray:
    """float [..., F4, 4] -> x4-packed storage [..., F4] (saturating cast)."""
    v = np.clip(values, -_FMAX[name], _FMAX[name]).astype(_ELEM[name])
    if name == "float4_e2m1fn_x4":
        codes = v.view(np.uint8).astype(np.uint16) & 0xF
        return sum(codes[..., i] << (4 * i) for i in range(4)).astype(np.uint16)
    return np.ascontiguousarray(v).view(np.uint8).reshape(values.shape).view(np.uint32).reshape(values.shape[:-1])


def scale_rows(p: int) -> np.ndarray:
    """Partition of each group's scale: group g -> 32 * (g // 4) + g % 4."""
    g = np.arange(p // GROUP_P)
    return 32 * (g // 4) + g % 4


def _x4_name(t: K.NkiTensor, instr: str, role: str) -> str:
    n = dt.name(t.dtype)
    if n not in _ELEM:
        K.fail(instr, f"{role} dtype {n} must be float8_e5m2_x4, float8_e4m3fn_x4 or float4_e2m1fn_x4")
    return n


def _scale_check(t: K.NkiTensor, instr: str, role: str) -> None:
    if dt.name(t.dtype) not in ("float8_e8m0fnu", "uint8"):
        K.fail(instr, f"{role} dtype {dt.name(t.dtype)} must be float8_e8m0fnu or uint8")


def _scale_values(t: K.NkiTensor, p: int, f4: int) -> np.ndarray:
    """Scale exponents (biased) per (group, column) -> float factors [p // 8, f4]."""
    raw = t.np().reshape(t.shape[0], -1)
    bits = raw.view(np.uint8) if raw.dtype != np.uint8 else raw
    e = bits[scale_rows(p)][:, :f4].astype(np.int32) - 127
    return np.exp2(np.clip(e, -127, 127)).astype(np.float32)


def _v4(instr: str, c: Any) -> None:
    if c.version < 4:
        K.fail(instr, f"needs NeuronCore-v4 (target {c.target})")


def quantize_mx(dst: Any, src: Any, dst_scale: Any, name: Any = None) -> Any:
    instr = "quantize_mx"
    c = runtime.current()
    _v4(instr, c)
    d, s, sc = (K.tensor(x, instr, r) for x, r in ((dst, "dst"), (src, "src"), (dst_scale, "dst_scale")))
    for t, r in ((d, "dst"), (s, "src"), (sc, "dst_scale")):
        K.on_chip(t, instr, r, ("sbuf",))
        K.tile(t, instr, r, c)
    if dt.name(s.dtype) not in ("bfloat16", "float16"):
        K.fail(instr, f"src dtype {dt.name(s.dtype)} must be bfloat16 or float16")
    dn = _x4_name(d, instr, "dst")
    if dn == "float4_e2m1fn_x4":
        K.fail(instr, "dst must be float8_e5m2_x4 or float8_e4m3fn_x4 (MXFP8)")
    _scale_check(sc, instr, "dst_scale")
    p, f = s.shape[0], s.free_size
    if p % 32 or f % GROUP_F:
        K.fail(instr, f"src [{p}, {f}]: partitions must be a multiple of 32 and free size a multiple of 4")
    if d.shape[0] != p or d.free_size * GROUP_F != f:
        K.fail(instr, f"dst shape {list(d.shape)} must be [{p}, {f // 4}] for src {list(s.shape)}")
    if sc.shape[0] < min(p, 32) or sc.free_size < f // 4:
        K.fail(instr, f"dst_scale shape {list(sc.shape)} too small for src {list(s.shape)}")
    K.record(c, "vector", instr, (s,), (d, sc), {"dtype": dt.name(s.dtype), "dst_dtype": dn})
    if not c.timing_only:
        v = K.get(s).reshape(p, f // 4, 4).astype(np.float32)
        grp = np.abs(v).reshape(p // GROUP_P, GROUP_P, f // 4, 4).max(axis=(1, 3))
        with np.errstate(divide="ignore"):
            x = np.where(grp > 0, np.floor(np.log2(np.where(grp > 0, grp, 1))) - (_EMAX[dn] - 1), -127)
        x = np.clip(x, -127, 127)
        factors = np.repeat(np.exp2(x), GROUP_P, axis=0)[:, :, None]
        d.np()[...] = pack(v / factors, dn).reshape(d.shape)
        out = sc.np().reshape(sc.shape[0], -1)
        vals = (x + 127).astype(np.uint8)
        if out.dtype == np.uint8:
            out[scale_rows(p), : f // 4] = vals
        else:
            out.view(np.uint8)[scale_rows(p), : f // 4] = vals
    return d


def nc_matmul_mx(dst: Any, stationary: Any, moving: Any, stationary_scale: Any, moving_scale: Any,
                 tile_position: Any = None, tile_size: Any = None, accumulate: Any = None, name: Any = None) -> Any:
    """``dst[M, N] (+)= sum_k,q S[k, m, q] * s_scale * M[k, n, q] * m_scale`` (MXFP8/MXFP4, NeuronCore-v4)."""
    instr = "nc_matmul_mx"
    c = runtime.current()
    _v4(instr, c)
    d = K.tensor(dst, instr, "dst")
    s, m = K.tensor(stationary, instr, "stationary"), K.tensor(moving, instr, "moving")
    ss, ms = K.tensor(stationary_scale, instr, "stationary_scale"), K.tensor(moving_scale, instr, "moving_scale")
    for t, r in ((s, "stationary"), (m, "moving"), (ss, "stationary_scale"), (ms, "moving_scale")):
        K.on_chip(t, instr, r, ("sbuf",))
        K.tile(t, instr, r, c)
    sn, mn = _x4_name(s, instr, "stationary"), _x4_name(m, instr, "moving")
    _scale_check(ss, instr, "stationary_scale")
    _scale_check(ms, instr, "moving_scale")
    k = s.shape[0]
    if m.shape[0] != k:
        K.fail(instr, f"contraction (partition) dims differ: {list(s.shape)} vs {list(m.shape)} (layout rule LC#1)")
    if k % 32 or k > c.pmax:
        K.fail(instr, f"partition size {k} must be a multiple of 32 and <= {c.pmax}")
    mf, nf = s.free_size, m.free_size
    if mf > c.stationary_fmax or mf % 2:
        K.fail(instr, f"stationary free size {mf} must be even and <= {c.stationary_fmax} (tile rule TC#3)")
    dn = dt.name(d.dtype)
    nmax = c.bank_bytes * c.memory.banks // (4 if dn == "float32" else 2)
    if nf > nmax:
        K.fail(instr, f"moving free size {nf} > {nmax} for a {dn} dst (tile rule TC#3)")
    bank = _psum_dst(instr, d, c, False, sn)
    if d.shape[0] != mf or d.free_size != nf:
        K.fail(instr, f"dst shape {list(d.shape)} != [{mf}, {nf}]")
    acc = None if accumulate is None else bool(accumulate)
    attrs = {"dtype": sn, "moving_dtype": mn, "dst_dtype": dn, "K": k * 4, "stationary": mf, "moving": nf,
             "accumulate": acc, "perf_mode": "mx", "is_transpose": False, "psum_bank": bank,
             "tile_position": tuple(tile_position or ()), "tile_size": tuple(tile_size or ())}
    K.record(c, "tensor", instr, (s, m, ss, ms) + ((d,) if acc is not False else ()), (d,), attrs)
    if not c.timing_only:
        sv = unpack(s.np().reshape(k, mf), sn) * np.repeat(_scale_values(ss, k, mf), GROUP_P, axis=0)[:, :, None]
        mv = unpack(m.np().reshape(k, nf), mn) * np.repeat(_scale_values(ms, k, nf), GROUP_P, axis=0)[:, :, None]
        res = np.einsum("kiq,kjq->ij", sv, mv).astype(np.float32)
        _psum_store(d, res, acc, c)
    return d

"""NKI data types on top of NumPy / ml_dtypes.

Regular types are plain NumPy dtypes (``nl.bfloat16 is ml_dtypes.bfloat16``), so kernels can compare
``t.dtype == nl.float32`` and pass ``dtype=x.dtype`` around. ``tfloat32`` and the MX x4-packed types have
no NumPy equivalent: they are :class:`SpecialDType` objects stored in a NumPy carrier type.
"""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np

from trnsim.errors import TrnsimError


class DTypeError(TrnsimError):
    """An unsupported or mismatched data type."""


class SpecialDType:
    """A dtype NumPy lacks: values live in ``storage`` (tfloat32 in float32, x4 types in uint32)."""

    def __init__(self, name: str, storage: Any, packed: int = 1):
        self.name = name
        self.storage = np.dtype(storage)
        self.itemsize = self.storage.itemsize
        self.packed = packed
        self.kind = "f"

    def __repr__(self) -> str:
        return f"nl.{self.name}"

    def __reduce__(self):  # pragma: no cover - pickling support
        return (_special, (self.name,))


tfloat32 = SpecialDType("tfloat32", np.float32)
float8_e5m2_x4 = SpecialDType("float8_e5m2_x4", np.uint32, packed=4)
float8_e4m3fn_x4 = SpecialDType("float8_e4m3fn_x4", np.uint32, packed=4)
float4_e2m1fn_x4 = SpecialDType("float4_e2m1fn_x4", np.uint16, packed=4)
float32r = SpecialDType("float32r", np.float32)  # old API "fp32 replicated" matmul mode: fp32 numerics
_SPECIALS = {d.name: d for d in (tfloat32, float8_e5m2_x4, float8_e4m3fn_x4, float4_e2m1fn_x4, float32r)}


def _special(name: str) -> SpecialDType:
    return _SPECIALS[name]


bool_ = np.uint8
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float16, float32, float64 = np.float16, np.float32, np.float64
bfloat16 = ml_dtypes.bfloat16
float8_e4m3 = ml_dtypes.float8_e4m3
float8_e4m3fn = ml_dtypes.float8_e4m3fn
float8_e5m2 = ml_dtypes.float8_e5m2
float8_e8m0fnu = ml_dtypes.float8_e8m0fnu
float4_e2m1fn = ml_dtypes.float4_e2m1fn

_ALIASES = {"bf16": "bfloat16", "fp32": "float32", "fp16": "float16", "tf32": "tfloat32",
            "fp8": "float8_e4m3", "bool": "uint8", "bool_": "uint8"}
_CACHE: dict[Any, Any] = {}


def canon(dt: Any) -> Any:
    """A NumPy dtype or a :class:`SpecialDType` for any dtype spelling (type, dtype, string)."""
    try:
        return _CACHE[dt]
    except (KeyError, TypeError):
        pass
    if isinstance(dt, SpecialDType):
        return dt
    out: Any
    if isinstance(dt, str):
        name = _ALIASES.get(dt, dt)
        if name in _SPECIALS:
            out = _SPECIALS[name]
        elif hasattr(ml_dtypes, name):
            out = np.dtype(getattr(ml_dtypes, name))
        else:
            try:
                out = np.dtype(name)
            except TypeError:
                raise DTypeError(f"unknown dtype {dt!r}") from None
    else:
        if dt is bool:
            dt = np.uint8
        try:
            out = np.dtype(dt)
        except TypeError:
            raise DTypeError(f"unknown dtype {dt!r}") from None
        if out == np.bool_:
            out = np.dtype(np.uint8)
    try:
        _CACHE[dt] = out
    except TypeError:
        pass
    return out


def storage(dt: Any) -> np.dtype:
    d = canon(dt)
    return d.storage if isinstance(d, SpecialDType) else d


_NAMES: dict[Any, str] = {}


def name(dt: Any) -> str:
    try:
        return _NAMES[dt]
    except (KeyError, TypeError):
        pass
    n = canon(dt).name
    try:
        _NAMES[dt] = n
    except TypeError:
        pass
    return n


def itemsize(dt: Any) -> int:
    return canon(dt).itemsize


def is_int(dt: Any) -> bool:
    d = canon(dt)
    return not isinstance(d, SpecialDType) and d.kind in "iub"


def is_fp8(dt: Any) -> bool:
    return name(dt).startswith("float8")


def sentinel(dt: Any) -> Any:
    """Fill value of uninitialised memory: NaN for floats, 4 for integers (like the NKI simulator)."""
    return 4 if is_int(dt) or (isinstance(canon(dt), SpecialDType) and canon(dt).packed > 1) else np.nan


def _round_tf32(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float32)
    bits = a.view(np.uint32)
    lsb = (bits >> np.uint32(13)) & np.uint32(1)
    r = ((bits + np.uint32(0x0FFF) + lsb) & np.uint32(0xFFFFE000)).view(np.float32)
    return np.where(np.isfinite(a), r, a)


def cast(values: Any, dt: Any) -> np.ndarray:
    """``values`` converted to ``dt`` storage with hardware rounding: floats round to nearest even,
    float->int rounds to nearest even and saturates."""
    d = canon(dt)
    v = np.asarray(values)
    if isinstance(d, SpecialDType):
        if d is tfloat32:
            return _round_tf32(v.astype(np.float32, copy=False))
        if d is float32r:
            return v.astype(np.float32, copy=False)
        return v.astype(d.storage, copy=False)
    if d.kind in "iu" and v.dtype.kind not in "iub":
        info = np.iinfo(d)
        with np.errstate(invalid="ignore"):
            f = np.rint(v.astype(np.float64, copy=False))
            f = np.nan_to_num(f, nan=0.0, posinf=info.max, neginf=info.min)
            return np.clip(f, info.min, info.max).astype(d)
    if v.dtype == d:
        return v
    with np.errstate(over="ignore", invalid="ignore"):
        return v.astype(d)

"""Argument processing shared by the old-API wrappers: masks, bounds checks, deferred matmuls."""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from trnsim.nki import isa as _isa
from trnsim.nki import runtime as _rt
from trnsim.nki.isa import core as _K
from trnsim.nki.language import ops as _ops
from trnsim.nki.legacy.compiler import DirectTensor
from trnsim.nki.legacy.index import LegacyView, Mask, check_bounds, restrict
from trnsim.nki.tensor import NkiTensor


class DeferredMatmul:
    """Result of an old-API ``nisa.nc_matmul(a, b)`` / ``nl.matmul``: executes when consumed, either as
    ``psum += result`` (accumulating matmul into that tile) or into a fresh fp32 PSUM tile."""

    def __init__(self, stationary: NkiTensor, moving: NkiTensor, kw: dict[str, Any]):
        self.stationary, self.moving, self.kw = stationary, moving, kw
        rows = 2 if str(getattr(kw.get("perf_mode"), "value", kw.get("perf_mode"))).startswith("double_row") else 1
        self.shape = (stationary.free_size // rows, moving.free_size // rows)
        self.dtype = np.float32
        self._t: NkiTensor | None = None

    def accumulate_into(self, t: NkiTensor) -> None:
        if self._t is not None:
            _isa.tensor_tensor(dst=t, data1=t, data2=self._t, op="add")
            return
        _isa.nc_matmul(dst=t, stationary=self.stationary, moving=self.moving, **self.kw)

    def assign_into(self, t: NkiTensor) -> None:
        if self._t is not None or t.storage.space != "psum":
            src = self.materialize()
            _isa.assign(t, src)
            return
        _isa.nc_matmul(dst=t, stationary=self.stationary, moving=self.moving, accumulate=False, **self.kw)

    def materialize(self) -> NkiTensor:
        if self._t is None:
            t = _rt.current().alloc(self.shape, np.float32, "psum")
            _isa.nc_matmul(dst=t, stationary=self.stationary, moving=self.moving, accumulate=False, **self.kw)
            self._t = t
        return self._t

    def __getitem__(self, idx: Any) -> NkiTensor:
        return self.materialize()[idx]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.materialize(), name)

    def __add__(self, o: Any) -> Any:
        return self.materialize() + o

    __radd__ = __add__


class DeferredReduce:
    """Result of old-API ``nl.loop_reduce(x, op)``: assigned into a tile it reduces into it (``dst = op(dst, x)``);
    used anywhere else it is ``x``."""

    def __init__(self, x: NkiTensor, op: Any, dtype: Any = None):
        self.x, self.op, self.dtype_ = x, op, dtype
        self.shape, self.dtype = x.shape, (dtype or x.dtype)

    def assign_into(self, t: NkiTensor) -> None:
        _isa.tensor_tensor(dst=t, data1=t, data2=self.x, op=self.op)

    def materialize(self) -> NkiTensor:
        return self.x

    def __getitem__(self, idx: Any) -> NkiTensor:
        return self.x[idx]


def materialize(x: Any) -> Any:
    if isinstance(x, (DeferredMatmul, DeferredReduce)):
        return x.materialize()
    if isinstance(x, DirectTensor):
        _K.fail("operand", f"{x.name} {list(x.shape)} has block dims; index one block first")
    return x


_K.MATERIALIZE = materialize


_MASK: list[Any] = [None]  # (ranges, sizes) of the masked call in progress
_FULL: dict[int, NkiTensor] = {}


def _masked_alloc(shape: tuple, dtype: Any, space: str) -> NkiTensor:
    """Allocate the full (unmasked) tile; hand back the masked region (the instruction writes only that)."""
    c = _rt.current()
    ranges, sizes = _MASK[0]
    k = len(shape)
    full, sl = list(shape), []
    for d, n in enumerate(shape):
        rp = k - 1 - d
        if rp in ranges and n == ranges[rp][1] - ranges[rp][0] and sizes.get(rp, n) > n:
            full[d] = sizes[rp]
            sl.append(slice(ranges[rp][0], ranges[rp][1]))
        else:
            sl.append(slice(None))
    if len(full) < 2:
        full = full + [1] * (2 - len(full))
        sl = sl + [slice(None)] * (2 - len(sl))
    t = c.alloc(tuple(full), dtype, space)
    v = t[tuple(sl)] if full != list(shape) else t
    _FULL[id(v)] = t
    return v


def full_result(res: Any) -> Any:
    if isinstance(res, NkiTensor):
        return _FULL.get(id(res), res)
    if isinstance(res, tuple):
        return tuple(full_result(r) for r in res)
    return res


def begin(mask_info: Any) -> Any:
    prev = (_MASK[0], _ops.ALLOC_HOOK[0])
    if mask_info is not None:
        _MASK[0] = mask_info
        _ops.ALLOC_HOOK[0] = _masked_alloc
    return prev


def end(prev: Any, res: Any) -> Any:
    out = full_result(res) if _MASK[0] is not None else res
    _MASK[0], _ops.ALLOC_HOOK[0] = prev
    if _MASK[0] is None:
        _FULL.clear()
    return out


def mask_info(mask: Any) -> Any:
    if not isinstance(mask, Mask):
        return None
    sizes: dict[int, int] = {}
    for e, _ in mask.terms:
        for k, v in e.sizes.items():
            sizes[k] = max(sizes.get(k, 1), v)
    return mask.ranges(), sizes


def prepare(name: str, args: tuple, kw: dict, mask: Any) -> tuple[tuple, dict]:
    if mask is not None and not isinstance(mask, Mask):
        if mask is True:
            mask = None
        else:
            raise _K.IsaError(f"{name}: mask must be an affine comparison of nl.arange/mgrid indices")
    if mask is None:
        for a in list(args) + list(kw.values()):
            check_bounds(a, name)
        return args, kw
    ranges = mask.ranges()
    nd = max([a.space_ndim for a in list(args) + list(kw.values()) if isinstance(a, LegacyView)] or [2])
    args = tuple(restrict(materialize(a), ranges, nd) for a in args)
    kw = {k: restrict(materialize(v), ranges, nd) for k, v in kw.items()}
    return args, kw


def legacy(fn: Callable, name: str | None = None) -> Callable:
    """Wrap a value-returning function so it accepts ``mask=`` and old-API index views."""
    nm = name or fn.__name__

    @functools.wraps(fn)
    def wrapper(*args: Any, mask: Any = None, **kw: Any) -> Any:
        args, kw = prepare(nm, args, kw, mask)
        prev = _ops.LENIENT[0]
        _ops.LENIENT[0] = True
        state = begin(mask_info(mask))
        res = None
        try:
            res = fn(*args, **kw)
        finally:
            res = end(state, res)
            _ops.LENIENT[0] = prev
        return res

    return wrapper

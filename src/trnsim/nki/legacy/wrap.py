"""Argument processing shared by the old-API wrappers: masks, bounds checks, deferred matmuls."""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from trnsim.nki import isa as _isa
from trnsim.nki import runtime as _rt
from trnsim.nki.isa import core as _K
from trnsim.nki.legacy.index import LegacyView, Mask, check_bounds, restrict
from trnsim.nki.tensor import NkiTensor


class DeferredMatmul:
    """Result of an old-API ``nisa.nc_matmul(a, b)`` / ``nl.matmul``: executes when consumed, either as
    ``psum += result`` (accumulating matmul into that tile) or into a fresh fp32 PSUM tile."""

    def __init__(self, stationary: NkiTensor, moving: NkiTensor, kw: dict[str, Any]):
        self.stationary, self.moving, self.kw = stationary, moving, kw
        rows = 2 if str(getattr(kw.get("perf_mode"), "value", kw.get("perf_mode"))) == "double_row" else 1
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


def materialize(x: Any) -> Any:
    return x.materialize() if isinstance(x, DeferredMatmul) else x


_K.MATERIALIZE = materialize


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
        return fn(*args, **kw)

    return wrapper

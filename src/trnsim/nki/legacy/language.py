"""``neuronxcc.nki.language``: the ``nki.language`` functions plus ``arange``/``mgrid``/``par_dim``, ``mask=``
on every operation, and value-returning ``matmul`` that can be accumulated with ``psum += ...``."""

from __future__ import annotations

from typing import Any

import numpy as np

from trnsim.nki import isa as _isa
from trnsim.nki import language as _nl
from trnsim.nki.language import *  # noqa: F401,F403
from trnsim.nki.language import ops as _ops
from trnsim.nki.language.core import ParDim, par_dim  # noqa: F401
from trnsim.nki.legacy.index import Expr, Mask, arange, mgrid  # noqa: F401
from trnsim.nki.legacy.compiler import traced_loop
from trnsim.nki.legacy.wrap import DeferredMatmul, DeferredReduce, legacy, materialize, prepare
from trnsim.nki.tensor import NkiTensor

_WRAPPED = [n for n in dir(_ops) if not n.startswith("_") and callable(getattr(_ops, n))
            and getattr(getattr(_ops, n), "__module__", "") == _ops.__name__ and n not in ("static_cast",)]
for _n in _WRAPPED:
    globals()[_n] = legacy(getattr(_nl, _n, getattr(_ops, _n)))
for _n in _ops._UNARY:
    globals()[_n] = legacy(getattr(_nl, _n))


def matmul(x: Any, y: Any, transpose_x: bool = False, mask: Any = None, **kw: Any) -> Any:
    """Old ``nl.matmul``: a deferred TensorE matmul (``psum += nl.matmul(a, b, transpose_x=True)``)."""
    (x, y), _ = prepare("nl.matmul", (x, y), {}, mask)
    x, y = _to_sbuf(materialize(x)), _to_sbuf(materialize(y))
    if not transpose_x:
        xt = _nl.transpose(x)
        xs = _ops._new(xt.shape, x.dtype)
        _isa.tensor_copy(dst=xs, src=xt)
        x = xs
    return DeferredMatmul(x, y, {})


def _to_sbuf(t: Any) -> Any:
    """The old front end evicted PSUM operands of nl.matmul to SBUF itself."""
    if isinstance(t, NkiTensor) and t.storage.space == "psum":
        s = _ops._new(t.shape, t.dtype)
        _isa.tensor_copy(dst=s, src=t)
        return s
    return t


def ndarray(shape: Any, dtype: Any = np.float32, buffer: Any = None, name: str | None = None, **kw: Any) -> NkiTensor:
    return _nl.ndarray(shape, dtype, buffer, name, **kw)


class _TracedRange:
    """``affine_range``/``sequential_range``: a range whose body NKI 0.1 traces once (direct allocations in it
    keep the first iteration's placement, see :func:`trnsim.nki.legacy.compiler.traced_loop`)."""

    def __init__(self, *args: Any):
        self.r = range(*[int(a) for a in args])

    def __iter__(self) -> Any:
        return traced_loop(self.r)

    def __len__(self) -> int:
        return len(self.r)

    def __getitem__(self, i: Any) -> Any:
        return self.r[i]

    def __repr__(self) -> str:
        return f"affine_range({self.r.start}, {self.r.stop}, {self.r.step})"


def affine_range(*args: Any, **_k: Any) -> _TracedRange:
    return _TracedRange(*args)


sequential_range = affine_range


def static_range(*args: Any, **_k: Any) -> range:
    """Fully unrolled at trace time: every iteration is its own declaration."""
    return range(*[int(a) for a in args])


def loop_reduce(x: Any, op: Any, loop_indices: Any = None, dtype: Any = None, mask: Any = None, **_k: Any) -> Any:
    """``dst[...] = nl.loop_reduce(x, op, ...)``: ``dst = op(dst, x)`` (the destination is also an operand)."""
    (x,), _ = prepare("nl.loop_reduce", (x,), {}, mask)
    return DeferredReduce(materialize(x), op, dtype)


def all_reduce(*_a: Any, **_k: Any) -> Any:
    raise NotImplementedError("nl.all_reduce (collectives) is not simulated")


def atomic_rmw(dst: Any, value: Any, op: Any, mask: Any = None, **_k: Any) -> None:
    (dst, value), _ = prepare("nl.atomic_rmw", (dst, value), {}, mask)
    v = materialize(value)
    if v.storage.space == "psum":
        tmp = _ops._new(v.shape, v.dtype)
        _isa.tensor_copy(dst=tmp, src=v)
        v = tmp
    _isa.dma_compute(dst=dst, srcs=[dst, v], reduce_op=op)


def random_seed(seed: Any, mask: Any = None, **_k: Any) -> None:
    """Old ``nl.random_seed(seed)``: seed the Vector Engine PRNG from a 32-bit scalar (or a [1, 1] tile)."""
    from trnsim.nki.isa import core as _K
    from trnsim.nki.isa.prng import seed_vector

    if isinstance(seed, float) and seed.is_integer():
        seed = int(seed)
    if not isinstance(seed, (int, np.integer, NkiTensor)):
        _K.fail("random_seed", f"seed must be a 32-bit integer scalar or a [1, 1] tile, got {seed!r}")
    seed_vector("random_seed", materialize(seed))


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("annotations", "np", "Any")]

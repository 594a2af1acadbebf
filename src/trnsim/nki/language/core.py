"""``nki.language`` core: memories, dtypes, tile sizes, creation, loops, SPMD ids, load/store/copy."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from trnsim.nki import dtypes as _dt
from trnsim.nki import isa as _isa
from trnsim.nki import runtime as _rt
from trnsim.nki.dtypes import (bfloat16, bool_, float4_e2m1fn_x4, float8_e4m3, float8_e4m3fn, float8_e4m3fn_x4,
                               float8_e5m2, float8_e5m2_x4, float8_e8m0fnu, float16, float32, float32r, int8, int16,
                               int32, tfloat32, uint8, uint16, uint32)
from trnsim.nki.isa import core as _K
from trnsim.nki.tensor import (DynSlice, MemSpace, NkiTensor, ds, hbm, private_hbm, psum, sbuf, shared_hbm,
                               SPACES)

float64 = np.float64
int64, uint64 = np.int64, np.uint64


class _FInfo:
    def __init__(self, d: Any):
        f = np.finfo(np.float32) if d in (None, np.float32) else np.finfo(d)
        self.min, self.max, self.eps, self.tiny = float(f.min), float(f.max), float(f.eps), float(f.tiny)


fp32 = _FInfo(np.float32)


def finfo(d: Any) -> _FInfo:
    return _FInfo(_dt.storage(d))


class NKIObject:
    """Base class for user objects passed around in kernels (NKI >= 0.6); a plain Python object here."""


class ParDim:
    """Old API ``nl.par_dim(n)``: marks the partition dim; dims before it are block dims."""

    def __init__(self, n: int):
        self.n = int(n)

    def __index__(self) -> int:
        return self.n

    def __int__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"par_dim({self.n})"


def par_dim(n: int) -> ParDim:
    return ParDim(n)


class _TileSize:
    """``nl.tile_size``: hardware tile limits of the current target (from the hardware catalog)."""

    def _c(self) -> Any:
        c = _rt.current_or_none()
        if c is not None:
            return c.core
        return _rt.load_target_core(_rt.default_target())

    @property
    def pmax(self) -> int:
        return int(self._c().sbuf.partitions)

    @property
    def psum_bank_fmax_bytes(self) -> int:
        return int(self._c().psum.bank_bytes_per_partition.si)

    @property
    def psum_bank_fmax(self) -> int:
        return self.psum_bank_fmax_bytes // 4

    psum_fmax = psum_bank_fmax

    @property
    def psum_num_banks(self) -> int:
        return int(self._c().psum.banks)

    @property
    def gemm_stationary_fmax(self) -> int:
        return int(self._c().tensor.stationary_fmax)

    @property
    def gemm_moving_fmax(self) -> int:
        return int(self._c().tensor.moving_fmax)

    @property
    def bn_stats_fmax(self) -> int:
        return 512

    @property
    def sbuf_size_bytes(self) -> int:
        c = self._c()
        return int(c.sbuf.bytes_per_partition.si) * int(c.sbuf.partitions)

    @property
    def total_available_sbuf_size(self) -> int:
        return int(self._c().sbuf.bytes_per_partition.si)

    sbuf_fmax_bytes = total_available_sbuf_size

    @property
    def sbuf_fmax(self) -> int:
        return self.total_available_sbuf_size // 4

    @property
    def psum_min_align(self) -> int:
        return 8

    @property
    def sbuf_min_align(self) -> int:
        return 32


tile_size = _TileSize()


def _space(buffer: Any, default: str = "sbuf") -> str:
    if buffer is None:
        return default
    if isinstance(buffer, MemSpace):
        return buffer.name
    if isinstance(buffer, str) and buffer in SPACES:
        return buffer
    name = getattr(buffer, "name", None) or getattr(buffer, "__name__", None)
    if name in SPACES:
        return name
    raise _K.IsaError(f"nl.ndarray: unknown buffer {buffer!r}")


def ndarray(shape: Any, dtype: Any = float32, buffer: Any = None, name: str | None = None, address: Any = None,
            **_kw: Any) -> NkiTensor:
    """An uninitialised tensor (NaN/sentinel filled). ``par_dim`` marks block dims (old API).

    ``address=(partition, byte)`` places it explicitly (the tile shares its bytes with every tile placed on the
    same rectangle); an old-API direct-allocation ``buffer=`` (``ncc.sbuf.mod_alloc(...)``) places each block."""
    c = _rt.current()
    declare = getattr(buffer, "declare", None)
    if declare is not None:
        if address is not None:
            _K.fail("nl.ndarray", "give either address= or a direct-allocation buffer=, not both")
        return declare(c, shape, dtype, name)
    space = _space(buffer)
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    k = next((i for i, s in enumerate(shape) if isinstance(s, ParDim)), None)
    dims = [int(s) for s in shape]
    if space in ("sbuf", "psum") and dims and dims[0] > c.pmax and k is None:
        _K.fail("nl.ndarray", f"partition dim {dims[0]} > {c.pmax} (tile rule TC#1) in shape {dims}")
    if k is None or k == 0 or space not in ("sbuf", "psum"):
        return c.alloc(dims, dtype, space, name, address=address)
    # block dims in front of the partition dim: storage (P, *blocks, *free), viewed as (*blocks, P, *free)
    if dims[k] > c.pmax:
        _K.fail("nl.ndarray", f"partition dim {dims[k]} > {c.pmax} (tile rule TC#1) in shape {dims}")
    st_shape = [dims[k]] + dims[:k] + dims[k + 1:]
    base = c.alloc(st_shape, dtype, space, name, address=address)
    order = list(range(1, k + 1)) + [0] + list(range(k + 1, len(dims)))
    return base.permute(order)


def zeros(shape: Any, dtype: Any = float32, buffer: Any = None, name: str | None = None, **kw: Any) -> NkiTensor:
    return full(shape, 0, dtype, buffer, name, **kw)


def ones(shape: Any, dtype: Any = float32, buffer: Any = None, name: str | None = None, **kw: Any) -> NkiTensor:
    return full(shape, 1, dtype, buffer, name, **kw)


def full(shape: Any, fill_value: Any, dtype: Any = float32, buffer: Any = None, name: str | None = None,
         **kw: Any) -> NkiTensor:
    t = ndarray(shape, dtype, buffer, name, **kw)
    if t.on_chip:
        _fill(t, fill_value)
    else:
        arr = t.storage.array
        if arr is not None:
            t.np()[...] = _dt.cast(np.full(t.shape, fill_value), dtype)
    return t


def _fill(t: Any, value: Any) -> None:
    if hasattr(t, "tiles"):  # old-API direct-allocated tensor with block dims: one memset per logical tile
        for tile in t.tiles():
            _isa.memset(dst=tile, value=value)
        return
    if t.ndim >= 3 and t.strides[0] != t.storage.fsize and t.shape[0] > 1:  # block dims: one memset per block
        for b in range(t.shape[0]):
            _fill(t[b], value)
        return
    _isa.memset(dst=t, value=value)


def zeros_like(a: Any, dtype: Any = None, buffer: Any = None, name: str | None = None) -> NkiTensor:
    return zeros(a.shape, dtype or a.dtype, buffer or getattr(a, "buffer", None), name)


def ones_like(a: Any, dtype: Any = None, buffer: Any = None, name: str | None = None) -> NkiTensor:
    return ones(a.shape, dtype or a.dtype, buffer or getattr(a, "buffer", None), name)


def empty_like(a: Any, dtype: Any = None, buffer: Any = None, name: str | None = None) -> NkiTensor:
    return ndarray(a.shape, dtype or a.dtype, buffer or getattr(a, "buffer", None), name)


def full_like(a: Any, fill_value: Any, dtype: Any = None, buffer: Any = None) -> NkiTensor:
    return full(a.shape, fill_value, dtype or a.dtype, buffer or getattr(a, "buffer", None))


def shared_constant(constant: Any, dtype: Any = None, **_k: Any) -> NkiTensor:
    arr = np.asarray(np.load(constant) if isinstance(constant, str) else constant)
    d = dtype or arr.dtype
    t = _rt.current().alloc(arr.shape, d, "shared_hbm")
    if t.storage.array is not None:
        t.np()[...] = _dt.cast(arr, d)
    return t


def shared_identity_matrix(n: int, dtype: Any = uint8, **_k: Any) -> NkiTensor:
    return shared_constant(np.eye(int(n)), dtype)


def rand(shape: Any, dtype: Any = float32, buffer: Any = None, name: Any = None, **_k: Any) -> NkiTensor:
    """A new tensor of uniform [0, 1) values drawn from the Vector Engine PRNG (see ``nisa.set_rng_seed``)."""
    from trnsim.nki.isa import prng as _rng

    c = _rt.current()
    t = ndarray(shape, dtype, buffer, name or None)
    _K.record(c, "vector", "rand", (), (t,), {"dtype": _dt.name(t.dtype)})
    if not c.timing_only:
        _K.put(t, _rng.uniform(c, "vector", t))
    return t


def random_seed(seed: Any) -> None:
    """Seed the Vector Engine PRNG from a [1, 1] 32-bit tensor in SBUF/PSUM (same values after the same seed)."""
    from trnsim.nki.isa import prng as _rng

    if not isinstance(seed, NkiTensor):
        _K.fail("random_seed", f"seed must be a [1, 1] tensor on SBUF or PSUM, got {type(seed).__name__}")
    _rng.seed_vector("random_seed", seed)


# ------------------------------------------------------------------ loops and control
def affine_range(*args: Any, **_k: Any) -> range:
    return range(*[int(a) for a in args])


sequential_range = static_range = dynamic_range = affine_range


def fori_loop(lower: int, upper: int, body_fun: Any, step: int = 1, *init: Any) -> Any:
    state = init[0] if init else None
    for i in range(int(lower), int(upper), int(step)):
        r = body_fun(i) if state is None else body_fun(i, state)
        if r is not None:
            state = r
    return state


def while_loop(cond_reg: Any, body_fun: Any) -> None:
    cond = cond_reg
    guard = 0
    while int(getattr(cond, "value", cond)):
        r = body_fun()
        if r is not None:
            cond = r
        guard += 1
        if guard > 10_000_000:
            raise _K.IsaError("nl.while_loop: more than 10M iterations")


@contextlib.contextmanager
def no_reorder():
    yield


def program_id(axis: int = 0) -> int:
    pid = _rt.current().program_id
    return pid[axis] if axis < len(pid) else 0


def num_programs(axes: Any = 0) -> Any:
    g = _rt.current().grid or (1,)
    if isinstance(axes, (tuple, list)):
        out = 1
        for a in axes:
            out *= g[a] if a < len(g) else 1
        return out
    return g[axes] if axes < len(g) else 1


def program_ndim() -> int:
    return len(_rt.current().grid)


class nc:  # noqa: N801 - old API name
    """Old API ``nl.nc(n)``: map a grid axis onto physical NeuronCores (run serially here)."""

    def __init__(self, n: int):
        self.n = int(n)

    def __mul__(self, other: Any) -> int:
        return self.n * int(other)

    __rmul__ = __mul__

    def __int__(self) -> int:
        return self.n

    __index__ = __int__


def spmd_dim(*args: Any, **_k: Any) -> int:
    n = 1
    for a in args:
        n *= int(a)
    return n


def device_print(prefix: str, x: Any, **_k: Any) -> None:
    c = _rt.current()
    if not c.timing_only:
        v = x.np() if isinstance(x, NkiTensor) else x
        print(prefix, v)


def is_psum(x: Any) -> bool:
    return _space_of(x) == "psum"


def is_sbuf(x: Any) -> bool:
    return _space_of(x) == "sbuf"


def is_hbm(x: Any) -> bool:
    return _space_of(x).endswith("hbm")


def is_on_chip(x: Any) -> bool:
    return _space_of(x) in ("sbuf", "psum")


def _space_of(x: Any) -> str:
    if isinstance(x, NkiTensor):
        return x.storage.space
    return _space(x)


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("annotations", "contextlib", "np", "Any")]

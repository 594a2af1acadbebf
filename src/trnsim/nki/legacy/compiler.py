"""``neuronxcc.nki.compiler``: direct allocation (``sbuf``/``psum`` ``alloc``/``mod_alloc``) and compiler hints.

Direct allocation places every logical tile (block index) of a tensor at the address its placement gives:
``alloc(func)`` calls ``func(idx, pdim_size, fdim_size)`` -> ``(start_partition, byte_addr)`` for SBUF or
``(bank, start_partition, byte_addr)`` for PSUM; ``mod_alloc`` is the documented modulo scheme (block index
``i`` maps to physical tile ``i % num_free_tiles``, linearised over multi-dim blocks). Logical tiles mapped to
the same physical tile share its bytes (:mod:`trnsim.nki.placement`), so data written through block ``i`` is
read through block ``i + N``, and a tensor re-declared at the same address sees the previous one's data.
Placements are checked against the documented rules (partition alignment, SBUF minus the compiler's 16 KiB,
one PSUM bank per tile); overlapping live tiles fail with a lifetime-conflict error when the clobbered one is
read. ``auto_alloc()``/``force_auto_alloc`` and a plain ``nl.sbuf``/``nl.psum`` stay automatic.

NKI 0.1 traces the body of an ``affine_range``/``sequential_range`` loop once, so a declaration inside such a
loop is one allocation whatever Python state its address was computed from; the eager simulator runs every
iteration, so later iterations replay the placement the first iteration declared (see ``traced_loop``).
"""

from __future__ import annotations

import copy

from math import prod
from typing import Any, Callable, Iterator

import numpy as np

from trnsim.nki import dtypes as dt
from trnsim.nki.memory import MemoryError_
from trnsim.nki.tensor import MemSpace, NkiTensor, IndexingError, psum as _psum, sbuf as _sbuf

SBUF_RESERVED = 16 * 1024  # bytes per partition kept by the compiler (direct allocation guide)


class DirectAlloc(MemSpace):
    """A direct-allocation ``buffer=``: behaves as its memory space, and places the tensor it declares."""

    __slots__ = ("func", "what")

    def __init__(self, name: str, func: Callable[..., Any], what: str):
        super().__init__(name)
        self.func, self.what = func, what

    def declare(self, c: Any, shape: Any, dtype: Any, name: str | None) -> Any:
        """``nl.ndarray(shape, dtype, buffer=self)``: a tile, or a :class:`DirectTensor` when it has block dims."""
        from trnsim.nki.language.core import ParDim, ndarray

        if _FORCE_AUTO[0]:
            return ndarray(shape, dtype, _sbuf if self.name == "sbuf" else _psum, name)
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        k = next((i for i, s in enumerate(shape) if isinstance(s, ParDim)), 0)
        dims = [int(s) for s in shape]
        blocks, parts, free = tuple(dims[:k]), dims[k], tuple(dims[k + 1:])
        limit = c.pmax if self.name == "sbuf" else c.memory.psum_partitions
        if not 0 < parts <= limit:
            _err(c, f"partition dim {parts} of {dims} must be 1..{limit}")
        fdim = prod(free) * dt.itemsize(dt.canon(dtype))
        spec = _replayed(c, self)
        locs = {idx: spec._locate(c, idx, parts, fdim, dims) for idx in np.ndindex(*blocks)}
        label = name or f"{self.name}@{c.where()}"
        tile_shape = (parts,) + free
        if not blocks:
            return c.alloc(tile_shape, dtype, self.name, label, address=locs[()])
        return DirectTensor(c, self.name, blocks, tile_shape, dtype, label, locs)

    def _locate(self, c: Any, idx: tuple[int, ...], parts: int, fdim: int, dims: list[int]) -> tuple[int, int]:
        """(start partition, byte address within the partition) of block ``idx``; PSUM bytes count from bank 0."""
        try:
            loc = tuple(int(v) for v in self.func(idx, parts, fdim))
        except (TypeError, ValueError) as e:
            _err(c, f"{self.what} placement of block {idx} failed: {e}")
        mem = c.memory
        if self.name == "sbuf":
            if len(loc) != 2:
                _err(c, f"{self.what} must give (start_partition, byte_addr) per block, got {loc}")
            p0, byte = loc
            # The guide also asks for sbuf_min_align (32 B) byte addresses; public kernels tested on hardware
            # (nki-samples' pipelined attention) place 4-byte-aligned tiles, so alignment is not enforced.
            top = mem.sbuf.capacity - SBUF_RESERVED
            if byte < 0 or byte + fdim > top:
                _err(c, f"{self.what} places block {idx} of {dims} at bytes {byte}..{byte + fdim - 1}, beyond the "
                        f"{top} B/partition SBUF available to direct allocation ({SBUF_RESERVED} B are the "
                        f"compiler's)", "lower base_addr or shrink the tensor")
        else:
            if len(loc) != 3:
                _err(c, f"{self.what} must give (bank, start_partition, byte_addr) per block, got {loc}")
            bank, p0, byte = loc
            if not 0 <= bank < mem.banks:
                _err(c, f"{self.what} places block {idx} of {dims} in PSUM bank {bank}; banks are 0..{mem.banks - 1}")
            if byte != 0 or p0 != 0:  # documented limitation of the current release (psum.alloc docs)
                _err(c, f"{self.what}: PSUM start_partition and byte_addr must be 0, got ({p0}, {byte}) for "
                        f"block {idx}")
            if fdim > mem.bank_bytes:
                _err(c, f"{self.what}: a PSUM tile of {fdim} B/partition does not fit one {mem.bank_bytes} B bank "
                        f"(shape {dims})")
            byte = bank * mem.bank_bytes
        # ISA start-partition rule for a tile of `parts` partitions (direct allocation guide)
        step = 128 if parts > 64 else 64 if parts > 32 else 32
        limit = c.pmax if self.name == "sbuf" else mem.psum_partitions
        if p0 < 0 or p0 % step or p0 + parts > limit:
            _err(c, f"{self.what} places block {idx} of {dims} at start partition {p0}; a {parts}-partition tile "
                    f"must start at a multiple of {step} and end by partition {limit}")
        return p0, byte


def _err(c: Any, msg: str, fix: str | None = None) -> None:
    raise MemoryError_(f"nl.ndarray: {msg} at {c.where()}", fix)


class DirectTensor:
    """An old-API direct-allocated tensor with block dims ``(B..., P, F...)``: each block index is its own
    logical tile, created on first use at the block's placement (blocks may share a physical tile)."""

    def __init__(self, c: Any, space: str, blocks: tuple[int, ...], tile_shape: tuple[int, ...], dtype: Any,
                 name: str, locs: dict[tuple[int, ...], tuple[int, int]]):
        self.ctx, self.space, self.blocks, self.tile_shape = c, space, blocks, tile_shape
        self.dtype, self.name, self.locs = dt.canon(dtype), name, locs
        self.shape = blocks + tile_shape
        self._tiles: dict[tuple[int, ...], NkiTensor] = {}

    ndim = property(lambda self: len(self.shape))
    on_chip = True
    buffer = property(lambda self: _sbuf if self.space == "sbuf" else _psum)

    def __repr__(self) -> str:
        return f"DirectTensor({self.name}, {self.space}, {list(self.shape)}, {dt.name(self.dtype)})"

    def block(self, idx: tuple[int, ...]) -> NkiTensor:
        """The logical tile of block ``idx`` (the same tile object every time)."""
        t = self._tiles.get(idx)
        if t is None:
            label = f"{self.name}[{', '.join(map(str, idx))}]"
            t = self.ctx.alloc(self.tile_shape, self.dtype, self.space, label, address=self.locs[idx])
            self._tiles[idx] = t
        return t

    def tiles(self) -> Iterator[NkiTensor]:
        for idx in np.ndindex(*self.blocks):
            yield self.block(idx)

    def _split(self, idx: Any) -> tuple[NkiTensor, tuple]:
        idx = idx if isinstance(idx, tuple) else (idx,)
        nb = len(self.blocks)
        if len(idx) < nb:
            raise IndexingError(f"{self.name} {list(self.shape)}: index all {nb} block dims of a direct-allocated "
                                f"tensor (got {len(idx)})")
        out = []
        for d, (i, n) in enumerate(zip(idx[:nb], self.blocks)):
            j = _block_int(i)
            if j is None:
                raise IndexingError(f"{self.name} {list(self.shape)}: block dim {d} takes one integer index per "
                                    f"access on a direct-allocated tensor, got {i!r}")
            if j < 0:
                j += n
            if not 0 <= j < n:
                raise IndexingError(f"block index {j} out of bounds for dim {d} of size {n} of {self.name}")
            out.append(j)
        return self.block(tuple(out)), tuple(idx[nb:])

    def __getitem__(self, idx: Any) -> NkiTensor:
        tile, rest = self._split(idx)
        return tile[rest] if rest else tile

    def __setitem__(self, idx: Any, value: Any) -> None:
        tile, rest = self._split(idx)
        tile[rest if rest else ...] = value


def _block_int(i: Any) -> int | None:
    if isinstance(i, (int, np.integer)):
        return int(i)
    coef = getattr(i, "coef", None)  # a legacy index expression with no iterator left is a constant
    if coef is not None and not any(coef.values()):
        return int(i.const)
    return None


# ---------------------------------------------------------------------- traced-once loop bodies
class _Replay:
    """Declaration counter of a run: position ``n`` in iteration k > 0 of a traced loop replays position ``n``
    of its first iteration (when the declaring source line matches)."""

    __slots__ = ("n", "seen")

    def __init__(self) -> None:
        self.n = 0
        self.seen: dict[int, tuple[Any, DirectAlloc]] = {}


def _state(c: Any) -> _Replay:
    st = getattr(c, "direct_alloc_replay", None)
    if st is None:
        st = c.direct_alloc_replay = _Replay()
    return st


def _replayed(c: Any, spec: DirectAlloc) -> DirectAlloc:
    st = _state(c)
    n = st.n
    st.n += 1
    site = c.source()
    prev = st.seen.get(n)
    if prev is not None and prev[0] == site:
        return prev[1]
    st.seen[n] = (site, spec)
    return spec


def traced_loop(r: range) -> Iterator[int]:
    """Iterate ``r`` eagerly; each iteration restarts the declaration counter where the loop began, so the
    body's direct allocations are the ones its first iteration made (NKI 0.1 traces the body once)."""
    from trnsim.nki import runtime as _rt

    c = _rt.current_or_none()
    if c is None:
        yield from r
        return
    st = _state(c)
    start = top = st.n
    try:
        for i in r:
            st.n = start
            yield i
            top = max(top, st.n)
    finally:
        st.n = max(top, st.n)


# ---------------------------------------------------------------------- placement functions
def _lin(tiles: tuple[int, ...], idx: tuple[int, ...]) -> int:
    """Row-major index of ``idx % tiles`` in a ``tiles``-shaped grid; () is one tile.

    Exactly the documented reference ``modulo_allocate_func``/``linearize`` (zip semantics: a length mismatch
    is not an error; real kernels pass ``num_free_tiles=(1,)`` for tiles without block dims)."""
    if not tiles:
        return 0
    tiles = tuple(int(s) for s in tiles)
    return sum((i % s) * prod(tiles[d + 1:]) for d, (i, s) in enumerate(zip(idx, tiles)))


class _Memory:
    def __init__(self, name: str):
        self.name = name

    def alloc(self, func: Callable[..., Any]) -> DirectAlloc:
        """Place block ``idx`` where ``func(idx, pdim_size, fdim_size)`` says."""
        if not callable(func):
            raise TypeError(f"ncc.{self.name}.alloc needs a callable, got {func!r}")
        return DirectAlloc(self.name, func, f"{self.name}.alloc")

    def auto_alloc(self, *_a: Any, **_k: Any) -> MemSpace:
        return _sbuf if self.name == "sbuf" else _psum


class _Sbuf(_Memory):
    def mod_alloc(self, *, base_addr: int | None = None, base_partition: int = 0, num_par_tiles: tuple = (),
                  num_free_tiles: tuple = (), byte_addr: int | None = None) -> DirectAlloc:
        """Modulo allocation: block ``idx`` at ``(base_partition + lin(num_par_tiles) * pdim_size,
        base_addr + lin(num_free_tiles) * fdim_size)``."""
        base = int(base_addr if base_addr is not None else byte_addr or 0)  # the guide once spells it byte_addr
        par, fre = tuple(num_par_tiles), tuple(num_free_tiles)

        def func(idx: tuple[int, ...], pdim: int, fdim: int) -> tuple[int, int]:
            return (int(base_partition) + _lin(par, idx) * pdim,
                    base + _lin(fre, idx) * fdim)

        return DirectAlloc("sbuf", func, "sbuf.mod_alloc")


class _Psum(_Memory):
    def mod_alloc(self, *, base_bank: int = 0, base_addr: int = 0, base_partition: int = 0,
                  num_bank_tiles: tuple = (), num_par_tiles: tuple = (), num_free_tiles: tuple = ()) -> DirectAlloc:
        """Modulo allocation: block ``idx`` in bank ``base_bank + lin(num_bank_tiles)`` (partition and byte
        offsets as for SBUF; the current release requires them to be 0)."""
        banks, par, fre = tuple(num_bank_tiles), tuple(num_par_tiles), tuple(num_free_tiles)

        def func(idx: tuple[int, ...], pdim: int, fdim: int) -> tuple[int, int, int]:
            return (int(base_bank) + _lin(banks, idx),
                    int(base_partition) + _lin(par, idx) * pdim,
                    int(base_addr) + _lin(fre, idx) * fdim)

        return DirectAlloc("psum", func, "psum.mod_alloc")


sbuf = _Sbuf("sbuf")
psum = _Psum("psum")


def skip_middle_end_transformations(func: Callable) -> Callable:
    return func


def enable_stack_allocator(func: Callable | None = None, **_k: Any) -> Any:
    return func if func is not None else (lambda f: f)


def force_auto_alloc(func: Callable | None = None, **_k: Any) -> Any:
    """Ignore direct allocation in the kernel: every ``alloc``/``mod_alloc`` buffer allocates automatically."""
    def wrap(f: Callable) -> Callable:
        import functools

        inner = getattr(f, "func", f)

        @functools.wraps(inner)
        def run(*a: Any, **k: Any) -> Any:
            prev = _FORCE_AUTO[0]
            _FORCE_AUTO[0] = True
            try:
                return inner(*a, **k)
            finally:
                _FORCE_AUTO[0] = prev

        if hasattr(f, "func"):  # a jit Kernel: keep it one (a copy: the caller's kernel keeps its placements)
            g = copy.copy(f)
            g.func = run
            return g
        return run

    return wrap(func) if func is not None else wrap


_FORCE_AUTO = [False]


def multi_buffer(factor: int = 2) -> None:
    return None


class no_reorder:  # noqa: N801 - old API name
    """Loop directive / context manager; the simulator runs in program order anyway."""

    def __enter__(self) -> "no_reorder":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

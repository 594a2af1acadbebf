"""NkiTensor: a strided view over a :class:`~trnsim.nki.memory.Storage` (no data movement).

Element address = ``offset + sum(strides[k] * i_k)`` over the storage's flat elements; for on-chip
storages the flat index is ``partition * free_size + free_offset``, so the partition stride of a
well-formed tile equals the storage free size (the first ``.ap()`` pair of the NKI docs).
"""

from __future__ import annotations

from math import prod
from typing import Any, Callable

import numpy as np

from trnsim.errors import TrnsimError
from trnsim.nki import dtypes as dt
from trnsim.nki.trace import Access

ON_CHIP = ("sbuf", "psum")


class IndexingError(TrnsimError):
    """An invalid index, slice, view or access pattern."""


class MemSpace:
    """A memory/buffer kind: ``nl.sbuf``, ``nl.psum``, ``nl.hbm``, ``nl.shared_hbm``, ``nl.private_hbm``."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"nl.{self.name}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MemSpace):
            return self.name == other.name
        return isinstance(other, str) and other == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def is_on_chip(self) -> bool:
        return self.name in ON_CHIP


sbuf, psum, hbm = MemSpace("sbuf"), MemSpace("psum"), MemSpace("hbm")
shared_hbm, private_hbm = MemSpace("shared_hbm"), MemSpace("private_hbm")
SPACES = {s.name: s for s in (sbuf, psum, hbm, shared_hbm, private_hbm)}


class DynSlice:
    """``nl.ds(start, size, step=1)``: a slice of ``size`` elements starting at ``start``."""

    __slots__ = ("start", "size", "step")

    def __init__(self, start: Any, size: int, step: int = 1):
        self.start, self.size, self.step = start, int(size), int(step)

    def __repr__(self) -> str:
        return f"ds({self.start}, {self.size})"


def ds(start: Any, size: int, step: int = 1) -> DynSlice:
    return DynSlice(start, size, step)


# set by trnsim.nki.legacy: handles old-API index expressions (nl.arange/mgrid) in t[...]
LEGACY_INDEX_HOOK: Callable[["NkiTensor", tuple], "NkiTensor"] | None = None


class NkiTensor:
    """A view: ``storage``, ``shape``, element ``strides`` and element ``offset``; ``dtype`` may differ
    from the storage dtype only through ``view(dtype)`` of equal item size."""

    __slots__ = ("storage", "shape", "strides", "offset", "dtype", "_acc", "__weakref__")

    def __init__(self, storage: Any, shape: tuple[int, ...], strides: tuple[int, ...], offset: int,
                 dtype: Any = None):
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.dtype = storage.dtype if dtype is None else dtype
        self._acc = None

    # ---------------------------------------------------------------- attributes
    @property
    def buffer(self) -> MemSpace:
        return SPACES[self.storage.space]

    @property
    def space(self) -> str:
        return self.storage.space

    @property
    def name(self) -> str:
        return self.storage.name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return prod(self.shape)

    @property
    def itemsize(self) -> int:
        return self.storage.elem_bytes

    @property
    def on_chip(self) -> bool:
        return self.storage.space in ON_CHIP

    @property
    def partitions(self) -> int:
        return self.shape[0] if self.shape else 1

    @property
    def free_size(self) -> int:
        return prod(self.shape[1:])

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"NkiTensor({self.storage.name}, {self.storage.space}, {list(self.shape)}, {dt.name(self.dtype)})"

    # ---------------------------------------------------------------- numpy access
    def np(self) -> np.ndarray | None:
        """A writable NumPy view of the elements (``None`` in timing-only runs)."""
        arr = self.storage.array
        if arr is None:
            return None
        it = arr.itemsize
        return np.ndarray(self.shape, arr.dtype, arr, self.offset * it, tuple(s * it for s in self.strides))

    def access(self) -> Access:
        """This view as a trace operand (partition range + per-partition pattern for on-chip)."""
        acc = self._acc
        if acc is not None:
            return acc
        self._acc = acc = self._make_access()
        return acc

    def _make_access(self) -> Access:
        st = self.storage
        shape, strides = self.shape, self.strides
        if st.space in ON_CHIP:
            addr = st.address  # first use allocates
            fs = st.fsize or 1
            p0, off = divmod(self.offset, fs)
            if shape:
                parts = shape[0]
                pattern = tuple(zip(strides[1:], shape[1:]))
            else:
                parts, pattern = 1, ()
            return Access(st.id, st.space, st.dtname, st.elem_bytes, st.partition_offset + p0, parts, off,
                          pattern, addr)
        return Access(st.id, st.space, st.dtname, st.elem_bytes, 0, 1, self.offset,
                      tuple(zip(strides, shape)), st.address)

    # ---------------------------------------------------------------- indexing
    def __getitem__(self, idx: Any) -> "NkiTensor":
        if not isinstance(idx, tuple):
            idx = (idx,)
        if len(idx) == len(self.shape) and all(type(i) is slice for i in idx):  # fast path: plain slices
            off = self.offset
            shape, strides = [], []
            for i, n, st_ in zip(idx, self.shape, self.strides):
                a, b, step = i.indices(n)
                off += a * st_
                shape.append(len(range(a, b, step)) if step != 1 else max(0, b - a))
                strides.append(st_ * step)
            return NkiTensor(self.storage, tuple(shape), tuple(strides), off, self.dtype)
        for i in idx:
            if not (isinstance(i, (int, slice, DynSlice, np.integer)) or i is Ellipsis or i is None):
                if LEGACY_INDEX_HOOK is not None:
                    return LEGACY_INDEX_HOOK(self, idx)
                raise IndexingError(f"unsupported index {i!r} on tensor {self.name}")
        if any(i is Ellipsis for i in idx):
            k = idx.index(Ellipsis)
            fill = self.ndim - (len([i for i in idx if i is not None]) - 1)
            idx = idx[:k] + (slice(None),) * fill + idx[k + 1:]
        if len([i for i in idx if i is not None]) > self.ndim:
            raise IndexingError(f"too many indices ({len(idx)}) for tensor {self.name} of shape {list(self.shape)}")
        on_chip = self.on_chip
        shape: list[int] = []
        strides: list[int] = []
        keep_int: list[bool] = []
        off = self.offset
        d = 0
        for i in idx:
            if i is None:
                shape.append(1)
                strides.append(0)
                keep_int.append(False)
                continue
            n, s = self.shape[d], self.strides[d]
            if isinstance(i, slice):
                start, stop, step = i.indices(n)
                cnt = len(range(start, stop, step))
                off += start * s
                shape.append(cnt)
                strides.append(s * step)
                keep_int.append(False)
            elif isinstance(i, DynSlice):
                start = int(i.start)
                if start < 0 or i.size < 0 or start + (i.size - 1) * i.step >= n and i.size > 0:
                    raise IndexingError(f"nl.ds({start}, {i.size}) out of bounds for dim {d} of size {n} "
                                        f"of tensor {self.name} {list(self.shape)}")
                off += start * s
                shape.append(i.size)
                strides.append(s * i.step)
                keep_int.append(False)
            else:
                j = int(i)
                if j < 0:
                    j += n
                if not 0 <= j < n:
                    raise IndexingError(f"index {int(i)} out of bounds for dim {d} of size {n} "
                                        f"of tensor {self.name} {list(self.shape)}")
                off += j * s
                shape.append(1)
                strides.append(s)
                keep_int.append(True)
            d += 1
        shape += self.shape[d:]
        strides += self.strides[d:]
        keep_int += [False] * (self.ndim - d)
        # drop integer-indexed dims; on-chip tensors keep the partition dim and stay >= 2-D
        out_shape, out_strides = [], []
        pdim = 0
        if on_chip:  # the partition dim: stride == storage free size (block dims of the old API come first)
            st = self.storage
            for k, (n, s) in enumerate(zip(shape, strides)):
                if s == st.fsize and n == st.partitions and st.partitions > 1:
                    pdim = k
                    break
        for k, (n, s, drop) in enumerate(zip(shape, strides, keep_int)):
            if drop and not (on_chip and k == pdim):
                continue
            out_shape.append(n)
            out_strides.append(s)
        if on_chip and len(out_shape) < 2 and len(shape) >= 2:
            out_shape.append(1)
            out_strides.append(1)
        return NkiTensor(self.storage, tuple(out_shape), tuple(out_strides), off, self.dtype)

    def __setitem__(self, idx: Any, value: Any) -> None:
        from trnsim.nki import isa as _isa  # late: isa imports tensor

        view = self[idx]
        hook = getattr(value, "assign_into", None)
        if hook is not None:  # old-API deferred matmul result: run the matmul into this view
            hook(view)
            return
        if isinstance(value, NkiTensor):
            if (value.storage is view.storage and value.offset == view.offset and value.shape == view.shape
                    and value.strides == view.strides):
                return  # result of an in-place ``t[i] += x``
            _isa.assign(view, value)
        else:
            _isa.assign_scalar(view, value)

    def __iter__(self):
        raise TypeError("NkiTensor is not iterable; index it or use nl.affine_range")

    # ---------------------------------------------------------------- view methods (new API)
    def _v(self, shape, strides, offset=None, dtype=None) -> "NkiTensor":
        return NkiTensor(self.storage, tuple(int(x) for x in shape), tuple(int(x) for x in strides),
                         self.offset if offset is None else int(offset), self.dtype if dtype is None else dtype)

    def slice(self, dim: int, start: int, end: int, step: int = 1) -> "NkiTensor":
        idx = [slice(None)] * self.ndim
        idx[dim] = slice(start, end, step)
        return self[tuple(idx)]

    def select(self, dim: int, index: int) -> "NkiTensor":
        idx: list[Any] = [slice(None)] * self.ndim
        idx[dim] = int(index)
        v = self[tuple(idx)]
        return v

    def permute(self, dims: Any) -> "NkiTensor":
        dims = tuple(dims)
        if sorted(dims) != list(range(self.ndim)):
            raise IndexingError(f"permute{dims}: not a permutation of {self.ndim} dims of {self.name}")
        return self._v([self.shape[d] for d in dims], [self.strides[d] for d in dims])

    def transpose(self, *dims: Any) -> "NkiTensor":
        if not dims:
            dims = tuple(reversed(range(self.ndim)))
        elif len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return self.permute(dims)

    @property
    def T(self) -> "NkiTensor":
        return self.transpose()

    def broadcast(self, dim: int, size: int) -> "NkiTensor":
        if self.shape[dim] != 1:
            raise IndexingError(f"broadcast: dim {dim} of {self.name} {list(self.shape)} is not 1")
        shape, strides = list(self.shape), list(self.strides)
        shape[dim], strides[dim] = size, 0
        return self._v(shape, strides)

    def broadcast_to(self, shape: Any) -> "NkiTensor":
        shape = tuple(shape)
        if len(shape) != self.ndim:
            raise IndexingError(f"broadcast_to{list(shape)}: rank differs from {list(self.shape)}")
        v = self
        for d, (a, b) in enumerate(zip(self.shape, shape)):
            if a != b:
                v = v.broadcast(d, b)
        return v

    def expand_dim(self, dim: int) -> "NkiTensor":
        shape, strides = list(self.shape), list(self.strides)
        shape.insert(dim, 1)
        strides.insert(dim, 0)
        return self._v(shape, strides)

    expand_dims = expand_dim

    def squeeze_dim(self, dim: int) -> "NkiTensor":
        if self.shape[dim] != 1:
            raise IndexingError(f"squeeze_dim({dim}): size is {self.shape[dim]}, not 1")
        shape, strides = list(self.shape), list(self.strides)
        del shape[dim], strides[dim]
        return self._v(shape, strides)

    def reshape(self, shape: Any) -> "NkiTensor":
        shape = [int(s) for s in (shape if isinstance(shape, (tuple, list)) else (shape,))]
        if -1 in shape:
            k = shape.index(-1)
            rest = prod(s for s in shape if s != -1)
            shape[k] = self.size // max(rest, 1)
        if prod(shape) != self.size:
            raise IndexingError(f"reshape: {list(self.shape)} -> {shape} changes the element count")
        strides = _reshape_strides(self.shape, self.strides, shape)
        if strides is None:
            raise IndexingError(f"reshape of non-contiguous view {list(self.shape)} -> {shape} of {self.name}")
        return self._v(shape, strides)

    def reshape_dim(self, dim: int, shape: Any) -> "NkiTensor":
        shape = tuple(int(s) for s in shape)
        new = list(self.shape[:dim]) + list(shape) + list(self.shape[dim + 1:])
        s = self.strides[dim]
        inner = []
        acc = s
        for n in reversed(shape):
            inner.insert(0, acc)
            acc *= n
        if prod(shape) != self.shape[dim]:
            raise IndexingError(f"reshape_dim({dim}, {list(shape)}): size {self.shape[dim]} differs")
        return self._v(new, list(self.strides[:dim]) + inner + list(self.strides[dim + 1:]))

    def flatten_dims(self, start: int = 0, end: int | None = None) -> "NkiTensor":
        end = self.ndim - 1 if end is None else end
        new = list(self.shape[:start]) + [prod(self.shape[start:end + 1])] + list(self.shape[end + 1:])
        return self.reshape(new)

    def is_contiguous(self) -> bool:
        exp = 1
        for n, s in zip(reversed(self.shape), reversed(self.strides)):
            if n != 1 and s != exp:
                return False
            exp *= n
        return True

    def get_pattern(self) -> list[list[int]]:
        return [[s, n] for s, n in zip(self.strides, self.shape)]

    def view(self, dtype: Any) -> "NkiTensor":
        """Reinterpret the bytes as ``dtype``; another item size rescales the innermost (contiguous) dim."""
        d = dt.canon(dtype)
        if dt.itemsize(d) == self.itemsize:
            return self._v(self.shape, self.strides, dtype=d)
        st = self.storage
        full = self.offset == 0 and self.is_contiguous() and self.size == (
            st.partitions * st.fsize if st.space in ON_CHIP else st.fsize)
        if not full:
            raise IndexingError(f"view({dt.name(d)}): item size {dt.itemsize(d)} differs from {self.itemsize}; "
                                f"only a whole contiguous tensor can change item size")
        from trnsim.nki.memory import Storage

        al = Storage.alias(st, d)
        shape = tuple(self.shape[:-1]) + (self.shape[-1] * self.itemsize // al.elem_bytes,)
        out = 1
        strides = []
        for n in reversed(shape):
            strides.append(out)
            out *= n
        return NkiTensor(al, shape, tuple(reversed(strides)), 0, d)

    def ap(self, pattern: Any, offset: Any = None, scalar_offset: Any = None, vector_offset: Any = None,
           indirect_dim: int = 0, dtype: Any = None) -> "NkiTensor":
        """A raw access pattern over the storage (ignores this view): ``[[step, count], ...]``."""
        pattern = [tuple(int(x) for x in p) for p in pattern]
        off = 0 if offset is None else int(offset)
        if dtype is not None and dt.itemsize(dt.canon(dtype)) != self.itemsize:  # pattern in units of dtype
            from trnsim.nki.memory import Storage

            al = Storage.alias(self.storage, dtype)
            base = NkiTensor(al, al.shape, (), 0, al.dtype)
            return base.ap(pattern, offset, scalar_offset, vector_offset, indirect_dim, None)
        if scalar_offset is not None:
            val = _scalar_value(scalar_offset)
            base = self.storage.shape
            off += val * prod(base[indirect_dim + 1:])
        st = self.storage
        last = off + sum(max(0, (c - 1) * s) for s, c in pattern)
        first = off + sum(min(0, (c - 1) * s) for s, c in pattern)
        total = st.partitions * st.fsize if st.space in ON_CHIP else st.fsize
        if first < 0 or last >= total:
            raise IndexingError(f"ap({[list(p) for p in pattern]}, offset={off}) out of bounds of "
                                f"{self.name} {list(st.shape)} ({total} elements)")
        shape, strides = tuple(c for _, c in pattern), tuple(s for s, _ in pattern)
        vdt = self.dtype if dtype is None else dt.canon(dtype)
        if vector_offset is not None:  # one runtime row index per partition (DMA gather/scatter)
            from trnsim.nki.indirect import IndirectView

            base = st.shape  # the index supplies the row: the pattern's partition step is not applied
            return IndirectView.make(st, shape, (0,) + strides[1:], off, vdt, vector_offset,
                                     prod(base[indirect_dim + 1:]),
                                     base[indirect_dim] if base else 1)
        return NkiTensor(st, shape, strides, off, vdt)

    # ---------------------------------------------------------------- operators (nl.* on tiles)
    def _bin(self, other: Any, op: str, rev: bool = False):
        if type(other).__name__ == "Expr" and self.size == 1:  # old API: runtime scalar + index expression
            v = _scalar_value(self)
            return other._combine(v, 1) if op == "add" else (other * v if op == "multiply" else NotImplemented)
        from trnsim.nki import language as nl
        from trnsim.nki.language import ops

        f = getattr(nl, op)
        prev = ops.LENIENT[0]
        ops.LENIENT[0] = True  # operator style is the old API's: masked tiles combine on their leading region
        try:
            return f(other, self) if rev else f(self, other)
        finally:
            ops.LENIENT[0] = prev

    def __add__(self, o): return self._bin(o, "add")
    def __radd__(self, o): return self._bin(o, "add", True)
    def __sub__(self, o): return self._bin(o, "subtract")
    def __rsub__(self, o): return self._bin(o, "subtract", True)
    def __mul__(self, o): return self._bin(o, "multiply")
    def __rmul__(self, o): return self._bin(o, "multiply", True)
    def __truediv__(self, o): return self._bin(o, "divide")
    def __rtruediv__(self, o): return self._bin(o, "divide", True)
    def __pow__(self, o): return self._bin(o, "power")
    def __lt__(self, o): return self._bin(o, "less")
    def __le__(self, o): return self._bin(o, "less_equal")
    def __gt__(self, o): return self._bin(o, "greater")
    def __ge__(self, o): return self._bin(o, "greater_equal")
    def __and__(self, o): return self._bin(o, "logical_and")
    def __or__(self, o): return self._bin(o, "logical_or")
    def __neg__(self): return self._bin(-1.0, "multiply")
    def __matmul__(self, o):
        from trnsim.nki import language as nl
        return nl.matmul(self, o)

    def __iadd__(self, other: Any) -> "NkiTensor":
        from trnsim.nki import isa as _isa

        return _isa.accumulate_into(self, other)

    __hash__ = object.__hash__


def _reshape_strides(shape, strides, new_shape):
    """Strides for ``new_shape`` over the same elements, or None if the view is not reshapeable."""
    dims = [(n, s) for n, s in zip(shape, strides) if n != 1]
    # merge contiguous runs
    runs: list[list[int]] = []  # [count, stride]
    for n, s in dims:
        if runs and runs[-1][1] == s * n:
            runs[-1] = [runs[-1][0] * n, s]
        else:
            runs.append([n, s])
    out: list[int] = [0] * len(new_shape)
    # walk from the innermost dim
    runs_rev = list(reversed(runs))
    ri, used = 0, 1
    for k in range(len(new_shape) - 1, -1, -1):
        n = new_shape[k]
        if n == 1:
            out[k] = 0
            continue
        if ri >= len(runs_rev):
            return None
        cnt, s = runs_rev[ri]
        if cnt % (used * n) != 0:
            return None
        out[k] = s * used
        used *= n
        if used == cnt:
            ri, used = ri + 1, 1
    return out


def _scalar_value(x: Any) -> int:
    if isinstance(x, NkiTensor):
        v = x.np()
        if v is None:
            return 0
        return int(np.asarray(v).reshape(-1)[0])
    if hasattr(x, "value"):
        return int(x.value)
    return int(x)

"""Old-API affine index expressions: ``nl.arange``, ``nl.mgrid``, ``t[i_p, i_f]`` and ``mask=`` predicates.

An expression is ``const + sum(coef * iterator)``; iterators are identified by their position counted from
the right of the index space (NumPy broadcasting: ``arange(n)[:, None]`` is position 1 of 2, i.e. the
partition dim of a 2-D tile). Indexing a tensor with expressions yields an exact strided view; a ``mask``
of affine comparisons shrinks each iterator's range before the instruction runs.
"""

from __future__ import annotations

from typing import Any

from trnsim.errors import TrnsimError
from trnsim.nki import tensor as _tensor
from trnsim.nki.tensor import NkiTensor


class LegacyIndexError(TrnsimError):
    """An old-API index expression or mask that cannot be expressed as an access pattern."""


class Expr:
    """``const + sum(coef[rpos] * iterator[rpos])``; ``sizes[rpos]`` is the iterator's extent."""

    __slots__ = ("const", "coef", "sizes", "ndim")

    def __init__(self, const: int, coef: dict[int, int], sizes: dict[int, int], ndim: int):
        self.const, self.coef, self.sizes, self.ndim = const, coef, sizes, ndim

    # arithmetic ------------------------------------------------------------
    def _combine(self, other: Any, sign: int) -> "Expr":
        if isinstance(other, Expr):
            coef = dict(self.coef)
            sizes = dict(self.sizes)
            for k, v in other.coef.items():
                coef[k] = coef.get(k, 0) + sign * v
                sizes[k] = max(sizes.get(k, 1), other.sizes[k])
            return Expr(self.const + sign * other.const, coef, sizes, max(self.ndim, other.ndim))
        return Expr(self.const + sign * int(other), dict(self.coef), dict(self.sizes), self.ndim)

    def __add__(self, o: Any) -> "Expr":
        return self._combine(o, 1)

    __radd__ = __add__

    def __sub__(self, o: Any) -> "Expr":
        return self._combine(o, -1)

    def __rsub__(self, o: Any) -> "Expr":
        return (-self)._combine(o, 1)

    def __neg__(self) -> "Expr":
        return self * -1

    def __mul__(self, o: Any) -> "Expr":
        if isinstance(o, Expr):
            raise LegacyIndexError("index expressions must be affine (product of two iterators)")
        k = int(o)
        return Expr(self.const * k, {a: b * k for a, b in self.coef.items()}, dict(self.sizes), self.ndim)

    __rmul__ = __mul__

    def __getitem__(self, key: Any) -> "Expr":
        """``arange(n)[:, None]`` / ``[None, :]``: place a 1-D iterator in a 2-D index space."""
        if not isinstance(key, tuple):
            key = (key,)
        if self.ndim != 1 or len(self.coef) != 1:
            raise LegacyIndexError("only a 1-D nl.arange can be expanded with [:, None] / [None, :]")
        (rp, c), = self.coef.items()
        n = self.sizes[rp]
        nd = len(key)
        axes = [i for i, k in enumerate(key) if k is not None]
        if len(axes) != 1:
            raise LegacyIndexError(f"bad arange expansion {key!r}")
        rpos = nd - 1 - axes[0]
        return Expr(self.const, {rpos: c}, {rpos: n}, nd)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.sizes.get(self.ndim - 1 - a, 1) for a in range(self.ndim))

    # comparisons -> masks --------------------------------------------------
    def _cmp(self, o: Any, op: str) -> "Mask":
        e = self - o if isinstance(o, Expr) else self._combine(o, -1)
        return Mask([(e, op)])

    def __lt__(self, o): return self._cmp(o, "<")
    def __le__(self, o): return self._cmp(o, "<=")
    def __gt__(self, o): return self._cmp(o, ">")
    def __ge__(self, o): return self._cmp(o, ">=")
    def __eq__(self, o): return self._cmp(o, "==")  # type: ignore[override]
    def __ne__(self, o): return self._cmp(o, "!=")  # type: ignore[override]

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        terms = " + ".join(f"{c}*i{r}" for r, c in self.coef.items())
        return f"Expr({self.const} + {terms})"


class Mask:
    """A conjunction of ``expr <op> 0`` comparisons."""

    def __init__(self, terms: list[tuple[Expr, str]]):
        self.terms = terms

    def __and__(self, other: "Mask") -> "Mask":
        return Mask(self.terms + other.terms)

    __rand__ = __and__

    def ranges(self) -> dict[int, tuple[int, int]]:
        """Allowed ``[lo, hi)`` per iterator position (each term must involve one iterator)."""
        out: dict[int, tuple[int, int]] = {}
        for e, op in self.terms:
            live = {k: v for k, v in e.coef.items() if v != 0}
            if len(live) != 1:
                raise LegacyIndexError(f"mask term {e!r} {op} 0 must involve exactly one iterator")
            (rp, a), = live.items()
            n = e.sizes[rp]
            lo, hi = out.get(rp, (0, n))
            b = e.const  # a*i + b  op  0
            for i_lo, i_hi in [_solve(a, b, op, n)]:
                lo, hi = max(lo, i_lo), min(hi, i_hi)
            out[rp] = (lo, max(lo, hi))
        return out


def _solve(a: int, b: int, op: str, n: int) -> tuple[int, int]:
    import math

    if op == "==":
        if (-b) % a:
            return (0, 0)
        v = -b // a
        return (v, v + 1)
    if op == "!=":
        return (0, n)
    strict = op in ("<", ">")
    less = op in ("<", "<=")
    if a < 0:
        a, b, less = -a, -b, not less
    # a*i + b < 0  <=> i < -b/a
    t = -b / a
    if less:
        hi = math.ceil(t) if strict else math.floor(t) + 1
        return (0, min(n, max(0, hi)))
    lo = math.floor(t) + 1 if strict else math.ceil(t)
    return (max(0, lo), n)


def arange(*args: int) -> Expr:
    r = range(*[int(a) for a in args])
    if r.step != 1 and len(r) > 0:
        return Expr(r.start, {0: r.step}, {0: len(r)}, 1)
    return Expr(r.start, {0: 1}, {0: len(r)}, 1)


class Grid(tuple):
    """``nl.mgrid[...]`` result: a tuple of index expressions, also as ``.p`` (partition), ``.x``, ``.y``, ``.z``."""

    p = property(lambda self: self[0])
    x = property(lambda self: self[1])
    y = property(lambda self: self[2])
    z = property(lambda self: self[3])


class _MGrid:
    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, tuple):
            key = (key,)
        nd = len(key)
        out = []
        for ax, s in enumerate(key):
            start = 0 if s.start is None else int(s.start)
            step = 1 if s.step is None else int(s.step)
            n = len(range(start, int(s.stop), step))
            rp = nd - 1 - ax
            out.append(Expr(start, {rp: step}, {rp: n}, nd))
        return Grid(out) if nd > 1 else out[0]


mgrid = _MGrid()


class LegacyView(NkiTensor):
    """A view built from index expressions; remembers how to rebuild itself under a mask."""

    __slots__ = ("base", "index", "oob", "space_ndim")


def _build(t: NkiTensor, idx: tuple, ranges: dict[int, tuple[int, int]] | None) -> LegacyView:
    exprs = [i for i in idx if isinstance(i, Expr)]
    nd = max([e.ndim for e in exprs] + [2 if any(isinstance(i, NkiTensor) for i in idx) else 1])
    sizes: dict[int, int] = {}
    for e in exprs:
        for k, v in e.sizes.items():
            sizes[k] = max(sizes.get(k, 1), v)
    lo_of = {k: (ranges or {}).get(k, (0, n))[0] for k, n in sizes.items()}
    n_of = {k: max(0, (ranges or {}).get(k, (0, n))[1] - lo_of[k]) for k, n in sizes.items()}
    off = t.offset
    strides = {k: 0 for k in sizes}
    extra_shape: list[int] = []
    extra_strides: list[int] = []
    oob = False
    indirect = None
    d = 0
    for i in idx:
        if i is None:
            continue
        if d >= t.ndim:
            raise LegacyIndexError(f"too many indices for tensor {t.name} {list(t.shape)}")
        n_d, s_d = t.shape[d], t.strides[d]
        if isinstance(i, NkiTensor) and i.size == 1:  # a runtime scalar index (read when the view is built)
            from trnsim.nki.tensor import _scalar_value

            j = _scalar_value(i)
            if not 0 <= j < n_d:
                oob = True
            off += j * s_d
        elif isinstance(i, NkiTensor):  # runtime row indices from an on-chip tile: DMA gather/scatter
            indirect = (s_d, n_d, i)
        elif isinstance(i, Expr):
            lo = hi = i.const
            for k, c in i.coef.items():
                off += c * lo_of[k] * s_d
                strides[k] += c * s_d
                span = c * (lo_of[k] + n_of[k] - 1) if n_of[k] else 0
                lo += min(c * lo_of[k], span)
                hi += max(c * lo_of[k], span)
            off += i.const * s_d
            if lo < 0 or hi >= n_d:
                oob = True
        elif isinstance(i, slice):
            a, b, st = i.indices(n_d)
            off += a * s_d
            extra_shape.append(len(range(a, b, st)))
            extra_strides.append(s_d * st)
        elif isinstance(i, _tensor.DynSlice):
            off += int(i.start) * s_d
            extra_shape.append(i.size)
            extra_strides.append(s_d * i.step)
        else:
            j = int(i)
            if not 0 <= j < n_d:
                oob = True
            off += j * s_d
        d += 1
    rest_shape = list(t.shape[d:])
    rest_strides = list(t.strides[d:])
    shape = [n_of.get(nd - 1 - a, 1) for a in range(nd)] + extra_shape + rest_shape
    strd = [strides.get(nd - 1 - a, 0) for a in range(nd)] + extra_strides + rest_strides
    if indirect is not None:
        from trnsim.nki.indirect import IndirectView

        s_d, n_d, ix = indirect
        p = ix.shape[0]
        if shape and shape[0] in (1, p):
            shape[0] = p
        return IndirectView.make(t.storage, tuple(shape), tuple(strd), off, t.dtype, ix, s_d, n_d)
    v = LegacyView(t.storage, tuple(shape), tuple(strd), off, t.dtype)
    v.base, v.index, v.oob, v.space_ndim = t, idx, oob, nd
    return v


def index_hook(t: NkiTensor, idx: tuple) -> NkiTensor:
    if not any(isinstance(i, (Expr, NkiTensor)) for i in idx):
        raise LegacyIndexError(f"unsupported index {idx!r} on tensor {t.name}")
    return _build(t, idx, None)


def restrict(x: Any, ranges: dict[int, tuple[int, int]], space_ndim: int) -> Any:
    """``x`` limited to the masked iteration space (legacy views are rebuilt, plain tiles sliced)."""
    if isinstance(x, LegacyView):
        return _build(x.base, x.index, ranges)
    if isinstance(x, NkiTensor) and x.on_chip and ranges:
        sl = []
        for d, n in enumerate(x.shape):
            rp = x.ndim - 1 - d
            if rp in ranges and x.ndim <= space_ndim:
                lo, hi = ranges[rp]
                if n >= hi:
                    sl.append(slice(lo, hi))
                    continue
            sl.append(slice(None))
        return x[tuple(sl)]
    return x


def check_bounds(x: Any, where: str) -> None:
    if isinstance(x, LegacyView) and x.oob:
        raise LegacyIndexError(f"{where}: index expression out of bounds of {x.base.name} {list(x.base.shape)} "
                               f"(add a mask=)")


_tensor.LEGACY_INDEX_HOOK = index_hook

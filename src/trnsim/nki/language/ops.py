"""``nki.language`` value-returning operations, each lowered onto ``nki.isa`` instructions."""

from __future__ import annotations

import builtins as _b
from typing import Any

import numpy as np

from trnsim.nki import dtypes as _dt
from trnsim.nki import isa as _isa
from trnsim.nki import runtime as _rt
from trnsim.nki.isa import alu as _alu
from trnsim.nki.isa import core as _K
from trnsim.nki.tensor import NkiTensor

# set while an old-API (masked) call runs: tiles shrunk by a mask combine with full tiles on their
# leading region instead of failing to broadcast (masks restrict to the leading rows in practice)
LENIENT = [False]


def _t(x: Any, role: str = "x") -> NkiTensor:
    return _K.tensor(x, "nl", role) if not isinstance(x, NkiTensor) else x


# set by the legacy layer while a masked call runs: allocates full-size tiles, returns the masked region
ALLOC_HOOK: list[Any] = [None]


def _new(shape: Any, dtype: Any, space: str = "sbuf") -> NkiTensor:
    if ALLOC_HOOK[0] is not None:
        return ALLOC_HOOK[0](tuple(shape), dtype, space)
    return _rt.current().alloc(tuple(shape), dtype, space)


def _is_tile(x: Any) -> bool:
    if isinstance(x, NkiTensor):
        return True
    if _K.MATERIALIZE is not None and hasattr(x, "accumulate_into"):
        return True
    return False


# ------------------------------------------------------------------ data movement
def load(src: Any, dtype: Any = None, mask: Any = None, **_k: Any) -> NkiTensor:
    s = _t(src, "src")
    out = _new(s.shape, dtype or s.dtype)
    _isa.dma_copy(dst=out, src=s, _allow_psum=True)
    return out


def store(dst: Any, value: Any, mask: Any = None, **_k: Any) -> Any:
    d = _t(dst, "dst")
    if not isinstance(value, NkiTensor) and not _is_tile(value):
        full_ = _new(d.shape, d.dtype)
        _isa.memset(dst=full_, value=value)
        value = full_
    v = _t(value, "value")
    if v.storage.space == "psum":  # DMA cannot read PSUM: evict through SBUF first
        tmp = _new(v.shape, v.dtype)
        _isa.tensor_copy(dst=tmp, src=v)
        v = tmp
    _isa.dma_copy(dst=d, src=v)
    return d


def load_transpose2d(src: Any, dtype: Any = None, **_k: Any) -> NkiTensor:
    s = _t(src, "src")
    out = _new((s.shape[1], s.shape[0]), dtype or s.dtype)
    _isa.dma_transpose(dst=out, src=s)
    return out


def copy(x: Any, dtype: Any = None, mask: Any = None, **_k: Any) -> Any:
    x = _t(x)
    out = _new(x.shape, dtype or x.dtype)
    if x.on_chip:
        _isa.tensor_copy(dst=out, src=x)
    else:
        _isa.dma_copy(dst=out, src=x)
    return out


def matmul(x: Any, y: Any, transpose_x: bool = False, mask: Any = None, **_k: Any) -> NkiTensor:
    """``x @ y`` into a new fp32 PSUM tile (``x`` given as [K, M] when ``transpose_x``)."""
    x, y = _t(x), _t(y)
    if not transpose_x:
        xt = transpose(x)
        xs = _new(xt.shape, x.dtype)
        _isa.tensor_copy(dst=xs, src=xt)
        x = xs
    out = _new((x.free_size, y.free_size), np.float32, "psum")
    _isa.nc_matmul(dst=out, stationary=x, moving=y)
    return out


def transpose(x: Any, dtype: Any = None, mask: Any = None, **_k: Any) -> NkiTensor:
    x = _t(x)
    c = _rt.current()
    p, f = x.shape[0], x.free_size
    if x.on_chip and p <= 32 and f <= 32 and x.storage.space == "psum":
        out = _new((f, p), dtype or x.dtype)
        _isa.nc_transpose(dst=out, data=x, engine="vector")
        return out
    if x.storage.space == "psum":
        xs = _new(x.shape, x.dtype)
        _isa.tensor_copy(dst=xs, src=x)
        x = xs
    od = dtype or (x.dtype if c.version >= 3 else np.float32)
    if _dt.name(od) not in ("float32", _dt.name(x.dtype)):
        od = np.float32
    out = _new((f, p), od, "psum")
    _isa.nc_transpose(dst=out, data=x, engine="tensor")
    return out


# ------------------------------------------------------------------ elementwise
def _out_dtype(dtype: Any, *xs: Any) -> Any:
    if dtype is not None:
        return dtype
    tiles = [x for x in xs if isinstance(x, NkiTensor)]
    names = {_dt.name(t.dtype) for t in tiles}
    if len(names) == 1:
        d = tiles[0].dtype
        if _dt.is_int(d) and _b.any(isinstance(x, float) for x in xs):
            return np.float32
        return d
    return np.float32 if _b.any(not _dt.is_int(t.dtype) for t in tiles) else np.int32


def _bcast_free(x: NkiTensor, shape: tuple[int, ...]) -> NkiTensor:
    if x.shape == shape:
        return x
    if len(x.shape) < len(shape):
        x = x.reshape(list(x.shape) + [1] * (len(shape) - len(x.shape)))
    v = x
    for d, (a, b) in enumerate(zip(x.shape, shape)):
        if a != b and a == 1 and d > 0:
            v = v.broadcast(d, b)
    return v


def _column_operand(opn: str, x: NkiTensor, y: NkiTensor, od: Any) -> NkiTensor | None:
    """``x op y`` as one ``tensor_scalar`` when one side is a [P, 1] column against a [P, F] tile,
    else None."""
    if y.free_size == 1 and x.free_size > 1 and y.shape[0] == x.shape[0]:
        out = _new(x.shape, od)
        _isa.tensor_scalar(dst=out, data=x, op0=opn, operand0=y)
        return out
    if x.free_size == 1 and y.free_size > 1 and x.shape[0] == y.shape[0]:
        out = _new(y.shape, od)
        _isa.tensor_scalar(dst=out, data=y, op0=opn, operand0=x, reverse0=True)
        return out
    return None


def _binary(opn: str, x: Any, y: Any, dtype: Any) -> Any:
    if _K.MATERIALIZE is not None:
        x = _K.MATERIALIZE(x)
        y = _K.MATERIALIZE(y)
    xt, yt = isinstance(x, NkiTensor), isinstance(y, NkiTensor)
    if not xt and not yt:
        return _alu.ALU[opn](x, y)
    od = _out_dtype(dtype, x, y)
    if xt and yt:
        out = _column_operand(opn, x, y, od)
        if out is not None:
            return out
        if LENIENT[0] and x.ndim == y.ndim and x.shape != y.shape:
            common = tuple(_b.min(a, b) if (a > 1 and b > 1) else _b.max(a, b) for a, b in zip(x.shape, y.shape))
            x = x[tuple(slice(0, n) if n <= m and m > 1 else slice(None) for n, m in zip(common, x.shape))]
            y = y[tuple(slice(0, n) if n <= m and m > 1 else slice(None) for n, m in zip(common, y.shape))]
            out = _column_operand(opn, x, y, od)
            if out is not None:
                return out
        nd = _b.max(x.ndim, y.ndim)
        xs = tuple(x.shape) + (1,) * (nd - x.ndim)
        ys = tuple(y.shape) + (1,) * (nd - y.ndim)
        try:
            shape = tuple(int(s) for s in np.broadcast_shapes(xs, ys))
        except ValueError:
            _K.fail(f"nl.{opn}", f"shapes {list(x.shape)} and {list(y.shape)} do not broadcast")
        if x.shape[0] != shape[0]:
            x = broadcast_to(x, (shape[0],) + tuple(x.shape[1:]))
        if y.shape[0] != shape[0]:
            y = broadcast_to(y, (shape[0],) + tuple(y.shape[1:]))
        x, y = _bcast_free(x, shape), _bcast_free(y, shape)
        out = _new(shape, od)
        _isa.tensor_tensor(dst=out, data1=x, data2=y, op=opn)
        return out
    if xt:
        out = _new(x.shape, od)
        _isa.tensor_scalar(dst=out, data=x, op0=opn, operand0=y)
    else:
        out = _new(y.shape, od)
        _isa.tensor_scalar(dst=out, data=y, op0=opn, operand0=x, reverse0=True)
    return out


def _mk_binary(opn: str):
    def f(x: Any, y: Any, dtype: Any = None, mask: Any = None, **_k: Any) -> Any:
        return _binary(opn, x, y, dtype)
    f.__name__ = f.__qualname__ = opn
    f.__doc__ = f"Elementwise ``{opn}`` of two tiles or a tile and a scalar (Vector Engine)."
    return f


add, subtract, multiply, divide = (_mk_binary(n) for n in ("add", "subtract", "multiply", "divide"))
maximum, minimum, power, fmod, mod = (_mk_binary(n) for n in ("maximum", "minimum", "power", "fmod", "mod"))
abs_max, abs_min = _mk_binary("abs_max"), _mk_binary("abs_min")
equal, not_equal, greater, greater_equal, less, less_equal = (
    _mk_binary(n) for n in ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal"))
logical_and, logical_or, logical_xor = (_mk_binary(n) for n in ("logical_and", "logical_or", "logical_xor"))
bitwise_and, bitwise_or, bitwise_xor = (_mk_binary(n) for n in ("bitwise_and", "bitwise_or", "bitwise_xor"))
left_shift, right_shift = _mk_binary("left_shift"), _mk_binary("right_shift")


def _unary(opn: str, x: Any, dtype: Any) -> Any:
    if _K.MATERIALIZE is not None:
        x = _K.MATERIALIZE(x)
    if not isinstance(x, NkiTensor):
        return _alu.ACT[opn](np.float32(x))
    out = _new(x.shape, dtype or x.dtype)
    if opn == "reciprocal":
        _isa.reciprocal(dst=out, data=x)
    elif opn == "negative":
        _isa.tensor_scalar(dst=out, data=x, op0="multiply", operand0=-1.0)
    elif opn in ("invert", "logical_not") and _dt.is_int(x.dtype):
        _isa.tensor_scalar(dst=out, data=x, op0="bitwise_xor" if opn == "invert" else "equal",
                           operand0=-1 if opn == "invert" else 0)
    else:
        _isa.activation(dst=out, op=opn, data=x)
    return out


def _mk_unary(opn: str):
    def f(x: Any, dtype: Any = None, mask: Any = None, **_k: Any) -> Any:
        return _unary(opn, x, dtype)
    f.__name__ = f.__qualname__ = opn
    f.__doc__ = f"Elementwise ``{opn}`` (Scalar Engine activation unless noted)."
    return f


_UNARY = ("exp", "log", "sqrt", "rsqrt", "reciprocal", "square", "abs", "sign", "negative", "ceil", "floor", "trunc",
          "sin", "cos", "tan", "arctan", "tanh", "relu", "sigmoid", "silu", "silu_dx", "gelu", "gelu_dx",
          "gelu_apprx_tanh", "gelu_apprx_sigmoid", "gelu_apprx_sigmoid_dx", "softplus", "mish", "erf", "erf_dx",
          "invert", "logical_not")
for _n in _UNARY:
    globals()[_n] = _mk_unary(_n)
identity = _mk_unary("identity")
bypass = _mk_unary("bypass")
prelu = "prelu"
average = "average"


# ------------------------------------------------------------------ reductions
def _norm_axis(x: NkiTensor, axis: Any) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(1, x.ndim))
    ax = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(sorted(int(a) % x.ndim for a in ax))


def _reduce(opn: str, x: Any, axis: Any, dtype: Any, keepdims: bool, negate: bool = False) -> NkiTensor:
    if _K.MATERIALIZE is not None:
        x = _K.MATERIALIZE(x)
    x = _t(x)
    ax = _norm_axis(x, axis)
    if ax and ax != tuple(range(ax[0], x.ndim)) and 0 not in ax:
        # reduce non-trailing axes: move them last with a view
        keep = [d for d in range(x.ndim) if d not in ax]
        x = x.permute(keep + list(ax))
        ax = tuple(range(len(keep), x.ndim))
    if keepdims:
        shape = [1 if d in ax else n for d, n in enumerate(x.shape)]
    else:
        shape = [n for d, n in enumerate(x.shape) if d not in ax]
        if len(shape) < 2:
            shape = shape + [1] * (2 - len(shape))
    out = _new(shape, dtype or x.dtype)
    _isa.tensor_reduce(dst=out, op=opn, data=x, axis=ax, negate=negate, keepdims=keepdims)
    return out


def _mk_reduce(opn: str, name: str):
    def f(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, mask: Any = None, **_k: Any) -> Any:
        return _reduce(opn, x, axis, dtype, keepdims)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Reduce with ``{opn}`` over free axes (Vector Engine tensor_reduce)."
    return f


sum = _mk_reduce("add", "sum")  # noqa: A001
max = _mk_reduce("max", "max")  # noqa: A001
min = _mk_reduce("min", "min")  # noqa: A001
prod = _mk_reduce("multiply", "prod")
all = _mk_reduce("logical_and", "all")  # noqa: A001
any = _mk_reduce("logical_or", "any")  # noqa: A001


def mean(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, mask: Any = None, **_k: Any) -> Any:
    x = _t(x)
    ax = _norm_axis(x, axis)
    n = int(np.prod([x.shape[a] for a in ax])) or 1
    s = _reduce("add", x, ax, np.float32, keepdims)
    out = _new(s.shape, dtype or x.dtype)
    _isa.tensor_scalar(dst=out, data=s, op0="multiply", operand0=1.0 / n)
    return out


def var(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, mask: Any = None, **_k: Any) -> Any:
    x = _t(x)
    ax = _norm_axis(x, axis)
    m = mean(x, ax, np.float32, keepdims=True)
    centered = _new(x.shape, np.float32)
    _isa.tensor_tensor(dst=centered, data1=x, data2=_bcast_free(m, x.shape), op="subtract")
    sq = multiply(centered, centered)
    return mean(sq, ax, dtype or x.dtype, keepdims)


# ------------------------------------------------------------------ manipulation / misc
def broadcast_to(x: Any, shape: Any, **_k: Any) -> NkiTensor:
    x = _t(x)
    shape = tuple(int(s) for s in shape)
    if len(shape) != x.ndim:
        x = x.reshape(list(x.shape) + [1] * (len(shape) - x.ndim)) if len(shape) > x.ndim else x
    if x.shape[0] == shape[0] or not x.on_chip:
        return _bcast_free(x, shape) if x.on_chip else x.broadcast_to(shape)
    if x.shape[0] != 1:
        _K.fail("nl.broadcast_to", f"cannot broadcast partition dim {x.shape[0]} to {shape[0]}")
    # partition broadcast on the Tensor Engine: ones[1, P].T @ x[1, F]
    c = _rt.current()
    ones_ = _new((1, shape[0]), x.dtype if _dt.name(x.dtype) != "float32" else np.float32)
    _isa.memset(dst=ones_, value=1.0)
    src = x
    if src.storage.space == "psum":
        tmp = _new(src.shape, src.dtype)
        _isa.tensor_copy(dst=tmp, src=src)
        src = tmp
    if _dt.name(src.dtype) not in ("bfloat16", "float16", "float32", "tfloat32", "float8_e4m3", "float8_e5m2"):
        tmp = _new(src.shape, np.float32)
        _isa.tensor_copy(dst=tmp, src=src)
        src = tmp
    f = src.free_size
    flat = src.reshape((1, f)) if src.ndim != 2 else src
    if _dt.name(ones_.dtype) != _dt.name(flat.dtype) and "float32" in (_dt.name(ones_.dtype), _dt.name(flat.dtype)):
        o2 = _new((1, shape[0]), flat.dtype)
        _isa.memset(dst=o2, value=1.0)
        ones_ = o2
    out = _new((shape[0], f), x.dtype)
    step = c.moving_fmax
    for j in range(0, f, step):
        w = builtins_min(step, f - j)
        ps = _new((shape[0], w), np.float32, "psum")
        _isa.nc_matmul(dst=ps, stationary=ones_, moving=flat[:, j:j + w])
        _isa.tensor_copy(dst=out[:, j:j + w], src=ps)
    res = out.reshape((shape[0],) + tuple(x.shape[1:])) if x.ndim != 2 else out
    return _bcast_free(res, shape)


def builtins_min(a: int, b: int) -> int:
    return a if a < b else b


def expand_dims(x: Any, axis: int) -> NkiTensor:
    return _t(x).expand_dim(axis)


def where(condition: Any, x: Any, y: Any, dtype: Any = None, mask: Any = None, **_k: Any) -> NkiTensor:
    cond = _t(condition, "condition")
    if not isinstance(x, NkiTensor):
        xt = _new(cond.shape, dtype or (y.dtype if isinstance(y, NkiTensor) else np.float32))
        _isa.memset(dst=xt, value=x)
        x = xt
    out = _new(x.shape, dtype or x.dtype)
    _isa.select_reduce(dst=out, predicate=cond, on_true=x, on_false=y)
    return out


def softmax(x: Any, axis: Any = -1, dtype: Any = None, **_k: Any) -> NkiTensor:
    x = _t(x)
    mx = _reduce("max", x, axis, np.float32, True)
    neg = _new(mx.shape, np.float32)
    _isa.tensor_scalar(dst=neg, data=mx, op0="multiply", operand0=-1.0)
    e = _new(x.shape, np.float32)
    s = _new((x.shape[0], 1), np.float32)
    _isa.activation(dst=e, op="exp", data=x, bias=neg.reshape((x.shape[0], 1)), reduce_op="add", reduce_res=s,
                    reduce_cmd="reset_reduce")
    r = _new(s.shape, np.float32)
    _isa.reciprocal(dst=r, data=s)
    out = _new(x.shape, dtype or x.dtype)
    _isa.tensor_scalar(dst=out, data=e, op0="multiply", operand0=r)
    return out


def rms_norm(x: Any, w: Any, axis: Any = -1, n: Any = None, epsilon: float = 1e-6, dtype: Any = None,
             compute_dtype: Any = None, **_k: Any) -> NkiTensor:
    x = _t(x)
    f = n or x.free_size
    sq = _new(x.shape, np.float32)
    ss = _new((x.shape[0], 1), np.float32)
    _isa.activation(dst=sq, op="square", data=x, reduce_op="add", reduce_res=ss, reduce_cmd="reset_reduce")
    r = _new(ss.shape, np.float32)
    _isa.tensor_scalar(dst=r, data=ss, op0="multiply", operand0=1.0 / f, op1="add", operand1=epsilon)
    _isa.activation(dst=r, op="rsqrt", data=r)
    y = _new(x.shape, np.float32)
    _isa.tensor_scalar(dst=y, data=x, op0="multiply", operand0=r)
    return multiply(y, w, dtype=dtype or x.dtype)


def dropout(x: Any, rate: Any, dtype: Any = None, **_k: Any) -> NkiTensor:
    x = _t(x)
    out = _new(x.shape, dtype or x.dtype)
    _isa.dropout(dst=out, data=x, prob=rate)
    return out


def gather_flattened(data: Any, indices: Any, axis: int = 0, dtype: Any = None, **_k: Any) -> NkiTensor:
    """``out[p, j] = data[p, indices[p, j]]`` over each partition's flattened free dims (GpSimd)."""
    d, ix = _t(data, "data"), _t(indices, "indices")
    out = _new(ix.shape, dtype or d.dtype)
    _isa.nc_n_gather(dst=out, data=d, indices=ix)
    return out


def static_cast(arr: Any, dtype: Any) -> Any:
    return _dt.cast(np.asarray(arr), dtype)


def loop_reduce(x: Any, op: Any, loop_indices: Any = None, **_k: Any) -> Any:
    return x

"""Operator tables: ALU (binary) ops, activation functions and reductions, keyed by the NKI op name."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

F32 = np.float32


def opname(op: Any) -> str:
    """``nl.add`` / ``np.add`` / ``"add"`` -> ``"add"``."""
    if op is None:
        return "none"
    if isinstance(op, str):
        return op
    n = getattr(op, "op_name", None) or getattr(op, "__name__", None)
    if n is None:
        raise TypeError(f"not an NKI operator: {op!r}")
    return n


def _ints(x: np.ndarray) -> np.ndarray:
    return x if x.dtype.kind in "iu" else x.astype(np.int64)


def _cmp(f: Callable) -> Callable:
    return lambda a, b: f(a, b).astype(F32)


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(np.asarray(x, np.float64)).astype(F32) if np.size(x) else x


def _gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _gelu_dx(x):
    return 0.5 * (1.0 + _erf(x / math.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _silu_dx(x):
    s = _sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


def _softplus(x):
    return np.logaddexp(0.0, x)


ALU: dict[str, Callable[[Any, Any], Any]] = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "maximum": np.maximum, "minimum": np.minimum, "max": np.maximum, "min": np.minimum,
    "power": lambda a, b: np.power(a, b),
    "fmod": np.fmod, "mod": np.mod,
    "abs_max": lambda a, b: np.maximum(np.abs(a), np.abs(b)),
    "abs_min": lambda a, b: np.minimum(np.abs(a), np.abs(b)),
    "equal": _cmp(np.equal), "not_equal": _cmp(np.not_equal), "greater": _cmp(np.greater),
    "greater_equal": _cmp(np.greater_equal), "less": _cmp(np.less), "less_equal": _cmp(np.less_equal),
    "logical_and": _cmp(lambda a, b: np.logical_and(a != 0, b != 0)),
    "logical_or": _cmp(lambda a, b: np.logical_or(a != 0, b != 0)),
    "logical_xor": _cmp(lambda a, b: np.logical_xor(a != 0, b != 0)),
    "bitwise_and": lambda a, b: np.bitwise_and(_ints(a), _ints(b)),
    "bitwise_or": lambda a, b: np.bitwise_or(_ints(a), _ints(b)),
    "bitwise_xor": lambda a, b: np.bitwise_xor(_ints(a), _ints(b)),
    "left_shift": lambda a, b: np.left_shift(_ints(a), _ints(b)),
    "right_shift": lambda a, b: np.right_shift(_ints(a), _ints(b)),
    "logical_shift_right": lambda a, b: np.right_shift(_ints(a), _ints(b)),
    "bypass": lambda a, b: a,
}

# unary functions (activation table and unary ALU ops)
ACT: dict[str, Callable[[Any], Any]] = {
    "copy": lambda x: x, "identity": lambda x: x, "bypass": lambda x: x,
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "rsqrt": lambda x: 1.0 / np.sqrt(x),
    "reciprocal": lambda x: 1.0 / x, "square": np.square, "abs": np.abs, "sign": np.sign,
    "negative": np.negative, "ceil": np.ceil, "floor": np.floor, "trunc": np.trunc,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "arctan": np.arctan, "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0), "sigmoid": _sigmoid, "silu": lambda x: x * _sigmoid(x),
    "silu_dx": _silu_dx, "gelu": _gelu, "gelu_dx": _gelu_dx, "gelu_apprx_tanh": _gelu_tanh,
    "gelu_apprx_sigmoid": lambda x: x * _sigmoid(1.702 * x),
    "gelu_apprx_sigmoid_dx": lambda x: _sigmoid(1.702 * x) * (1 + 1.702 * x * (1 - _sigmoid(1.702 * x))),
    "softplus": _softplus, "mish": lambda x: x * np.tanh(_softplus(x)), "erf": _erf,
    "erf_dx": lambda x: 2.0 / math.sqrt(math.pi) * np.exp(-x * x),
    "invert": lambda x: np.invert(_ints(x)), "logical_not": lambda x: (x == 0).astype(F32),
    "is_finite": lambda x: np.isfinite(x).astype(F32),
}
# documented valid input ranges of the ScalarE function approximations (outside: warn)
ACT_RANGE: dict[str, tuple[float, float]] = {
    "sin": (-math.pi, math.pi), "cos": (-math.pi, math.pi), "log": (2.0 ** -64, 2.0 ** 64),
    "rsqrt": (2.0 ** -87, 2.0 ** 97),
}

REDUCE: dict[str, Callable[..., Any]] = {
    "add": np.sum, "sum": np.sum, "maximum": np.max, "max": np.max, "minimum": np.min, "min": np.min,
    "multiply": np.prod, "prod": np.prod, "subtract": None,  # type: ignore[dict-item]
    "bitwise_and": np.bitwise_and.reduce, "bitwise_or": np.bitwise_or.reduce,
    "bitwise_xor": np.bitwise_xor.reduce,
    "logical_and": np.all, "logical_or": np.any, "all": np.all, "any": np.any,
    "logical_xor": lambda a, axis, keepdims=False: np.logical_xor.reduce(a != 0, axis=axis, keepdims=keepdims),
}
# binary op used to fold a running value (scan / accumulator registers)
FOLD = {"add": np.add, "sum": np.add, "maximum": np.maximum, "max": np.maximum, "minimum": np.minimum,
        "min": np.minimum, "multiply": np.multiply, "prod": np.multiply, "subtract": np.subtract}


def reduce(op: str, x: np.ndarray, axis: Any, keepdims: bool = True) -> np.ndarray:
    if op == "subtract":
        first = np.take(x, [0], axis=axis[0] if isinstance(axis, tuple) else axis)
        return first - np.sum(x, axis=axis, keepdims=True) + first
    f = REDUCE[op]
    if op.startswith("bitwise"):
        x = _ints(x)
        if isinstance(axis, tuple):
            for a in sorted(axis, reverse=True):
                x = f(x, axis=a, keepdims=True)
            return x if keepdims else np.squeeze(x, axis)
    if op in ("logical_and", "logical_or", "all", "any"):
        return f(x != 0, axis=axis, keepdims=keepdims).astype(F32)
    return f(x, axis=axis, keepdims=keepdims)

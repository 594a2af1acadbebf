"""``nki.language`` (new API; the old ``neuronxcc.nki.language`` extends it in :mod:`trnsim.nki.legacy`)."""

from trnsim.nki.language.core import *  # noqa: F401,F403
from trnsim.nki.language.core import __all__ as _core_all
from trnsim.nki.language.ops import *  # noqa: F401,F403
from trnsim.nki.language.ops import (abs_max, abs_min, add, all, any, average, bitwise_and, bitwise_or,  # noqa: F401
                                     bitwise_xor, broadcast_to, bypass, copy, divide, dropout, equal,
                                     expand_dims, fmod, gather_flattened, greater, greater_equal, identity,
                                     left_shift, less, less_equal, load, load_transpose2d, logical_and,
                                     logical_or, logical_xor, loop_reduce, matmul, max, maximum, mean, min,
                                     minimum, mod, multiply, not_equal, power, prelu, prod, right_shift,
                                     rms_norm, softmax, static_cast, store, subtract, sum, transpose, var, where)
from trnsim.nki.language.ops import _UNARY

from trnsim.nki.language import ops as _ops

for _n in _UNARY:
    globals()[_n] = getattr(_ops, _n)

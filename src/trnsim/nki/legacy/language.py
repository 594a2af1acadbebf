"""``neuronxcc.nki.language``: the new ``nki.language`` plus the old index/mask helpers."""

from trnsim.nki.language import *  # noqa: F401,F403
from trnsim.nki.language import _UNARY  # noqa: F401
from trnsim.nki import language as _nl

for _n in _UNARY:
    globals()[_n] = getattr(_nl, _n)

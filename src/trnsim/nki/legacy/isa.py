"""``neuronxcc.nki.isa``: value-returning instruction wrappers."""

from trnsim.nki.isa import *  # noqa: F401,F403

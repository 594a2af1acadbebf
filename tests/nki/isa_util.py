"""Tiny helpers to wrap single instructions into kernels."""

from __future__ import annotations

import trnsim.nki.isa as nisa
import trnsim.nki.language as nl


def sb(x, dtype=None):
    """HBM tensor -> new SBUF tile."""
    t = nl.ndarray(x.shape, dtype=dtype or x.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=t, src=x)
    return t


def out(t, dtype=None):
    """On-chip tile -> new shared_hbm output (evicting PSUM through SBUF)."""
    if t.buffer == nl.psum:
        s = nl.ndarray(t.shape, dtype=dtype or t.dtype, buffer=nl.sbuf)
        nisa.tensor_copy(dst=s, src=t)
        t = s
    o = nl.ndarray(t.shape, dtype=dtype or t.dtype, buffer=nl.shared_hbm)
    nisa.dma_copy(dst=o, src=t)
    return o

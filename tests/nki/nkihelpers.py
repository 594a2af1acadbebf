"""Shared helpers for the NKI layer tests (imported as a plain module: tests/nki is on sys.path)."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from trnsim.nki.runtime import load_target_core

BF16 = ml_dtypes.bfloat16
TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), BF16: dict(rtol=2e-2, atol=2e-2)}


def has_target(t: str) -> bool:
    try:
        load_target_core(t)
        return True
    except Exception:
        return False


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def close(out, ref, dtype=np.float32, scale=1.0):
    out = np.asarray(out, dtype=np.float32)
    ref = np.asarray(ref, dtype=np.float32)
    tol = TOL[dtype]
    np.testing.assert_allclose(out, ref, rtol=tol["rtol"], atol=tol["atol"] * scale)


needs_trn1 = pytest.mark.skipif(not has_target("trn1"), reason="neuroncore-v2 not in the hardware catalog yet")
needs_trn3 = pytest.mark.skipif(not has_target("trn3"), reason="neuroncore-v4 not in the hardware catalog yet")

"""Tiled elementwise add (current NKI API) with a ragged last row tile.

Run: trnsim kernel run examples/kernels/tensor_add.py
"""

import numpy as np

import nki
import nki.isa as nisa
import nki.language as nl


@nki.jit
def add_kernel(a, b):
    rows, cols = a.shape
    P = nl.tile_size.pmax
    F = 512
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range((rows + P - 1) // P):
        p = min(P, rows - i * P)
        for j in nl.affine_range(cols // F):
            x = nl.ndarray((p, F), dtype=a.dtype, buffer=nl.sbuf)
            y = nl.ndarray((p, F), dtype=b.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=x, src=a[i * P:i * P + p, j * F:(j + 1) * F])
            nisa.dma_copy(dst=y, src=b[i * P:i * P + p, j * F:(j + 1) * F])
            z = nl.ndarray((p, F), dtype=a.dtype, buffer=nl.sbuf)
            nisa.tensor_tensor(dst=z, data1=x, data2=y, op=nl.add)
            nisa.dma_copy(dst=out[i * P:i * P + p, j * F:(j + 1) * F], src=z)
    return out


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    a = rng.random((300, 1024), dtype=np.float32)
    b = rng.random((300, 1024), dtype=np.float32)
    c = nki.simulate(add_kernel)(a, b)
    np.testing.assert_allclose(c, a + b, rtol=1e-6)
    print("tensor_add: OK", c.shape)

"""Causal single-head attention forward (current NKI API): S = QK^T/sqrt(d), causal mask with
affine_select, softmax, O = softmax(S) V with TensorE transposes of the probabilities.

Run: trnsim kernel run examples/kernels/attention.py
"""

import numpy as np

import nki
import nki.isa as nisa
import nki.language as nl


@nki.jit
def attention_kernel(qT, kT, v):
    d, s = qT.shape  # qT, kT: [d, S]; v: [S, d]
    P = nl.tile_size.pmax
    out = nl.ndarray((s, d), dtype=v.dtype, buffer=nl.shared_hbm)
    keys = nl.ndarray((d, s), dtype=kT.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=keys, src=kT)
    vals = nl.ndarray((P, s // P, d), dtype=v.dtype, buffer=nl.sbuf)
    for j in nl.affine_range(s // P):
        nisa.dma_copy(dst=vals[:, j, :], src=v[j * P:(j + 1) * P, :])
    for i in nl.affine_range(s // P):
        q = nl.ndarray((d, P), dtype=qT.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=q, src=qT[:, i * P:(i + 1) * P])
        scores_ps = nl.ndarray((P, s), dtype=nl.float32, buffer=nl.psum)
        nisa.nc_matmul(dst=scores_ps, stationary=q, moving=keys)
        scores = nl.ndarray((P, s), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=scores, op=nl.copy, data=scores_ps, scale=1.0 / np.sqrt(d))
        # row r = i*P + p may see key j only if r - j >= 0
        masked = nl.ndarray((P, s), dtype=nl.float32, buffer=nl.sbuf)
        nisa.affine_select(dst=masked, pattern=[[-1, s]], channel_multiplier=1, on_true_tile=scores,
                           on_false_value=-3.0e38, cmp_op=nl.greater_equal, offset=i * P)
        neg_max = nl.ndarray((P, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_reduce(dst=neg_max, op=nl.max, data=masked, axis=1, negate=True)
        probs = nl.ndarray((P, s), dtype=v.dtype, buffer=nl.sbuf)
        total = nl.ndarray((P, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=probs, op=nl.exp, data=masked, bias=neg_max, reduce_op=nl.add, reduce_res=total,
                        reduce_cmd=nisa.reduce_cmd.reset_reduce)
        inv = nl.ndarray((P, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.reciprocal(dst=inv, data=total)
        o_ps = nl.ndarray((P, d), dtype=nl.float32, buffer=nl.psum)
        for j in nl.affine_range(i + 1):  # blocks above the diagonal are fully masked: skip them
            pT_ps = nl.ndarray((P, P), dtype=nl.float32, buffer=nl.psum)
            nisa.nc_transpose(dst=pT_ps, data=probs[:, j * P:(j + 1) * P])
            pT = nl.ndarray((P, P), dtype=v.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=pT, src=pT_ps)
            nisa.nc_matmul(dst=o_ps, stationary=pT, moving=vals[:, j, :])
        o = nl.ndarray((P, d), dtype=v.dtype, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=o, data=o_ps, op0=nl.multiply, operand0=inv)
        nisa.dma_copy(dst=out[i * P:(i + 1) * P, :], src=o)
    return out


def reference(qT, kT, v):
    q, k, v = (np.asarray(a, np.float32) for a in (qT.T, kT.T, v))
    s = q @ k.T / np.sqrt(q.shape[1])
    s = np.where(np.tril(np.ones(s.shape, bool)), s, -np.inf)
    p = np.exp(s - s.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)) @ v


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    d, s = 64, 512
    qT, kT = (rng.standard_normal((d, s)).astype(nl.bfloat16) for _ in range(2))
    v = rng.standard_normal((s, d)).astype(nl.bfloat16)
    o = nki.simulate(attention_kernel)(qT, kT, v)
    np.testing.assert_allclose(o.astype(np.float32), reference(qT, kT, v), rtol=5e-2, atol=5e-2)
    print("attention: OK", o.shape)

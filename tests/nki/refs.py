"""NumPy references for the tutorial-style kernels."""

from __future__ import annotations

import numpy as np


def f32(x):
    return np.asarray(x, dtype=np.float32)


def avg_pool(x, k):
    c, h, w = x.shape
    return f32(x).reshape(c, h // k, k, w // k, k).mean(axis=(2, 4))


def rmsnorm(x, g, eps=1e-6):
    x = f32(x)
    return x / np.sqrt((x * x).mean(axis=1, keepdims=True) + eps) * f32(g)[None, :]


def layernorm(x, gamma, beta, eps=1e-5):
    x = f32(x)
    m = x.mean(axis=1, keepdims=True)
    v = x.var(axis=1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * f32(gamma) + f32(beta)


def softmax(x):
    x = f32(x)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def causal_attention(qT, kT, v):
    q, k, v = f32(qT).T, f32(kT).T, f32(v)
    s = q @ k.T / np.sqrt(q.shape[1])
    n = s.shape[0]
    s = np.where(np.tril(np.ones((n, n), bool)), s, -np.inf)
    return softmax(s) @ v


def selective_scan(delta, u, a, b, c):
    delta, u, a, b, c = map(f32, (delta, u, a, b, c))
    ch, ln = delta.shape
    h = np.zeros((ch, a.shape[1]), np.float32)
    y = np.zeros((ch, ln), np.float32)
    for t in range(ln):
        h = np.exp(delta[:, t:t + 1] * a) * h + (delta[:, t] * u[:, t])[:, None] * b[:, t][None, :]
        y[:, t] = h @ c[:, t]
    return y

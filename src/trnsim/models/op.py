"""Op: one unit of work a model layer does (the interface between ``models`` and ``ops``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

OpKind = Literal[
    "gemm",         # shape: m, n, k (+ batch for batched GEMM)
    "moe_gemm",     # grouped GEMM: shape m (tokens per expert), n, k, experts (active groups)
    "attention",    # shape: batch, q_len, kv_len, q_heads, kv_heads, head_dim, head_dim_v, causal (0/1), window
    "norm",         # shape: tokens, hidden
    "elementwise",  # shape: elements
    "softmax",      # shape: rows, cols
    "embedding",    # shape: tokens, hidden, vocab
]


@dataclass(frozen=True, slots=True)
class Op:
    """Work of one operator: FLOPs and bytes moved, with its shape for shape-aware cost models.

    ``count`` repeats the op (e.g. per layer); totals are ``count * flops`` etc.
    """

    name: str
    kind: OpKind
    flops: float
    bytes_read: float
    bytes_written: float
    dtype: str = "bf16"
    shape: Mapping[str, int] = field(default_factory=dict)
    phase: str = ""  # "fwd", "bwd", "prefill", "decode"
    count: int = 1

    @property
    def bytes(self) -> float:
        return self.bytes_read + self.bytes_written

    @property
    def intensity(self) -> float:
        """FLOPs per byte moved."""
        return self.flops / self.bytes if self.bytes else float("inf")

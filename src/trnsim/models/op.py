"""Op: one unit of work a model layer does (the interface between ``models`` and ``ops``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal, Mapping

OpKind = Literal[
    "gemm",         # shape: m, n, k (+ batch for batched GEMM)
    "moe_gemm",     # grouped GEMM: shape m (tokens per expert), n, k, experts (active groups)
    "attention",    # shape: batch, q_len, kv_len, q_heads, kv_heads, head_dim, head_dim_v, causal (0/1), window
                    #   (+ chunk for Llama-4 chunked attention; kv_len = cached + new tokens)
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
    layer: str = ""  # layer group the op belongs to ("embed", "dense", "moe", "dense.swa128", "head")

    @property
    def bytes(self) -> float:
        return self.bytes_read + self.bytes_written

    @property
    def intensity(self) -> float:
        """FLOPs per byte moved."""
        return self.flops / self.bytes if self.bytes else float("inf")

    @property
    def total_flops(self) -> float:
        """``count * flops``."""
        return self.count * self.flops

    @property
    def total_bytes(self) -> float:
        """``count * (bytes_read + bytes_written)``."""
        return self.count * self.bytes


def total_flops(ops: Iterable[Op]) -> float:
    """Sum of ``count * flops`` over ``ops``."""
    return sum(o.count * o.flops for o in ops)


def total_bytes(ops: Iterable[Op]) -> float:
    """Sum of ``count * (bytes_read + bytes_written)`` over ``ops``."""
    return sum(o.count * o.bytes for o in ops)

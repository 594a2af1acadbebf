"""Indirect (runtime-indexed) views for DMA gather/scatter.

``IndirectView`` is a strided view whose row ``p`` is additionally displaced by ``index[p] * ind_stride``
elements, where ``index`` is an on-chip tile holding one integer per partition. It comes from
``t.ap(..., vector_offset=idx)`` (new API) or ``t[idx_tile, i_f]`` (old API); only DMA instructions accept it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trnsim.nki.tensor import NkiTensor


class IndirectView(NkiTensor):
    __slots__ = ("index", "ind_stride", "ind_size")

    @classmethod
    def make(cls, storage: Any, shape: tuple, strides: tuple, offset: int, dtype: Any, index: NkiTensor,
             ind_stride: int, ind_size: int) -> "IndirectView":
        v = cls(storage, tuple(shape), tuple(strides), offset, dtype)
        v.index, v.ind_stride, v.ind_size = index, int(ind_stride), int(ind_size)
        return v

    def indices(self) -> np.ndarray | None:
        iv = self.index.np()
        if iv is None:
            return None
        n = self.shape[0]
        flat = np.asarray(iv).reshape(iv.shape[0], -1)[:, 0].astype(np.int64)
        if flat.size != n:
            flat = np.resize(flat, n)
        return flat

    def _row(self, p: int, i: int) -> NkiTensor:
        return NkiTensor(self.storage, self.shape[1:], self.strides[1:],
                         self.offset + p * self.strides[0] + i * self.ind_stride, self.dtype)

    def valid(self, idx: np.ndarray) -> np.ndarray:
        return (idx >= 0) & (idx < self.ind_size)

    def gather(self, idx: np.ndarray, ok: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape, self.storage.array.dtype)
        for p, (i, good) in enumerate(zip(idx, ok)):
            if good:
                out[p] = self._row(p, int(i)).np()
        return out

    def scatter(self, values: np.ndarray, idx: np.ndarray, ok: np.ndarray, combine: Any = None) -> None:
        vals = values.reshape(self.shape)
        for p, (i, good) in enumerate(zip(idx, ok)):
            if good:
                row = self._row(p, int(i)).np()
                row[...] = vals[p] if combine is None else combine(row, vals[p])

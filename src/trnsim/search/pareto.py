"""Pareto fronts over any mix of maximised and minimised metrics."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np


def pareto_mask(values: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values`` (n x k). NaN rows are never on the front."""
    v = np.asarray(values, dtype=float).copy()
    if v.size == 0:
        return np.zeros(len(v), dtype=bool)
    sign = np.where(np.asarray(maximize), -1.0, 1.0)  # turn everything into minimisation
    v *= sign
    valid = ~np.isnan(v).any(axis=1)
    mask = valid.copy()
    idx = np.flatnonzero(valid)
    order = idx[np.lexsort(v[idx].T[::-1])]  # sort by first objective, then the next...
    front: list[int] = []
    for i in order:
        row = v[i]
        if front:
            f = v[front]
            dominated = np.any(np.all(f <= row, axis=1) & np.any(f < row, axis=1))
            if dominated:
                mask[i] = False
                continue
        front.append(i)
    return mask


def pareto_front(rows: Sequence[Mapping[str, float]], objectives: Mapping[str, str]) -> list[int]:
    """Indices of the rows on the Pareto front of ``objectives`` (metric -> "max"|"min")."""
    keys = list(objectives)
    if not rows or not keys:
        return []
    vals = np.array([[float(r.get(k, np.nan)) for k in keys] for r in rows])
    mask = pareto_mask(vals, [objectives[k] == "max" for k in keys])
    return [int(i) for i in np.flatnonzero(mask)]

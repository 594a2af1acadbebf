"""Predictor registry: each layer registers a function that predicts the metric of a ground-truth row.

A predictor is ``fn(row: GroundTruthRow) -> Prediction``; it raises :class:`NotSupported` (with a
reason) for rows it cannot handle. Several predictors may serve one category: they are tried from
the highest ``rank`` down (a roofline bound ranks below a calibrated model), and the first that
supports the row answers.

Register from any module under ``trnsim.validate.predictors`` (modules there are imported
automatically)::

    @register("gemm_microbench", name="gemm-roofline", rank=0)
    def predict(row): ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from trnsim.errors import TrnsimError
from trnsim.validate.rows import GroundTruthRow


class NotSupported(Exception):
    """The predictor cannot handle this row; ``str(e)`` says why."""


@dataclass(frozen=True)
class Prediction:
    """A predicted value in the row's ``unit``, the method used, and notes (assumptions, inputs)."""

    value: float
    method: str
    note: str = ""


Predictor = Callable[[GroundTruthRow], Prediction]


@dataclass(frozen=True)
class Entry:
    category: str
    name: str
    rank: int
    fn: Predictor
    metrics: tuple[str, ...] = ()  # empty: all metrics of the category


_REGISTRY: dict[str, list[Entry]] = {}
_loaded = False


def register(category: str, *, name: str, rank: int = 0, metrics: tuple[str, ...] = ()) -> Callable[[Predictor], Predictor]:
    """Decorator registering a predictor for ``category`` (optionally only some ``metrics``)."""

    def deco(fn: Predictor) -> Predictor:
        entries = _REGISTRY.setdefault(category, [])
        entries[:] = [e for e in entries if e.name != name]
        entries.append(Entry(category, name, rank, fn, tuple(metrics)))
        entries.sort(key=lambda e: -e.rank)
        return fn

    return deco


def load_predictors() -> None:
    """Import every module in ``trnsim.validate.predictors`` (each registers its predictors)."""
    global _loaded
    if _loaded:
        return
    import importlib
    import pkgutil

    import trnsim.validate.predictors as pkg

    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")
    _loaded = True


def predictors_for(category: str) -> list[Entry]:
    load_predictors()
    return list(_REGISTRY.get(category, []))


def categories() -> list[str]:
    load_predictors()
    return sorted(_REGISTRY)


@dataclass
class Outcome:
    prediction: Prediction | None
    predictor: str | None
    reasons: list[str] = field(default_factory=list)


def predict(row: GroundTruthRow) -> Outcome:
    """Ask the predictors of the row's category in rank order; collect the reasons of those that decline."""
    reasons: list[str] = []
    entries = predictors_for(row.category)
    if not entries:
        return Outcome(None, None, [f"no predictor for category {row.category!r} yet"])
    for e in entries:
        if e.metrics and row.metric not in e.metrics:
            continue
        try:
            return Outcome(e.fn(row), e.name, reasons)
        except NotSupported as ns:
            reasons.append(f"{e.name}: {ns}")
        except TrnsimError as te:  # the simulator rejects the row's configuration: decline with its reason
            reasons.append(f"{e.name}: {te}")
    if not reasons:
        reasons.append(f"no predictor for metric {row.metric!r} of category {row.category!r}")
    return Outcome(None, None, reasons)

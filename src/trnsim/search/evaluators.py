"""Evaluators: config dict -> metrics dict, one per sweep kind. Invalid configs raise :class:`Pruned`.

Evaluators are module-level functions looked up by kind name, so worker processes and Ray tasks
import them by reference (nothing large is pickled).
"""

from __future__ import annotations

from typing import Any, Callable

from trnsim.errors import TrnsimError

Metrics = dict[str, Any]
Evaluator = Callable[[dict[str, Any]], Metrics]


class Pruned(Exception):
    """This configuration is invalid or fails a constraint; ``str(e)`` is the (countable) reason."""


_EVALUATORS: dict[str, Evaluator] = {}


def price_per_chip_hour(cfg: dict[str, Any], system: Any) -> float | None:
    """The configuration's ``price_per_chip_hour``, else the catalog's on-demand price per chip, else None."""
    price = cfg.get("price_per_chip_hour")
    if price is None and system.price.on_demand is not None:
        price = system.price.on_demand.si / system.num_chips
    return None if price is None else float(price)


def evaluator(kind: str) -> Callable[[Evaluator], Evaluator]:
    def deco(fn: Evaluator) -> Evaluator:
        _EVALUATORS[kind] = fn
        return fn

    return deco


def get_evaluator(kind: str) -> Evaluator:
    _load_builtin()
    try:
        return _EVALUATORS[kind]
    except KeyError:
        raise TrnsimError(f"unknown sweep kind {kind!r}", f"use one of {', '.join(sorted(_EVALUATORS))}") from None


def _load_builtin() -> None:
    import importlib.util

    for mod in ("trnsim.search.eval_hardware", "trnsim.search.eval_training", "trnsim.search.eval_serving"):
        if importlib.util.find_spec(mod) is not None:
            importlib.import_module(mod)

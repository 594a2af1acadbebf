"""The ``hardware`` sweep kind: datasheet metrics of systems, per chip-hour price and per watt.

Axes: ``system`` (catalog name or file), ``dtype`` (default bf16), ``price_per_chip_hour``
(optional user price; otherwise the catalog's on-demand price, if any).
"""

from __future__ import annotations

from typing import Any

from trnsim.errors import TrnsimError
from trnsim.hardware import load_system
from trnsim.search.evaluators import Metrics, Pruned, evaluator, price_per_chip_hour


@evaluator("hardware")
def evaluate(cfg: dict[str, Any]) -> Metrics:
    if "system" not in cfg:
        raise Pruned("no system given")
    try:
        system = load_system(str(cfg["system"]))
    except TrnsimError as e:
        raise Pruned(str(e)) from None
    dtype = str(cfg.get("dtype", "bf16"))
    chip = system.chip_
    if dtype not in chip.peak_flops:
        raise Pruned(f"{chip.name} has no {dtype} peak")
    n = system.num_chips
    pf = chip.peak_flops[dtype].si * n / 1e15
    out: Metrics = {
        "peak_pflops": pf,
        "hbm_tib": chip.hbm_capacity.si * n / 2**40,
        "hbm_tbps": chip.hbm_bandwidth.si * n / 1e12,
        "chips": n,
    }
    price = price_per_chip_hour(cfg, system)
    if price is not None:
        out["usd_per_chip_hour"] = price
        out["pflops_per_usd_hour"] = pf / (price * n) if price else float("inf")
    if chip.tdp is not None:
        out["tflops_per_watt"] = chip.peak_flops[dtype].si / chip.tdp.si / 1e12
    return out

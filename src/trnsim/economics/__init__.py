"""Power, energy and cost: ``chip_power``, ``system_power``, ``system_price``, $/Mtok."""

from trnsim.economics.cost import Price, system_price, usd_per_million_tokens
from trnsim.economics.power import (PowerBreakdown, PowerModel, Utilization, chip_power, chip_tdp, serving_utilization,
                                    system_power)

__all__ = [
    "PowerBreakdown", "PowerModel", "Price", "Utilization", "chip_power", "chip_tdp", "serving_utilization",
    "system_power", "system_price", "usd_per_million_tokens",
]

"""Power, energy and cost: ``chip_power``, ``system_power``, ``system_price``, $/Mtok, $/run."""

from trnsim.economics.cost import (Price, energy_joules, joules_per_token, system_price, usd_for_duration,
                                   usd_per_million_tokens)
from trnsim.economics.power import (PowerBreakdown, PowerModel, Utilization, chip_power, chip_tdp, serving_utilization,
                                    system_power)

__all__ = [
    "PowerBreakdown", "PowerModel", "Price", "Utilization", "chip_power", "chip_tdp", "energy_joules",
    "joules_per_token", "serving_utilization", "system_power", "system_price", "usd_for_duration", "usd_per_million_tokens",
]

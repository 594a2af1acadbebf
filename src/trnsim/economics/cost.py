"""Prices and derived costs: $/hour of a deployment and $ per million tokens."""

from __future__ import annotations

from dataclasses import dataclass

from trnsim.errors import TrnsimError
from trnsim.hardware.specs import SystemSpec

PRICE_KINDS = ("on_demand", "reserved", "capacity_block")


@dataclass(frozen=True)
class Price:
    usd_per_hour: float  # for the chips priced (not necessarily the whole system)
    kind: str  # on_demand / reserved / capacity_block / user
    source: str


def system_price(system: SystemSpec, kind: str = "on_demand", chips: int | None = None,
                 user_usd_per_chip_hour: float | None = None) -> Price:
    """$/hour for ``chips`` chips of ``system`` (default: the whole system), pro rata per chip.

    ``user_usd_per_chip_hour`` overrides the catalog (needed where no price is published, e.g. Trn3).
    """
    n = chips or system.num_chips
    if user_usd_per_chip_hour is not None:
        if user_usd_per_chip_hour < 0:
            raise TrnsimError(f"price must be >= 0 (got {user_usd_per_chip_hour:g} $/chip-hour)")
        return Price(user_usd_per_chip_hour * n, "user", "user-given")
    if kind not in PRICE_KINDS:
        raise TrnsimError(f"unknown price kind {kind!r}", f"use one of {', '.join(PRICE_KINDS)}")
    q = getattr(system.price, kind)
    if q is None:
        raise TrnsimError(
            f"no {kind.replace('_', '-')} price for {system.name!r} in the catalog",
            "give one with a per-chip-hour price option, or pick another price kind",
        )
    return Price(q.si * n / system.num_chips, kind, f"{q.source} ({q.kind})")


def usd_per_million_tokens(tokens_per_second: float, usd_per_hour: float) -> float:
    """$ per 1e6 tokens at a sustained rate."""
    if tokens_per_second <= 0:
        return float("inf")
    return usd_per_hour / 3600.0 / tokens_per_second * 1e6

"""Units accepted in catalog files and their conversion to SI.

A closed table on purpose: catalog numbers come in a dozen units, and a small table keeps
loading fast and errors precise ("unknown unit 'TB/sec'; use one of ...").
"""

from __future__ import annotations

from trnsim.errors import TrnsimError

# dimension -> (SI unit label, {unit: factor to SI})
_DIMENSIONS: dict[str, tuple[str, dict[str, float]]] = {
    "bytes": ("B", {
        "B": 1.0, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15,
        "KiB": 2.0**10, "MiB": 2.0**20, "GiB": 2.0**30, "TiB": 2.0**40,
    }),
    "bandwidth": ("B/s", {
        "B/s": 1.0, "KB/s": 1e3, "MB/s": 1e6, "GB/s": 1e9, "TB/s": 1e12, "PB/s": 1e15,
        "GiB/s": 2.0**30, "TiB/s": 2.0**40, "B/ns": 1e9,
        "bps": 1 / 8, "Mbps": 1e6 / 8, "Gbps": 1e9 / 8, "Tbps": 1e12 / 8,
    }),
    "flops": ("FLOP/s", {
        "FLOPS": 1.0, "GFLOPS": 1e9, "TFLOPS": 1e12, "PFLOPS": 1e15, "EFLOPS": 1e18,
        "TOPS": 1e12, "POPS": 1e15,
    }),
    "frequency": ("Hz", {"Hz": 1.0, "kHz": 1e3, "MHz": 1e6, "GHz": 1e9}),
    "time": ("s", {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "min": 60.0, "h": 3600.0}),
    "power": ("W", {"W": 1.0, "kW": 1e3, "MW": 1e6}),
    "price": ("USD/h", {"USD/h": 1.0}),
    "cycles": ("cycles", {"cycles": 1.0}),
    "ratio": ("x", {"x": 1.0, "%": 0.01}),
    "count": ("1", {"1": 1.0}),
    "elements_per_cycle": ("elements/cycle", {"elements/cycle": 1.0}),
}

_UNIT_TO_DIM: dict[str, str] = {u: dim for dim, (_, units) in _DIMENSIONS.items() for u in units}


def dimensions() -> list[str]:
    """All dimension names."""
    return list(_DIMENSIONS)


def units_for(dimension: str) -> list[str]:
    """Units accepted for a dimension."""
    return list(_DIMENSIONS[dimension][1])


def dimension_of(unit: str) -> str:
    """Dimension of a unit; raises TrnsimError naming the accepted units if unknown."""
    try:
        return _UNIT_TO_DIM[unit]
    except KeyError:
        raise TrnsimError(
            f"unknown unit {unit!r}",
            "use one of: " + ", ".join(sorted(_UNIT_TO_DIM)),
        ) from None


def to_si(value: float, unit: str) -> float:
    """Convert ``value`` in ``unit`` to SI."""
    return value * _DIMENSIONS[dimension_of(unit)][1][unit]


def from_si(value: float, unit: str) -> float:
    """Convert an SI ``value`` into ``unit``."""
    return value / _DIMENSIONS[dimension_of(unit)][1][unit]

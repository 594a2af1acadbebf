"""A hardware number with its unit, provenance kind and source.

Catalog files write each number as an inline table::

    hbm_bandwidth = { value = 4.9, unit = "TB/s", kind = "published", source = "N4",
                      note = "4.7 TB/s in N14", alt = [{ value = 4.7, unit = "TB/s", source = "N14" }] }

and specs hold it as a frozen :class:`Quantity` whose ``si`` is the value in SI units.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from trnsim.errors import TrnsimError
from trnsim.hardware import units

Kind = Literal["published", "derived", "projected", "assumed"]
KINDS: tuple[str, ...] = ("published", "derived", "projected", "assumed")


class Alternative(BaseModel):
    """A conflicting value from another source, kept for the record."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    value: float
    unit: str
    source: str
    note: str | None = None


class Quantity(BaseModel):
    """A number with unit and provenance. ``si`` is the value converted to SI (B, B/s, FLOP/s, Hz, s, W)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    value: float
    unit: str
    kind: Kind
    source: str = Field(min_length=1)
    note: str | None = None
    alt: tuple[Alternative, ...] = ()
    si: float = 0.0
    dimension: str = ""

    @model_validator(mode="after")
    def _convert(self) -> "Quantity":
        dim = units.dimension_of(self.unit)
        for a in self.alt:
            units.dimension_of(a.unit)
        object.__setattr__(self, "dimension", dim)
        object.__setattr__(self, "si", units.to_si(self.value, self.unit))
        return self

    def to(self, unit: str) -> float:
        """This value expressed in ``unit`` (same dimension)."""
        if units.dimension_of(unit) != self.dimension:
            raise TrnsimError(f"cannot express {self.unit} in {unit}")
        return units.from_si(self.si, unit)

    def __float__(self) -> float:
        return self.si

    def describe(self) -> str:
        """``'4.9 TB/s (published, N4)'``."""
        return f"{self.value:g} {self.unit} ({self.kind}, {self.source})"


def _check(dimension: str, minimum: float | None, strict: bool):
    def validate(v: Any) -> Any:
        if isinstance(v, Quantity):
            q = v
        elif isinstance(v, dict):
            q = Quantity.model_validate(v)
        else:
            raise ValueError(
                "expected an inline table {value=..., unit=..., kind=..., source=...}, got "
                f"{type(v).__name__} {v!r}"
            )
        if q.dimension != dimension:
            raise ValueError(
                f"unit {q.unit!r} is a {q.dimension} unit; this field needs {dimension} "
                f"({', '.join(units.units_for(dimension))})"
            )
        if minimum is not None and (q.value < minimum or (strict and q.value == minimum)):
            rel = ">" if strict else ">="
            raise ValueError(f"must be {rel} {minimum:g} (got {q.value:g} {q.unit})")
        return q

    return validate


def Q(dimension: str, *, minimum: float | None = 0.0, strict: bool = True) -> Any:
    """Annotated Quantity type for a field of ``dimension`` (values must be > 0 by default)."""
    if dimension not in units.dimensions():
        raise ValueError(dimension)
    return Annotated[Quantity, BeforeValidator(_check(dimension, minimum, strict))]


def make(value: float, unit: str, kind: str, source: str, note: str | None = None) -> Quantity:
    """Build a Quantity in code (for derived values)."""
    return Quantity(value=value, unit=unit, kind=kind, source=source, note=note)  # type: ignore[arg-type]

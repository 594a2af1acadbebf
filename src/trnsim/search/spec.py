"""Sweep specs (TOML): axes to cross, fixed values, constraints, objectives.

    [sweep]
    kind = "training"                # evaluator: training | serving | hardware
    name = "405b-plans"

    [fixed]                          # the same for every configuration
    model = "llama-3.1-405b"
    seq = 8192

    [axes]                           # the cross product of these lists is evaluated
    # points = [{tp = 8, pp = 4}, ...]  # optional explicit configurations, each crossed with the axes
    system = ["trn2-ultraserver", "trn3-ultraserver-gen2"]
    tp = [4, 8, 16]
    pp = [1, 2, 4, 8]

    [constraints]                    # metric bounds; a failing configuration is pruned with the reason
    max = { memory_per_chip_gib = 90 }
    min = {}

    [objectives]                     # metric -> "max" | "min"; the Pareto front is over all of them
    tokens_per_s_per_chip = "max"
    usd_per_mtok = "min"
"""

from __future__ import annotations

import itertools
from math import prod
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from trnsim.errors import TrnsimError
from trnsim.files import read_toml

Scalar = str | int | float | bool


class Constraints(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    max: dict[str, float] = Field(default_factory=dict)
    min: dict[str, float] = Field(default_factory=dict)


class SweepSpec(BaseModel):
    """A validated sweep; ``configs()`` yields the configurations in a fixed, reproducible order."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: str = "training"
    name: str = "sweep"
    fixed: dict[str, Scalar] = Field(default_factory=dict)
    axes: dict[str, list[Scalar]] = Field(default_factory=dict)
    points: list[dict[str, Scalar]] = Field(default_factory=list, description="explicit configurations, each crossed with the axes")
    constraints: Constraints = Field(default_factory=Constraints)
    objectives: dict[str, Literal["max", "min"]] = Field(default_factory=dict)
    batch_size: int = Field(default=256, gt=0, description="configurations per task")

    @field_validator("axes")
    @classmethod
    def _non_empty(cls, v: dict[str, list[Scalar]]) -> dict[str, list[Scalar]]:
        for k, vals in v.items():
            if not vals:
                raise ValueError(f"axis {k!r} has no values")
        return v

    @property
    def size(self) -> int:
        return max(1, len(self.points)) * (prod(len(v) for v in self.axes.values()) if self.axes else 1)

    def configs(self) -> Iterator[dict[str, Scalar]]:
        keys = list(self.axes)
        for point in self.points or [{}]:
            for combo in itertools.product(*(self.axes[k] for k in keys)):
                yield {**self.fixed, **point, **dict(zip(keys, combo))}


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep TOML; errors are one line naming the file and the field."""
    p = Path(path)
    data = read_toml(p)
    return spec_from_dict(data, origin=str(p))


def spec_from_dict(data: dict[str, Any], origin: str = "sweep") -> SweepSpec:
    body = dict(data)
    head = body.pop("sweep", {})
    if not isinstance(head, dict):
        raise TrnsimError(f"{origin}: [sweep] must be a table")
    try:
        return SweepSpec.model_validate({**head, **body})
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field; use [sweep], [fixed], [axes], [constraints], [objectives]"
        raise TrnsimError(f"{origin}: field '{loc}': {msg}") from None

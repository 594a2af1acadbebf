"""The comparison workload file (TOML) and the built-in default (what `make demo` runs).

    [compare]
    name = "..."
    systems = ["trn3-ultraserver-gen2", "trn2-ultraserver", "gb200-nvl72"]
    baseline = "trn2-ultraserver"
    price_kinds = ["on_demand", "reserved", "capacity_block"]   # first that the catalog has
    [compare.price_per_chip_hour]          # optional user prices ($ per chip-hour) by system
    "trn3-ultraserver-gen2" = 6.0

    [training]                             # optional
    model = "llama-3.1-405b"
    chips = 1152                           # same cluster size on every system (several systems if needed)
    seq = 8192
    global_batch = 2048                    # sequences per step
    precision = "auto"                     # best low-precision format each chip has (mxfp8, fp8), or a name
    train_tokens = 15e12

    [serving]                              # optional
    model = "llama-3.3-70b"
    isl = 2048
    osl = 256
    precision = "auto"                     # best low-precision format each chip has, or a name
    slo_ttft_ms = 2000
    slo_tpot_ms = 50
    tp = [1, 2, 4, 8, 16]                  # chips per replica to search
    requests = 2000                        # event-driven run for the latency percentiles
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trnsim.errors import TrnsimError
from trnsim.files import read_toml


class _M(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CompareSpec(_M):
    name: str = "System comparison"
    systems: list[str] = Field(min_length=1)
    baseline: str | None = None
    price_kinds: list[str] = ["on_demand", "reserved", "capacity_block"]
    price_per_chip_hour: dict[str, float] = Field(default_factory=dict)


class TrainingSpec(_M):
    model: str
    chips: int = Field(default=1152, gt=0)
    seq: int = Field(default=8192, gt=0)
    global_batch: int = Field(default=2048, gt=0)
    precision: str = "auto"
    train_tokens: float = Field(default=15e12, gt=0)


class ServingSpec(_M):
    model: str
    isl: int = Field(default=2048, gt=0)
    osl: int = Field(default=256, gt=0)
    precision: str = "auto"
    slo_ttft_ms: float = Field(default=2000, gt=0)
    slo_tpot_ms: float = Field(default=50, gt=0)
    tp: list[int] = [1, 2, 4, 8, 16]
    requests: int = Field(default=2000, ge=100)
    seed: int = 0


class Workload(_M):
    compare: CompareSpec
    training: TrainingSpec | None = None
    serving: ServingSpec | None = None

    @property
    def baseline(self) -> str:
        return self.compare.baseline or self.compare.systems[0]


def parse_workload(data: dict[str, Any], origin: str) -> Workload:
    try:
        wl = Workload.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        raise TrnsimError(f"{origin}: field '{loc}': {msg}") from None
    if wl.training is None and wl.serving is None:
        raise TrnsimError(f"{origin}: nothing to run", "add a [training] and/or [serving] table")
    return wl


def load_workload(path: str | Path | None = None) -> Workload:
    """A workload file, or the built-in default when ``path`` is None."""
    if path is None:
        text = (resources.files("trnsim.report") / "default_workload.toml").read_text(encoding="utf-8")
        return parse_workload(tomllib.loads(text), "default workload")
    p = Path(path)
    data = read_toml(p)
    return parse_workload(data, str(p))

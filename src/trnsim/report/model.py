"""The comparison report as data: sections of metrics per system, curves, breakdowns, claims, sources.

Renderers (rich tables in the CLI, HTML with embedded plots) read only this structure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from trnsim.report.claims import Claim


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str = ""
    better: str = "higher"  # "higher" | "lower" | "" (no ratio)
    fmt: str = ".4g"


@dataclass
class SystemRow:
    system: str
    title: str
    values: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class Section:
    name: str
    title: str
    columns: list[Column]
    rows: list[SystemRow]

    def ratio(self, row: SystemRow, key: str, baseline: str) -> float | None:
        base = next((r for r in self.rows if r.system == baseline), None)
        if base is None:
            return None
        a, b = row.values.get(key), base.values.get(key)
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
            return None
        return a / b


@dataclass
class Curve:
    """Throughput vs latency points of one system (one point per offered load)."""

    system: str
    title: str
    x_latency_ms: list[float]
    y_throughput: list[float]
    x_label: str = "TPOT p99 (ms)"
    y_label: str = "output tokens/s per chip"


@dataclass
class ExplainItem:
    system: str
    input: str
    value: str
    source: str


@dataclass
class ComparisonReport:
    name: str
    baseline: str
    systems: list[str]
    titles: dict[str, str]
    sections: list[Section] = field(default_factory=list)
    curves: list[Curve] = field(default_factory=list)
    breakdowns: dict[str, dict[str, float]] = field(default_factory=dict)  # system -> part -> seconds
    claims: list[Claim] = field(default_factory=list)
    explain: list[ExplainItem] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

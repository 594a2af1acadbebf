"""Ground-truth rows: published measurements with their configuration (the validation CSV format)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterator

from trnsim.errors import TrnsimError

COLUMNS = (
    "id", "category", "system", "accelerator", "num_accelerators", "model_or_kernel", "workload",
    "config", "metric", "value", "unit", "source", "notes",
)
REQUIRED = ("id", "category", "metric", "value", "unit")


@dataclass(frozen=True)
class GroundTruthRow:
    """One measurement; ``config`` is parsed from ``key=value;...`` pairs."""

    id: str
    category: str
    system: str
    accelerator: str
    num_accelerators: int
    model_or_kernel: str
    workload: str
    config: dict[str, str]
    metric: str
    value: float
    unit: str
    source: str = ""
    notes: str = ""
    line: int = 0

    def cfg(self, key: str, default: str | None = None) -> str | None:
        return self.config.get(key, default)

    def cfg_int(self, key: str, default: int | None = None) -> int | None:
        v = self.config.get(key)
        if v is None or v == "":
            return default
        try:
            return int(float(v))
        except ValueError:
            return default

    def cfg_list(self, key: str) -> list[str]:
        """A value written as a ``,``-separated list."""
        v = self.config.get(key) or ""
        return [x.strip() for x in v.split(",") if x.strip()]

    def cfg_float(self, key: str, default: float | None = None) -> float | None:
        v = self.config.get(key)
        if v is None or v == "":
            return default
        try:
            return float(v)
        except ValueError:
            return default


def parse_config(text: str) -> dict[str, str]:
    """``"tp=8;dtype=bf16;overlap=a,b"`` -> ``{"tp": "8", "dtype": "bf16", "overlap": "a,b"}``.

    Values are kept as written: inside a value the CSV writes ``;`` as ``,`` and ``=`` as ``:``;
    use :meth:`GroundTruthRow.cfg_list` to split such a value.
    """
    out: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, val = part.partition("=")
        if not sep:
            out[key.strip()] = ""
            continue
        out[key.strip()] = val.strip()
    return out


@dataclass
class RowError:
    line: int
    id: str
    message: str


@dataclass
class LoadedRows:
    rows: list[GroundTruthRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def default_csv() -> Path:
    """The ground-truth CSV shipped in the package."""
    return Path(str(resources.files("trnsim.data") / "validation" / "ground_truth_dev.csv"))


def _parse_row(raw: dict[str, str | None], line: int) -> GroundTruthRow:
    missing = [c for c in REQUIRED if not (raw.get(c) or "").strip()]
    if missing:
        raise ValueError(f"empty or missing column(s) {', '.join(missing)}")
    try:
        value = float((raw["value"] or "").strip())
    except ValueError:
        raise ValueError(f"value {raw['value']!r} is not a number") from None
    n_raw = (raw.get("num_accelerators") or "").strip()
    try:
        n = int(float(n_raw)) if n_raw else 0
    except ValueError:
        raise ValueError(f"num_accelerators {n_raw!r} is not a number") from None
    return GroundTruthRow(
        id=raw["id"].strip(),  # type: ignore[union-attr]
        category=raw["category"].strip(),  # type: ignore[union-attr]
        system=(raw.get("system") or "").strip(),
        accelerator=(raw.get("accelerator") or "").strip(),
        num_accelerators=n,
        model_or_kernel=(raw.get("model_or_kernel") or "").strip(),
        workload=(raw.get("workload") or "").strip(),
        config=parse_config(raw.get("config") or ""),
        metric=raw["metric"].strip(),  # type: ignore[union-attr]
        value=value,
        unit=raw["unit"].strip(),  # type: ignore[union-attr]
        source=(raw.get("source") or "").strip(),
        notes=(raw.get("notes") or "").strip(),
        line=line,
    )


def load_rows(path: str | Path | None = None) -> LoadedRows:
    """Read a ground-truth CSV. Bad rows become :class:`RowError` entries; a bad file raises TrnsimError."""
    p = Path(path) if path is not None else default_csv()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TrnsimError(f"{p}: file not found", "check the path") from None
    except UnicodeDecodeError:
        raise TrnsimError(f"{p}: not a UTF-8 text file", "pass a CSV file") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    absent = [c for c in REQUIRED if c not in header]
    if absent:
        raise TrnsimError(
            f"{p}: missing column(s) {', '.join(absent)}",
            f"the header must include {', '.join(COLUMNS)}",
        )
    out = LoadedRows()
    for i, raw in enumerate(_iter(reader), start=2):
        if raw is None:
            continue
        try:
            out.rows.append(_parse_row(raw, i))
        except ValueError as e:
            out.errors.append(RowError(i, (raw.get("id") or "?").strip(), str(e)))
    return out


def _iter(reader: csv.DictReader) -> Iterator[dict[str, str | None] | None]:
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield None
            continue
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            yield None
            continue
        yield raw

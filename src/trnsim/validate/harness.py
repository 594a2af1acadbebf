"""Run the registered predictors over ground-truth rows and summarise the errors."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median
from typing import Iterable

from trnsim.errors import TrnsimError
from trnsim.files import atomic_write
from trnsim.validate.registry import predict
from trnsim.validate.rows import GroundTruthRow, LoadedRows, RowError, load_rows


@dataclass
class RowResult:
    id: str
    category: str
    metric: str
    unit: str
    measured: float
    predicted: float | None
    error_pct: float | None  # signed: (predicted - measured) / measured * 100
    status: str  # "ok" | "unsupported" | "error"
    predictor: str = ""
    method: str = ""
    note: str = ""
    group: str = ""  # the row's value of ``run_validation(group_by=...)``, empty without grouping


@dataclass
class CategorySummary:
    category: str
    rows: int
    predicted: int
    unsupported: int
    errors: int
    median_abs_error_pct: float | None
    p90_abs_error_pct: float | None
    bias_pct: float | None  # median signed error
    methods: list[str] = field(default_factory=list)
    group: str = ""  # the group within the category (``run_validation(group_by=...)``), empty without grouping

    @property
    def label(self) -> str:
        return f"{self.category} / {self.group}" if self.group else self.category


@dataclass
class ValidationReport:
    results: list[RowResult]
    row_errors: list[RowError]
    summaries: list[CategorySummary]

    def unsupported_by_category(self) -> dict[str, list[RowResult]]:
        out: dict[str, list[RowResult]] = {}
        for r in self.results:
            if r.status != "ok":
                out.setdefault(r.category, []).append(r)
        return out

    def summary(self, category: str, group: str = "") -> CategorySummary | None:
        return next((s for s in self.summaries if s.category == category and s.group == group), None)


def _percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def evaluate_row(row: GroundTruthRow) -> RowResult:
    """Predict one row; predictor crashes become status 'error' with the message (the run goes on)."""
    base = dict(id=row.id, category=row.category, metric=row.metric, unit=row.unit, measured=row.value)
    try:
        out = predict(row)
    except Exception as e:  # a predictor bug must not stop the whole validation
        return RowResult(**base, predicted=None, error_pct=None, status="error",
                         note=f"{type(e).__name__}: {e}".splitlines()[0][:300])
    if out.prediction is None:
        return RowResult(**base, predicted=None, error_pct=None, status="unsupported", note="; ".join(out.reasons))
    p = out.prediction
    err = (p.value - row.value) / row.value * 100 if row.value else None
    return RowResult(**base, predicted=p.value, error_pct=err, status="ok",
                     predictor=out.predictor or "", method=p.method, note=p.note)


#: row fields ``group_by`` accepts besides any config key
GROUP_FIELDS = {"accelerator": "accelerator", "model": "model_or_kernel", "metric": "metric",
                "system": "system", "workload": "workload"}


def group_value(row: GroundTruthRow, key: str) -> str:
    """The row's value of ``key``: a field in ``GROUP_FIELDS`` or a config key ("-" when absent)."""
    if key in GROUP_FIELDS:
        return str(getattr(row, GROUP_FIELDS[key]) or "-")
    return row.cfg(key) or "-"


def summarise(results: Iterable[RowResult]) -> list[CategorySummary]:
    """One summary per category, or per category and group when the results carry groups."""
    by_cat: dict[tuple[str, str], list[RowResult]] = {}
    for r in results:
        by_cat.setdefault((r.category, r.group), []).append(r)
    out = []
    for cat, group in sorted(by_cat):
        rs = by_cat[(cat, group)]
        errs = [r.error_pct for r in rs if r.status == "ok" and r.error_pct is not None]
        absd = [abs(e) for e in errs]
        out.append(CategorySummary(
            category=cat,
            rows=len(rs),
            predicted=len(errs),
            unsupported=sum(r.status == "unsupported" for r in rs),
            errors=sum(r.status == "error" for r in rs),
            median_abs_error_pct=median(absd) if absd else None,
            p90_abs_error_pct=_percentile(absd, 0.9) if absd else None,
            bias_pct=median(errs) if errs else None,
            methods=sorted({r.method for r in rs if r.method}),
            group=group,
        ))
    return out


def run_validation(
    path: str | Path | None = None,
    *,
    categories: Iterable[str] | None = None,
    ids: Iterable[str] | None = None,
    loaded: LoadedRows | None = None,
    group_by: str | None = None,
) -> ValidationReport:
    """Validate the rows of ``path`` (default: the shipped CSV), optionally filtered; ``group_by`` (a field of
    ``GROUP_FIELDS`` or a config key such as ``mlperf_inference`` or ``scenario``) splits the summaries."""
    data = loaded if loaded is not None else load_rows(path)
    cats = {c.strip() for c in categories} if categories else None
    wanted = {i.strip() for i in ids} if ids else None
    rows = [r for r in data.rows if (cats is None or r.category in cats) and (wanted is None or r.id in wanted)]
    if (cats or wanted) and not rows:
        known = sorted({r.category for r in data.rows})
        raise TrnsimError(
            "no rows match the --category/--id filters",
            f"categories in this file: {', '.join(known)}",
        )
    if group_by and group_by not in GROUP_FIELDS and not any(group_by in r.config for r in rows):
        keys = sorted({k for r in rows for k in r.config})
        shown = ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")
        raise TrnsimError(f"--group-by {group_by!r}: no selected row has that field or config key",
                          f"use one of {', '.join(GROUP_FIELDS)} or a config key ({shown})")
    results = [evaluate_row(r) for r in rows]
    if group_by:
        for res, row in zip(results, rows):
            res.group = group_value(row, group_by)
    return ValidationReport(results, data.errors, summarise(results))


def write_results(report: ValidationReport, path: str | Path) -> Path:
    """Write the per-row table as .csv or .json, atomically (no half-written file on failure)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise TrnsimError(f"--out {p}: unsupported extension {p.suffix or '(none)'}", "use .csv or .json")
    if suffix == ".json":
        text = json.dumps(
            {"rows": [asdict(r) for r in report.results],
             "summary": [asdict(s) for s in report.summaries],
             "row_errors": [asdict(e) for e in report.row_errors]},
            indent=2,
        )
    else:
        buf = io.StringIO()
        fields = list(RowResult.__dataclass_fields__)
        w = csv.DictWriter(buf, fieldnames=fields)
        w.writeheader()
        for r in report.results:
            w.writerow(asdict(r))
        text = buf.getvalue()
    atomic_write(p, text)
    return p

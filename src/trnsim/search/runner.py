"""Run a sweep: batch the configurations, evaluate them on an executor, journal results so an
interrupted sweep resumes, then compute the Pareto front and the best configuration per objective."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterator

from trnsim.errors import TrnsimError
from trnsim.files import atomic_path
from trnsim.search.executors import Batch, InProcess, Row
from trnsim.search.pareto import pareto_front
from trnsim.search.spec import SweepSpec


@dataclass
class SweepResult:
    spec: SweepSpec
    rows: list[Row]  # sorted by configuration index
    pruned: Counter = field(default_factory=Counter)  # reason -> count
    errors: Counter = field(default_factory=Counter)
    front: list[Row] = field(default_factory=list)
    best: dict[str, Row] = field(default_factory=dict)  # objective -> best row
    resumed: int = 0  # rows taken from an earlier, interrupted run

    @property
    def ok(self) -> list[Row]:
        return [r for r in self.rows if r["status"] == "ok"]


def _spec_hash(spec: SweepSpec) -> str:
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]


def _batches(spec: SweepSpec, skip: set[int]) -> Iterator[Batch]:
    it = ((i, c) for i, c in enumerate(spec.configs()) if i not in skip)
    bid = 0
    while chunk := list(islice(it, spec.batch_size)):
        yield bid, chunk
        bid += 1


def journal_path(out: Path) -> Path:
    return out.with_name(out.name + ".journal.jsonl")


def _read_journal(path: Path, spec_hash: str) -> dict[int, Row]:
    if not path.exists():
        return {}
    rows: dict[int, Row] = {}
    with path.open(encoding="utf-8") as f:
        head = f.readline()
        try:
            if json.loads(head).get("spec_hash") != spec_hash:
                raise TrnsimError(f"{path}: journal of a different sweep spec", "delete it or use another --out")
        except json.JSONDecodeError:
            raise TrnsimError(f"{path}: unreadable journal header", "delete it to start over") from None
        for line in f:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                break  # a torn last line from a killed run: redo from there
            rows[int(r["index"])] = r
    return rows


def run_sweep(
    spec: SweepSpec,
    executor: Any = None,
    *,
    out: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Evaluate every configuration of ``spec``; with ``out``, journal progress and write CSV/Parquet."""
    ex = executor or InProcess()
    total = spec.size
    outp = Path(out) if out is not None else None
    if outp is not None and outp.suffix.lower() not in (".csv", ".parquet"):
        raise TrnsimError(f"--out {outp}: unsupported extension", "use .csv or .parquet")
    h = _spec_hash(spec)
    done: dict[int, Row] = _read_journal(journal_path(outp), h) if outp else {}
    resumed = len(done)
    jf = None
    if outp is not None:
        outp.parent.mkdir(parents=True, exist_ok=True)
        jp = journal_path(outp)
        new = not jp.exists()
        jf = jp.open("a", encoding="utf-8")
        if new:
            jf.write(json.dumps({"spec_hash": h, "total": total}) + "\n")
    try:
        if progress:
            progress(len(done), total)
        for _, rows in ex.run(spec.kind, spec.constraints.max, spec.constraints.min, _batches(spec, set(done))):
            for r in rows:
                done[r["index"]] = r
            if jf is not None:
                jf.write("".join(json.dumps(r, default=float) + "\n" for r in rows))
                jf.flush()
            if progress:
                progress(len(done), total)
    finally:
        if jf is not None:
            jf.close()
    result = summarize(spec, [done[i] for i in sorted(done)])
    result.resumed = resumed
    if outp is not None:
        write_rows(result.rows, outp)
        journal_path(outp).unlink(missing_ok=True)
    return result


def refine_finalists(result: SweepResult, n: int) -> list[Row]:
    """Re-check the first ``n`` Pareto-front rows of a serving sweep with the event-driven engine
    (adds ``event_*`` latency percentiles and SLO attainment to those rows)."""
    if result.spec.kind != "serving":
        raise TrnsimError("--finalists applies to serving sweeps", "remove it or use kind = \"serving\"")
    from trnsim.search.eval_serving import refine_event

    keys = set(result.spec.fixed) | set(result.spec.axes) | {k for p in result.spec.points for k in p}
    done = []
    for row in result.front[:n]:
        row.update(refine_event({k: row[k] for k in keys if k in row}, row))
        done.append(row)
    return done


def summarize(spec: SweepSpec, rows: list[Row]) -> SweepResult:
    res = SweepResult(spec, rows)
    for r in rows:
        if r["status"] == "pruned":
            res.pruned[_reason_class(r["reason"])] += 1
        elif r["status"] == "error":
            res.errors[r["reason"]] += 1
    ok = res.ok
    if spec.objectives and ok:
        res.front = [ok[i] for i in pareto_front(ok, spec.objectives)]
        for k, sense in spec.objectives.items():
            cands = [r for r in ok if isinstance(r.get(k), (int, float))]
            if cands:
                res.best[k] = (max if sense == "max" else min)(cands, key=lambda r: r[k])
    return res


def _reason_class(reason: str) -> str:
    """Group reasons that differ only in numbers (e.g. 'needs 93.1 GiB')."""
    import re

    return re.sub(r"\d+(\.\d+)?", "N", reason)[:200]


def write_rows(rows: list[Row], path: Path) -> Path:
    """Write all rows (union of columns) to CSV or Parquet, atomically."""
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".parquet":
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                raise TrnsimError("writing Parquet needs pyarrow", "pip install 'trnsim[parquet]' or use .csv") from None
            pq.write_table(pa.table({c: [r.get(c) for r in rows] for c in cols}), tmp)
        else:
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=cols)
                w.writeheader()
                w.writerows(rows)
    return path

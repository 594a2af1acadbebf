"""Executors: run batches of configurations in-process, on local processes, or on a Ray cluster.

All three call the same module-level :func:`run_batch`, so they return identical results. A batch
is the unit of retry: a crashed or killed worker loses only its batch, which is run again.
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from trnsim.errors import TrnsimError

Batch = tuple[int, list[tuple[int, dict[str, Any]]]]  # (batch id, [(config index, config)])
Row = dict[str, Any]
MAX_RETRIES = 3


def run_batch(kind: str, max_: dict[str, float], min_: dict[str, float], batch: Batch) -> tuple[int, list[Row]]:
    """Evaluate one batch: each row has index, status ("ok"/"pruned"/"error"), reason and metrics."""
    from trnsim.search.evaluators import Pruned, get_evaluator

    fn = get_evaluator(kind)
    bid, items = batch
    rows: list[Row] = []
    for idx, cfg in items:
        try:
            metrics = fn(cfg)
            reason = _violated(metrics, max_, min_)
            if reason:
                rows.append({"index": idx, "status": "pruned", "reason": reason, **cfg})
            else:
                rows.append({"index": idx, "status": "ok", "reason": "", **cfg, **metrics})
        except (Pruned, TrnsimError) as e:
            rows.append({"index": idx, "status": "pruned", "reason": str(e), **cfg})
        except Exception as e:  # an evaluator bug: keep going, record it
            rows.append({"index": idx, "status": "error", "reason": f"{type(e).__name__}: {e}", **cfg})
    return bid, rows


def _violated(metrics: dict[str, Any], max_: dict[str, float], min_: dict[str, float]) -> str:
    for k, bound in max_.items():
        v = metrics.get(k)
        if v is None or v > bound:
            return f"constraint {k} <= {bound:g}" + ("" if v is not None else f" ({k} not computed)")
    for k, bound in min_.items():
        v = metrics.get(k)
        if v is None or v < bound:
            return f"constraint {k} >= {bound:g}" + ("" if v is not None else f" ({k} not computed)")
    return ""


@dataclass
class InProcess:
    name: str = "inprocess"

    def run(self, kind: str, max_: dict, min_: dict, batches: Iterable[Batch]) -> Iterator[tuple[int, list[Row]]]:
        for b in batches:
            yield run_batch(kind, max_, min_, b)


@dataclass
class LocalProcesses:
    """A process pool (default: all cores); a broken pool is rebuilt and the lost batches rerun."""

    workers: int = 0
    name: str = "processes"

    def run(self, kind: str, max_: dict, min_: dict, batches: Iterable[Batch]) -> Iterator[tuple[int, list[Row]]]:
        n = self.workers or os.cpu_count() or 1
        todo = list(batches)
        tries: dict[int, int] = {}
        while todo:
            pool = ProcessPoolExecutor(max_workers=n)
            pending = {pool.submit(run_batch, kind, max_, min_, b): b for b in todo}
            todo = []
            broken = False
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        b = pending.pop(fut)
                        try:
                            yield fut.result()
                        except BrokenProcessPool:
                            broken = True
                            _retry(b, tries, todo)
                    if broken:
                        todo += [pending.pop(f) for f in list(pending)]
                        break
            finally:
                pool.shutdown(wait=not broken, cancel_futures=True)


def _retry(b: Batch, tries: dict[int, int], todo: list[Batch]) -> None:
    tries[b[0]] = tries.get(b[0], 0) + 1
    if tries[b[0]] > MAX_RETRIES:
        raise TrnsimError(f"batch {b[0]} failed {MAX_RETRIES} times (workers keep dying)", "check memory limits")
    todo.append(b)


@dataclass
class RayExecutor:
    """Batches as Ray tasks (retried by Ray on worker failure). ``address``: None starts a local instance."""

    address: str | None = None
    num_cpus: int | None = None
    name: str = "ray"

    def run(self, kind: str, max_: dict, min_: dict, batches: Iterable[Batch]) -> Iterator[tuple[int, list[Row]]]:
        try:
            import ray
        except ImportError:
            raise TrnsimError("the Ray executor needs Ray", "pip install 'trnsim[ray]'") from None
        started = False
        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if self.address:
                kw["address"] = self.address
            elif self.num_cpus:
                kw["num_cpus"] = self.num_cpus
            ray.init(**kw)
            started = True
        try:
            task = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(run_batch)
            refs = [task.remote(kind, max_, min_, b) for b in batches]
            while refs:
                done, refs = ray.wait(refs, num_returns=1)
                yield ray.get(done[0])
        finally:
            if started:
                ray.shutdown()


def make_executor(name: str, *, workers: int = 0, address: str | None = None) -> Any:
    if name == "inprocess":
        return InProcess()
    if name == "processes":
        return LocalProcesses(workers=workers)
    if name == "ray":
        return RayExecutor(address=None if address in (None, "", "local") else address,
                           num_cpus=workers or None)
    raise TrnsimError(f"unknown executor {name!r}", "use inprocess, processes or ray")

"""``--plan auto``: search the valid plans that fit in memory and rank them by analytic step time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trnsim.errors import TrnsimError
from trnsim.parallel.memory import memory_per_chip
from trnsim.parallel.plan import Plan
from trnsim.parallel.search import enumerate_plans
from trnsim.workloads.training.step import TrainingResult, simulate_training, step_time

if TYPE_CHECKING:  # pragma: no cover
    from trnsim.hardware.specs import SystemSpec
    from trnsim.models.spec import ModelSpec


@dataclass
class AutoPlanResult:
    results: list[TrainingResult]
    evaluated: int
    rejected_memory: int
    seconds: float
    rejected_examples: list[str] = field(default_factory=list)

    @property
    def plans_per_s(self) -> float:
        return self.evaluated / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {"evaluated": self.evaluated, "rejected_memory": self.rejected_memory, "seconds": self.seconds,
                "plans_per_s": self.plans_per_s, "top": [r.to_dict() for r in self.results]}


def auto_plans(model: "ModelSpec", system: "SystemSpec", chips: int, *, seq_len: int, global_batch: int,
               precision: str = "bf16", top: int = 5, fixed: dict | None = None, executor: Any = None,
               **kw) -> AutoPlanResult:
    """The ``top`` fastest plans of ``chips`` chips that fit (analytic step time), best first.

    With an ``executor`` (a :mod:`trnsim.search` executor: local processes, Ray) the candidates are
    evaluated as a sweep on it; the model and system must then be catalog names.
    """
    import time

    if executor is not None:
        return _auto_plans_sweep(model, system, chips, seq_len=seq_len, global_batch=global_batch,
                                 precision=precision, top=top, fixed=fixed, executor=executor, **kw)
    t0 = time.perf_counter()
    scored: list[tuple[float, Plan]] = []
    evaluated = oom = 0
    examples: list[str] = []
    for plan in enumerate_plans(model, system, chips, seq_len=seq_len, global_batch=global_batch,
                                precision=precision, fixed=fixed, **kw):
        evaluated += 1
        mem = memory_per_chip(model, plan, system)
        if not mem.fits:
            oom += 1
            if len(examples) < 3:
                examples.append(f"{plan.label()}: {mem.total / 2**30:.0f} GiB > {mem.capacity / 2**30:.0f} GiB")
            continue
        scored.append((step_time(model, system, plan, chips=chips), plan))
    if not scored:
        why = f"{evaluated} plans broke no rule but none fit in memory" if evaluated else "no plan satisfies the rules"
        raise TrnsimError(f"no valid plan for {model.name} on {chips} x {system.chip_.name} "
                          f"(gbs {global_batch}, seq {seq_len}): {why}",
                          "add chips, lower the sequence length or change the global batch")
    scored.sort(key=lambda x: x[0])
    results = [simulate_training(model, system, p, chips=chips) for _, p in scored[:top]]
    return AutoPlanResult(results, evaluated, oom, time.perf_counter() - t0, examples)


def _auto_plans_sweep(model: "ModelSpec", system: "SystemSpec", chips: int, *, seq_len: int, global_batch: int,
                      precision: str, top: int, fixed: dict | None, executor: Any, **kw) -> AutoPlanResult:
    """auto_plans on a trnsim.search executor: the enumerated plans become the sweep's points."""
    import time
    from dataclasses import asdict

    from trnsim.hardware import catalog
    from trnsim.models import load_model
    from trnsim.search import SweepSpec, run_sweep

    try:
        load_model(model.name)
        catalog().system(system.name)
    except TrnsimError:
        raise TrnsimError("plan search on an executor needs catalog model and system names",
                          "use the in-process search for models or systems loaded from files") from None
    t0 = time.perf_counter()
    plans = list(enumerate_plans(model, system, chips, seq_len=seq_len, global_batch=global_batch,
                                 precision=precision, fixed=fixed, **kw))
    points = []
    for p in plans:
        d = {k: v for k, v in asdict(p).items() if k not in ("name", "sp") and v is not None}
        points.append({**d, "seq": d.pop("seq_len")})
    spec = SweepSpec(kind="training", fixed={"model": model.name, "system": system.name, "chips": chips},
                     points=points, batch_size=64)
    res = run_sweep(spec, executor)
    ok = sorted(res.ok, key=lambda r: r["step_time_s"])
    if not ok:
        raise TrnsimError(f"no valid plan for {model.name} on {chips} x {system.chip_.name} "
                          f"(gbs {global_batch}, seq {seq_len}): {len(plans)} candidates, none fit",
                          "add chips, lower the sequence length or change the global batch")
    results = [simulate_training(model, system, plans[r["index"]], chips=chips) for r in ok[:top]]
    oom = sum(n for reason, n in res.pruned.items() if "GiB per chip" in reason)
    return AutoPlanResult(results, len(plans), oom, time.perf_counter() - t0,
                          [r for r, _ in res.pruned.most_common(3)])

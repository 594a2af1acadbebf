"""Design-space search: sweep specs, executors (in-process, local processes, Ray), Pareto fronts."""

from trnsim.search.evaluators import Pruned, evaluator, get_evaluator
from trnsim.search.executors import InProcess, LocalProcesses, RayExecutor, make_executor
from trnsim.search.pareto import pareto_front
from trnsim.search.runner import SweepResult, run_sweep
from trnsim.search.spec import SweepSpec, load_spec, spec_from_dict

__all__ = [
    "InProcess", "LocalProcesses", "Pruned", "RayExecutor", "SweepResult", "SweepSpec", "evaluator",
    "get_evaluator", "load_spec", "make_executor", "pareto_front", "run_sweep", "spec_from_dict",
]

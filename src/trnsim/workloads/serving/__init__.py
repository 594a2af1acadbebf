"""Inference serving: request streams -> an engine simulation -> throughput, latency percentiles, goodput.

    >>> from trnsim.workloads.serving import Deployment, Workload, simulate_serving
    >>> res = simulate_serving("llama-3.1-8b", "trn2.48xlarge", Deployment(replicas=4, tp=4),
    ...                        Workload.poisson(qps=20, isl=1024, osl=256, num_requests=2000))
    >>> res.ttft["p99"], res.output_tokens_per_s

Two fidelities share one iteration-cost model (:class:`IterationCost`): the event-driven engine
(:func:`simulate_serving`) and the analytic steady state (:func:`analytic_serving`).
"""

from trnsim.workloads.serving.analytic import AnalyticResult, analytic_serving, max_batch_under, max_throughput
from trnsim.workloads.serving.cost import IterationCost
from trnsim.workloads.serving.deployment import (
    Deployment, MemoryPlan, chips_from_cores, logical_cores_per_chip, memory_plan,
)
from trnsim.workloads.serving.result import SLO, ServingResult
from trnsim.workloads.serving.simulate import resolve, simulate_serving
from trnsim.workloads.serving.workload import LengthDist, Request, Workload, read_trace

__all__ = [
    "AnalyticResult", "Deployment", "IterationCost", "LengthDist", "MemoryPlan", "Request", "SLO",
    "ServingResult", "Workload", "analytic_serving", "chips_from_cores", "logical_cores_per_chip",
    "max_batch_under", "max_throughput", "memory_plan", "read_trace", "resolve", "simulate_serving",
]

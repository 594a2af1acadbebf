"""Serving predictors (rank 10) for ``aws_neuron_inference``, ``mlperf_inference`` and
``llm_serving_throughput`` rows, through the serving simulator's analytic path (the same iteration
cost as the event-driven engine).

One model for every row; how a row is mapped to a deployment is a rule by platform, never by row:

* AWS Neuron (Transformers-NeuronX tables): TP counts NeuronCores (2 per Trn1/Inf2 chip) -> chips;
  one replica; static batching (the batch is prefilled together, then decoded together);
  Transformers-NeuronX context encoding with unfused attention (``prefill_attention="unfused"``);
  matmuls in ``matmul_dtype``, weights in ``weight_dtype``; KV cache in the activation dtype. Encoder rows
  (``run_mode=data_parallel_over_NeuronCores``): one forward pass of ``batch x seq_in`` on one NeuronCore
  (half a chip) as one compiled graph (``trnsim.ops.graph``: SBUF-resident activations, fused elementwise
  work); throughput = cores x batch / latency. Decoder steps on Neuron chips use the same graph timing
  through the serving cost model.
* MLPerf Inference (TensorRT-LLM / vLLM submissions): the dataset's mean ISL/OSL (``MLPERF_LENGTHS``);
  precision = what the platform's submissions run (``MLPERF_DTYPE``); each replica gets the smallest
  power-of-two TP whose weights fill at most ``cal.WEIGHT_SHARE`` of HBM; continuous batching, offline =
  max-throughput batch, server/interactive = highest-throughput batch whose TPOT and TTFT meet the
  scenario's p99 limits scaled by ``cal.P99_OVER_MEAN``.
* TensorRT-LLM perf tables: the given TP/PP and lengths, offline max throughput (``max_batch`` =
  ``cal.TRTLLM_MAX_BATCH``), or the given batch for the H200 launch-blog rows.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from trnsim.validate.registry import NotSupported, Prediction, register
from trnsim.validate.resolve import chip_for_row, system_for_text
from trnsim.validate.rows import GroundTruthRow
from trnsim.workloads.serving import calibration as cal

_DT = {"fp16": "bf16", "bf16": "bf16", "bfloat16": "bf16", "fp8": "fp8", "int8": "int8", "fp32": "fp32",
       "fp4": "fp4", "nvfp4": "fp4"}

# Mean input/output lengths of the MLPerf datasets; fixed lengths stand in for the variable ones.
# Output means are the reference "tokens per sample" the submission checker holds submissions to (+-10%),
# mlcommons/inference@b66003e1: language/llama2-70b/README.md ("Tokens per sample: 294.45"),
# language/mixtral-8x7b/README.md ('tokens_per_sample': 144.84), language/llama3.1-405b/README.md
# ('tokens_per_sample': 684.68). Llama 3.1 8B (CNN/DailyMail) states its reference output as GEN_LEN =
# 8,167,644 characters over 13,368 samples (tools/submission/submission_checker/constants.py; characters:
# language/llama3.1-8b/evaluation.py sums len() of the decoded summaries) = 611 characters per summary,
# ~140 tokens at ~4.4 characters per Llama-3 token (assumed ratio for English news text). Input means are
# NOT sourced (approximations carried over; the reference READMEs do not state them).
MLPERF_LENGTHS = {
    "llama-2-70b": (294, 294),  # OpenOrca 24,576 samples; input unsourced
    "mixtral-8x7b": (144, 145),  # OpenOrca + GSM8K + MBXP 15,000 samples; input unsourced
    "llama-3.1-405b": (9400, 685),  # long-context mix (LongBench, RULER, ...) 8,313 samples; input unsourced
    "llama-3.1-8b": (778, 140),  # CNN/DailyMail 13,368 samples; input unsourced
}


def _guard(fn):
    """A configuration the simulator rejects (weights do not fit, sequence too long, ...) makes the row
    unsupported by this predictor, with the simulator's one-line reason, so lower-ranked ones may answer."""
    import functools

    from trnsim.errors import TrnsimError

    @functools.wraps(fn)
    def wrapped(row: GroundTruthRow) -> Prediction:
        try:
            return fn(row)
        except TrnsimError as e:
            raise NotSupported(str(e)) from None

    return wrapped


def _model(row: GroundTruthRow):
    from trnsim.models import load_model, resolve_model_name

    try:
        return load_model(resolve_model_name(row.model_or_kernel))
    except Exception as e:  # unknown model: the row cannot be mapped
        raise NotSupported(f"model {row.model_or_kernel!r}: {e}") from None


def _system_for_chip(chip):
    """A catalog system built from ``chip`` (for the scale-up fabric), or None."""
    from trnsim.hardware import catalog

    cat = catalog()
    best = None
    for name in sorted(cat.names("system")):
        s = cat.system(name)
        if s.chip == chip.name and (best is None or s.nodes < best.nodes):
            best = s
    return best


def _to_unit(seconds: float, unit: str) -> float:
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6}
    if unit not in scale:
        raise NotSupported(f"unit {unit!r}")
    return seconds * scale[unit]


def _dtype(text: str | None, default: str = "bf16") -> str:
    t = (text or default).strip().lower()
    if t not in _DT:
        t = t.replace("_", " ").replace("-", " ").split()[0] if t.strip() else default
    if t not in _DT:
        raise NotSupported(f"dtype {t!r} not understood")
    return _DT[t]


@lru_cache(maxsize=256)
def _cost(model_name: str, chip_name: str, system_name: str | None, dep):
    from trnsim.hardware import load_chip, load_system
    from trnsim.models import load_model
    from trnsim.workloads.serving import IterationCost

    chip = load_chip(chip_name)
    system = load_system(system_name) if system_name else None
    return IterationCost(load_model(model_name), chip, dep, system=system)


# ---------------------------------------------------------------------------------------- AWS Neuron
@register("aws_neuron_inference", name="serving-analytic", rank=10)
@_guard
def neuron_inference(row: GroundTruthRow) -> Prediction:
    from trnsim.workloads.serving import Deployment, analytic_serving, chips_from_cores

    chip = chip_for_row(row)
    model = _model(row)
    if not model.causal:
        return _encoder(row, chip, model)
    tp_cores = row.cfg_int("tp") or row.cfg_int("neuroncores")
    if not tp_cores:
        raise NotSupported("config lacks tp")
    batch = row.cfg_int("batch") or 1
    isl, osl = row.cfg_int("seq_in"), row.cfg_int("seq_out")
    if not (isl and osl):
        raise NotSupported("config lacks seq_in/seq_out")
    chips = chips_from_cores(chip, tp_cores)
    system = system_for_text(row.system) if row.system else None
    if system is not None and system.chip != chip.name:
        system = None
    mdt = _dtype(row.cfg("matmul_dtype") or row.cfg("dtype"))
    wdt = _dtype(row.cfg("weight_dtype"), mdt)
    framework = (row.cfg("framework") or "").lower()
    # vLLM-on-Neuron runs continuous batching; Transformers-NeuronX / NxD Inference benchmarks run static batches
    schedule = "continuous" if "vllm" in framework else "static"
    # Transformers-NeuronX encodes the context with unfused attention (scores through HBM; see cost.py)
    attn = "unfused" if "transformers_neuronx" in framework else "fused"
    dep = Deployment(tp=chips, dtype=mdt, weight_dtype=wdt, kv_dtype=mdt, max_batch=batch, schedule=schedule,
                     max_batched_tokens=max(8192, batch * isl), prefix_caching=False, mem_fraction=1.0,
                     prefill_attention=attn)
    cost = _cost(model.name, chip.name, system.name if system else None, dep)
    r = analytic_serving(model, system or chip, dep, isl=isl, osl=osl, batch=batch, cost=cost)
    note = f"TP{tp_cores} NeuronCores = {chips:g} {chip.name} chips, {schedule} batch {batch}, {isl}/{osl}, {wdt} weights"
    if row.metric.upper().startswith("TTFT"):
        return Prediction(_to_unit(r.ttft_s, row.unit), "serving analytic (static batch prefill)", note)
    if row.metric.upper().startswith(("TPOT", "ITL")):
        return Prediction(_to_unit(r.tpot_s, row.unit), "serving analytic (mean decode step)", note)
    m = row.metric.lower()
    if "throughput" in m and row.unit == "tokens/s" and not m.startswith(("total", "input")):
        return Prediction(r.output_tokens_per_s, f"serving analytic ({schedule} batch)", note)
    if m.startswith(("e2e", "end_to_end")) and row.unit in ("s", "ms", "us"):
        return Prediction(_to_unit(r.e2e_s, row.unit), f"serving analytic ({schedule} batch)", note)
    raise NotSupported(f"metric {row.metric!r}")


def _encoder(row: GroundTruthRow, chip, model) -> Prediction:
    from trnsim.workloads.serving import calibration as c
    from trnsim.workloads.serving.cost import _default_op_time

    batch = row.cfg_int("batch") or 1
    seq = row.cfg_int("seq_in") or 128
    mdt = _dtype(row.cfg("matmul_dtype") or row.cfg("dtype"))
    op_time = _default_op_time()
    ops = model.ops("prefill", batch, seq, dtype=mdt)
    from trnsim.workloads.serving import logical_cores_per_chip

    per_chip = logical_cores_per_chip(chip)  # NeuronCores as the runtime shows them (LNC=2 on Trn2/Trn3)
    if getattr(chip, "core_spec", None) is not None:  # one compiled graph on one (logical) NeuronCore
        from trnsim.ops.graph import graph_time

        t = graph_time(ops, chip, cores=max(1, chip.cores // per_chip))
    else:
        t = sum(op_time(o, chip) for o in ops) * per_chip
    t += c.iteration_overhead(chip, model, None) if chip.family == "gpu" else c.ENCODER_CALL_OVERHEAD_NEURON
    cores = per_chip * max(1, row.num_accelerators)
    note = f"one forward pass of {batch}x{seq} on 1 of {cores} NeuronCores ({mdt})"
    if row.metric.startswith("latency"):
        return Prediction(_to_unit(t, row.unit), "encoder forward (compiled graph on one NeuronCore)", note)
    if row.metric == "throughput":
        return Prediction(cores * batch / t, "encoder forward, data parallel over NeuronCores", note)
    raise NotSupported(f"metric {row.metric!r}")


# ---------------------------------------------------------------------------------------- MLPerf
def _mlperf_dtype(chip) -> str:
    return cal.MLPERF_DTYPE.get(chip.generation, "bf16") if chip.family == "gpu" else "bf16"


def _pick_tp(model, chip, dtype: str, n: int) -> int:
    from trnsim.workloads.serving.deployment import dtype_bytes

    w = model.total_params * dtype_bytes(dtype)
    tp = 1
    while tp < n and w / tp > cal.WEIGHT_SHARE * chip.hbm_capacity.si:
        tp *= 2
    while model.heads % tp and tp > 1:
        tp //= 2
    return tp


@register("mlperf_inference", name="serving-analytic", rank=10)
@_guard
def mlperf(row: GroundTruthRow) -> Prediction:
    from trnsim.models import resolve_model_name
    from trnsim.workloads.serving import Deployment, analytic_serving
    from trnsim.workloads.serving.analytic import max_batch_under

    chip = chip_for_row(row)
    if chip.family != "gpu" and chip.vendor != "aws":
        raise NotSupported(f"accelerator {row.accelerator!r}")
    key = resolve_model_name(row.model_or_kernel)
    if key not in MLPERF_LENGTHS:
        raise NotSupported(f"no dataset lengths for {key}")
    model = _model(row)
    isl, osl = MLPERF_LENGTHS[key]
    n = max(1, row.num_accelerators)
    dtype = _mlperf_dtype(chip)
    tp = _pick_tp(model, chip, dtype, n)
    reps = max(1, n // tp)
    system = _system_for_chip(chip)
    dep = Deployment(replicas=reps, tp=tp, dtype=dtype, max_batch=cal.TRTLLM_MAX_BATCH,
                     max_batched_tokens=cal.TRTLLM_MAX_TOKENS, mem_fraction=cal.KV_MEM_FRACTION,
                     kv_policy=cal.TRTLLM_KV_POLICY if chip.vendor == "nvidia" else "on_demand")
    cost = _cost(model.name, chip.name, system.name if system else None, dep)
    scen = (row.cfg("scenario") or "").lower()
    note = f"{reps} x TP{tp} {dtype}, ISL/OSL {isl}/{osl} (dataset means)"
    if scen == "offline":
        r = analytic_serving(model, system or chip, dep, isl=isl, osl=osl, cost=cost)
    else:
        tpot_lim = row.cfg_float("constraint_tpot_p99_ms")
        ttft_lim = row.cfg_float("constraint_ttft_p99_ms")
        if tpot_lim is None and ttft_lim is None:
            raise NotSupported("server row without latency constraints")
        r = max_batch_under(model, system or chip, dep, isl=isl, osl=osl,
                            tpot=tpot_lim / 1e3 / cal.P99_OVER_MEAN if tpot_lim else None, cost=cost)
        while ttft_lim and r.batch > 1 and _ttft_p99(r) > ttft_lim / 1e3:  # shrink the batch to meet TTFT too
            r = analytic_serving(model, system or chip, dep, isl=isl, osl=osl, batch=r.batch * 3 // 4, cost=cost)
        note += f", batch {r.batch} meets p99 TTFT<={ttft_lim} ms TPOT<={tpot_lim} ms"
    if row.metric.startswith("output_tokens_per_s"):
        return Prediction(r.output_tokens_per_s, f"serving analytic ({scen or 'offline'})", note)
    if row.metric == "TPOT_p99":
        return Prediction(_to_unit(r.tpot_s * cal.P99_OVER_MEAN, row.unit), "serving analytic (TPOT x p99 factor)", note)
    if row.metric == "TTFT_p99":
        return Prediction(_to_unit(_ttft_p99(r), row.unit),
                          "serving analytic (p99 TTFT = prompt iterations + k queued iterations)", note)
    raise NotSupported(f"metric {row.metric!r}")


def _ttft_p99(r: Any) -> float:
    return r.ttft_s + cal.TTFT_P99_QUEUE_ITERATIONS * r.iteration_s


# ---------------------------------------------------------------------------------------- TRT-LLM tables
@register("llm_serving_throughput", name="serving-analytic", rank=10)
@_guard
def llm_serving(row: GroundTruthRow) -> Prediction:
    from trnsim.workloads.serving import Deployment, analytic_serving

    chip = chip_for_row(row)
    model = _model(row)
    tp = row.cfg_int("tp") or 1
    pp = row.cfg_int("pp") or 1
    ep = row.cfg_int("ep") or 1
    isl, osl = row.cfg_int("seq_in"), row.cfg_int("seq_out")
    if not (isl and osl):
        raise NotSupported("config lacks seq_in/seq_out")
    dtype = _dtype(row.cfg("dtype"), "bf16")
    batch = row.cfg_int("batch")
    n = max(1, row.num_accelerators)
    reps = max(1, n // (tp * pp))
    system = _system_for_chip(chip)
    dep = Deployment(replicas=reps, tp=tp, pp=pp, ep=ep, dtype=dtype,
                     max_batch=batch or cal.TRTLLM_MAX_BATCH, max_batched_tokens=cal.TRTLLM_MAX_TOKENS,
                     mem_fraction=cal.KV_MEM_FRACTION, kv_policy=cal.TRTLLM_KV_POLICY)
    cost = _cost(model.name, chip.name, system.name if system else None, dep)
    r = analytic_serving(model, system or chip, dep, isl=isl, osl=osl, batch=batch, cost=cost)
    note = f"{reps} x TP{tp}{f' PP{pp}' if pp > 1 else ''} {dtype}, batch {r.batch} (KV limit {r.kv_batch_limit}), {isl}/{osl}"
    if row.metric == "total_output_throughput":
        return Prediction(r.output_tokens_per_s, "serving analytic (offline max throughput)", note)
    if row.metric == "output_throughput_per_GPU":
        return Prediction(r.output_tokens_per_s / n, "serving analytic (given batch)", note)
    raise NotSupported(f"metric {row.metric!r}")


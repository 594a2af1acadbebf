"""Training predictors: ``megatron_mfu``, ``mlperf_training`` and ``aws_neuron_training`` rows.

One model serves every row: :func:`trnsim.workloads.training.simulate_training` (analytic fidelity) on the
catalog system of the row's accelerator, with the plan the row publishes. Where a row gives no parallel
plan (several MLPerf submissions), the plan is the fastest one that fits (``--plan auto``), the way a
submitter tunes. Row fields map to plan fields by fixed rules (below); nothing is tuned per row.

Rules:

* System: the row's system name if the catalog knows it, else the catalog's single-node system of the
  accelerator (H100 -> p5.48xlarge: 8 GPUs on NVLink4/NVSwitch + 3.2 Tb/s, as a DGX H100; H200 ->
  p5en.48xlarge; B200 -> p6-b200.48xlarge; A100 -> p4d.24xlarge; Trainium1 -> trn1.32xlarge), scaled
  out to the row's number of accelerators. Accelerators outside the catalog (Gaudi, TPU, AMD, L40S) are
  unsupported.
* Neuron rows count TP and DP in NeuronCores (2 per Trainium1): tp_chips = tp/2; with tp = 1 each chip
  runs two data-parallel replicas, modelled as one chip with twice the micro-batch.
* Precision: Megatron table and Neuron rows as stated (BF16; FP32 rows in FP32); MLPerf Hopper/Blackwell
  FP8 (MLPerf notes), NVFP4 where the config variant names fp4, A100 BF16.
* Megatron rows: distributed optimizer (ZeRO-1), overlap flags as listed (``tp-comm-overlap``), mbs 1.
  MLPerf/Neuron: ZeRO-1, micro-batch 1 (from the row when given), no recomputation unless memory
  forces the auto plan to choose it.
* Knobs a row does not publish are tuned the way a submitter would: with pp > 1 the number of
  virtual pipeline stages (interleaving) is the fastest valid one; rows without any plan get the
  fastest plan that fits (``--plan auto``).
* MLPerf time-to-train = samples-to-train(gbs) / predicted throughput, with samples-to-train the
  benchmark's convergence length :data:`SAMPLES_TO_TRAIN` (fitted per benchmark on the product of the
  measured time-to-train and steady-state throughput of the same submissions, i.e. independent of this
  simulator; GPT-3 from the published "about 0.4 % of GPT-3's 300B-token training").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from trnsim.errors import TrnsimError
from trnsim.validate.registry import NotSupported, Prediction, register
from trnsim.validate.rows import GroundTruthRow

#: MLPerf samples to reach the quality target as a function of global batch: S(g) = S0 (g / g0)^alpha.
#: Fitted (least squares in log space) on time_to_train x steady_state_throughput of the same submission
#: (measured values only). Rows: Llama 2 70B LoRA: the 55 pairs MLP-TRN-011..031, 045..080, 103..122,
#: 149..158, 179..202; Llama 3.1 405B: MLP-TRN-135..148, 203..206, 215..218; Llama 3.1 8B:
#: MLP-TRN-219..230, 247..256. GPT-3: 1.2e9 tokens / 2048 (published ~0.4 % of 300B tokens; EE Times and
#: IEEE Spectrum, June 2023), no batch dependence known.
SAMPLES_TO_TRAIN: dict[str, tuple[float, float, float, str]] = {
    "lora70b": (4384.0, 10.8, 0.525, "fitted on 55 LoRA pairs, median |err| 4.6 %"),
    "llama405b": (336407.0, 1099.5, 0.116, "fitted on 11 405B pairs, median |err| 1.8 %"),
    "llama8b": (212494.0, 41.2, 0.317, "fitted on 11 8B pairs, median |err| 6.8 %"),
    "gpt3": (1.2e9 / 2048, 1.0, 0.0, "published: ~0.4 % of GPT-3's 300B training tokens"),
}
LORA_RANK = 16  # MLPerf Llama 2 70B LoRA reference (rank 16 adapters on the attention projections)


@dataclass(frozen=True)
class Case:
    model: Any
    system: Any
    plan: Any
    chips: int
    bench: str = ""
    auto: bool = False


# ----------------------------------------------------------------------------- helpers
def _system(row: GroundTruthRow):
    from trnsim.validate.resolve import chip_for_row, node_system_for_chip, system_for_text

    chip = chip_for_row(row)
    name = row.system.split(" x")[0].strip() if row.system else ""
    sysm = system_for_text(name) if name else None
    if sysm is not None and sysm.chip != chip.name:
        sysm = None
    if sysm is None:
        sysm = node_system_for_chip(chip)
        if sysm is None:
            raise NotSupported(f"accelerator {chip.name}: a node system built from it is not in the catalog")
    return sysm


def _int(row: GroundTruthRow, *keys: str) -> int | None:
    for k in keys:
        v = row.cfg_int(k)
        if v is not None:
            return v
    return None


@lru_cache(maxsize=64)
def _gpt(hidden: int, layers: int, heads: int, vocab: int, seq: int):
    from trnsim.models.spec import ModelSpec

    return ModelSpec.gpt(hidden, layers, heads, vocab=vocab, seq_len=seq, name=f"gpt-h{hidden}-l{layers}")


def _auto(model, system, chips: int, seq: int, gbs: int, precision: str, lora: int = 0, **fixed):
    from trnsim.workloads.training import auto_plans

    key = (model.name, system.name, chips, seq, gbs, precision, lora, tuple(sorted(fixed.items())))
    hit = _AUTO.get(key)
    if hit is None:
        try:
            res = auto_plans(model, system, chips, seq_len=seq, global_batch=gbs, precision=precision, top=1,
                             micro_batches=(1, 2), vpps=(1, 2, 4), zero=(1,), fixed=fixed or None, lora_rank=lora)
        except TrnsimError as e:
            raise NotSupported(f"no plan fits: {e}") from None
        hit = _AUTO[key] = res.results[0].plan
    return hit


_AUTO: dict[tuple, Any] = {}


def _tune_unpublished(model, system, plan, chips: int):
    """Pick the fastest value of knobs the row does not publish (virtual pipeline stages), as a submitter
    tunes them; the published degrees stay fixed."""
    if plan.pp == 1:
        return plan
    from trnsim.workloads.training import step_time

    best, best_t = plan, None
    for v in (1, 2, 3, 4, 6, 8, 12, 16):
        cand = plan.with_(vpp=v)
        if cand.problems(model, system, chips):
            continue
        t = step_time(model, system, cand, chips=chips)
        if best_t is None or t < best_t:
            best, best_t = cand, t
    return best


# ----------------------------------------------------------------------------- case builders
def megatron_case(row: GroundTruthRow) -> Case:
    system = _system(row)
    seq = _int(row, "seq_len") or 4096
    vocab = _int(row, "vocab") or 131072
    gbs = _int(row, "global_batch")
    h, L, a = _int(row, "hidden"), _int(row, "layers"), _int(row, "heads")
    if not (h and L and a):  # the strong-scaling table names its model only: take the shape from the catalog
        try:
            named = _resolve(row.model_or_kernel)
        except NotSupported:
            raise NotSupported("model shape (hidden/layers/heads) not given and the model is not in the catalog") from None
        h, L, a = named.hidden, named.layers, named.heads
    model = _gpt(h, L, a, vocab, seq)
    from trnsim.parallel import Plan

    overlap = row.cfg("overlap") or ""
    tp, pp, dp = _int(row, "tp"), _int(row, "pp"), _int(row, "dp")
    n = row.num_accelerators
    if tp and pp and dp:
        plan = Plan(tp=tp, pp=pp, dp=dp, micro_batch=1, global_batch=gbs, seq_len=seq, zero=1,
                    overlap_tp="tp-comm-overlap" in overlap, overlap_dp=True)
        return Case(model, system, _tune_unpublished(model, system, plan, tp * pp * dp), tp * pp * dp)
    plan = _auto(model, system, n, seq, gbs or n, "bf16", overlap_tp=True)
    return Case(model, system, plan, n, auto=True)


def _resolve(text: str):
    from trnsim.models import load_model, resolve_model_name

    key = resolve_model_name(text)
    if key is None:
        raise NotSupported(f"model {text!r} (vision/multimodal or unknown) is not in the model catalog")
    return load_model(key)


def neuron_case(row: GroundTruthRow) -> Case:
    from trnsim.parallel import Plan

    system = _system(row)
    model = _resolve(row.model_or_kernel)
    seq = _int(row, "seq_in", "seq_len") or 2048
    chip = system.chip_
    # Neuron configs count logical NeuronCores: Trn1 exposes its 2 physical cores, Trn2/Trn3 default
    # to LNC=2 (two physical cores per logical core, 4 per chip) unless the row says otherwise
    lnc = _int(row, "lnc") or (1 if chip.generation == "trn1" else 2)
    cores = max(1, chip.cores // lnc)
    tp_c, pp = _int(row, "tp") or 1, _int(row, "pp") or 1
    mbs, gbs = _int(row, "microbatch") or 1, _int(row, "global_batch")
    chips = row.num_accelerators
    if tp_c >= cores:
        if tp_c % cores:
            raise NotSupported(f"tp={tp_c} NeuronCores is not a whole number of chips")
        tp = tp_c // cores
    else:
        tp, mbs = 1, mbs * (cores // tp_c)
    dp = chips // (tp * pp)
    dtype = (row.cfg("dtype") or "").lower()
    precision = "fp32" if dtype.startswith("fp32") else "bf16"
    opt = (row.cfg("optimizer") or "adamw").lower()
    plan = Plan(tp=tp, pp=pp, dp=dp, micro_batch=mbs, global_batch=gbs, seq_len=seq, zero=1,
                precision=precision, optimizer=opt if opt in ("adamw", "lamb", "sgd") else "adamw")
    return Case(model, system, _tune_unpublished(model, system, plan, chips), chips)


#: benchmark (for samples-to-train) by a key in the row's model name
_MLPERF = (("lora", "lora70b"), ("405b", "llama405b"), ("3.1 8b", "llama8b"), ("gpt3", "gpt3"), ("gpt-3", "gpt3"))


def mlperf_case(row: GroundTruthRow) -> Case:
    from trnsim.parallel import Plan

    system = _system(row)
    text = row.model_or_kernel.lower()
    bench = next((b for key, b in _MLPERF if key in text), "")
    model = _resolve(row.model_or_kernel)
    chip = system.chip_
    variant = (row.cfg("cfg_variant") or "").lower()
    if chip.vendor == "nvidia" and chip.generation in ("hopper", "blackwell", "blackwell-ultra"):
        has_fp4 = "nvfp4" in chip.peak_flops or "fp4" in chip.peak_flops
        precision = "nvfp4" if ("fp4" in variant and has_fp4) else "fp8"
    else:
        precision = "bf16"
    seq = _int(row, "seq_len") or 2048
    gbs = _int(row, "global_batch") or row.num_accelerators
    lora = LORA_RANK if "lora" in text else 0
    n = row.num_accelerators
    tp, pp, cp, dp = (_int(row, k) for k in ("tp", "pp", "cp", "dp"))
    if tp and pp and dp:
        cp = cp or 1
        if tp * pp * cp * dp != n:
            raise NotSupported(f"tp x pp x cp x dp = {tp * pp * cp * dp} != {n} accelerators")
        plan = Plan(tp=tp, pp=pp, dp=dp, cp=cp, micro_batch=1, global_batch=gbs, seq_len=seq, zero=1,
                    precision=precision, overlap_tp=True, lora_rank=lora)
        return Case(model, system, _tune_unpublished(model, system, plan, n), n, bench)
    plan = _auto(model, system, n, seq, gbs, precision, lora)
    return Case(model, system, plan, n, bench, auto=True)


# ----------------------------------------------------------------------------- prediction
def _simulate(case: Case):
    from trnsim.workloads.training import simulate_training

    try:
        return simulate_training(case.model, case.system, case.plan, chips=case.chips, check_memory=False)
    except TrnsimError as e:
        raise NotSupported(f"plan not simulable: {e}") from None


def samples_to_train(bench: str, gbs: int) -> float:
    s0, g0, alpha, _ = SAMPLES_TO_TRAIN[bench]
    return s0 * (gbs / g0) ** alpha


def _method(case: Case, extra: str = "") -> str:
    how = "fastest plan that fits" if case.auto else "published plan"
    return f"simulate_training analytic, {how}{extra}"


def _note(case: Case, r) -> str:
    return (f"plan {case.plan.label()} {case.plan.precision} on {case.chips} x {case.system.chip_.name} "
            f"({case.system.name}); step {r.step_time:.3f} s, MFU {r.mfu:.1%}")


@register("megatron_mfu", name="training-step", rank=10)
def predict_megatron(row: GroundTruthRow) -> Prediction:
    case = megatron_case(row)
    r = _simulate(case)
    from trnsim.workloads.training import megatron_flops_per_step

    tflops = megatron_flops_per_step(case.model, case.plan.gbs, case.plan.seq_len) / r.step_time / case.chips / 1e12
    peak = case.system.chip_.flops("bf16") / 1e12
    if row.metric == "achieved_TFLOPs_per_GPU":
        value = tflops
    elif row.metric == "MFU":
        value = 100.0 * tflops / peak if row.unit == "%" else tflops / peak
    else:
        raise NotSupported(f"metric {row.metric!r}")
    return Prediction(value, _method(case, "; Megatron-LM FLOPs formula"), _note(case, r))


@register("aws_neuron_training", name="training-step", rank=10)
def predict_neuron(row: GroundTruthRow) -> Prediction:
    case = neuron_case(row)
    r = _simulate(case)
    if row.metric == "throughput":
        if "sequences" not in row.unit and "samples" not in row.unit:
            raise NotSupported(f"unit {row.unit!r}")
        return Prediction(r.samples_per_s, _method(case), _note(case, r))
    if row.metric == "MFU":
        peak = case.system.chip_.flops("bf16")
        mfu = r.model_flops_per_step / r.step_time / (case.chips * peak)
        return Prediction(100.0 * mfu if row.unit == "%" else mfu, _method(case, "; MFU vs BF16 peak"),
                          _note(case, r))
    raise NotSupported(f"metric {row.metric!r}")


@register("mlperf_training", name="training-step", rank=10)
def predict_mlperf(row: GroundTruthRow) -> Prediction:
    case = mlperf_case(row)
    r = _simulate(case)
    if row.metric == "steady_state_throughput":
        return Prediction(r.samples_per_s, _method(case), _note(case, r))
    if row.metric == "time_to_train":
        if case.bench not in SAMPLES_TO_TRAIN:
            raise NotSupported(f"no samples-to-train known for {row.model_or_kernel!r}")
        s = samples_to_train(case.bench, case.plan.gbs)
        sec = s / r.samples_per_s
        scale = {"min": 60.0, "s": 1.0, "h": 3600.0}.get(row.unit)
        if scale is None:
            raise NotSupported(f"unit {row.unit!r}")
        return Prediction(sec / scale, _method(case, "; samples-to-train / throughput"),
                          f"{s:,.0f} samples to train ({SAMPLES_TO_TRAIN[case.bench][3]}); " + _note(case, r))
    raise NotSupported(f"metric {row.metric!r}")

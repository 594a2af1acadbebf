"""``Plan``: how a training step is laid out over chips, and the rules that make a plan possible.

Degrees (Megatron-LM rank order, fastest first: tp, cp, dp, pp):

* ``tp`` tensor parallelism (Megatron column/row split), ``sp`` sequence parallelism over the TP group
  (default on whenever tp > 1), ``cp`` context parallelism (ring attention over the sequence),
* ``pp`` pipeline stages, ``vpp`` virtual stages (model chunks) per pipeline rank: 1 = 1F1B, > 1 =
  Megatron's interleaved 1F1B,
* ``dp`` data parallelism with ``zero`` = 0 (plain all-reduce), 1 (optimizer states sharded, Megatron's
  distributed optimizer), 2 (+ gradients), 3 (+ parameters; FSDP),
* ``ep`` expert parallelism: the routed experts are split over ``ep`` ranks taken from the dp x cp group.

Chips = tp x cp x pp x dp. Batch: ``micro_batch`` sequences of ``seq_len`` tokens per micro-batch per
data-parallel rank; ``global_batch`` sequences per step; micro-batches per step m = gbs / (mbs x dp).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from trnsim.errors import TrnsimError

if TYPE_CHECKING:  # pragma: no cover
    from trnsim.hardware.specs import SystemSpec
    from trnsim.models.spec import ModelSpec

PRECISIONS = ("bf16", "fp16", "fp8", "mxfp8", "nvfp4", "mxfp4", "fp32")
RECOMPUTE = ("none", "selective", "full")
OPTIMIZERS = ("adamw", "adam", "lamb", "sgd")


class PlanError(TrnsimError):
    """An impossible plan: the message says which rule it breaks and how to fix it."""


class OutOfMemoryError(PlanError):
    """The plan does not fit in a chip's memory; ``breakdown`` holds the per-chip memory."""

    def __init__(self, message: str, fix: str | None = None, breakdown: Any = None):
        super().__init__(message, fix)
        self.breakdown = breakdown


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@dataclass(frozen=True)
class Plan:
    """A parallel training plan (see module doc). Frozen; use :meth:`with_` to change fields."""

    tp: int = 1
    pp: int = 1
    dp: int = 1
    cp: int = 1
    ep: int = 1
    vpp: int = 1
    sp: bool | None = None
    zero: int = 1
    micro_batch: int = 1
    global_batch: int | None = None
    seq_len: int = 4096
    recompute: str = "none"
    precision: str = "bf16"
    optimizer: str = "adamw"
    overlap_dp: bool = True
    overlap_tp: bool = False
    lora_rank: int = 0
    name: str = field(default="", compare=False)

    # ------------------------------------------------------------------ derived
    @property
    def chips(self) -> int:
        return self.tp * self.cp * self.pp * self.dp

    @property
    def seq_parallel(self) -> bool:
        return (self.tp > 1) if self.sp is None else bool(self.sp and self.tp > 1)

    @property
    def gbs(self) -> int:
        return self.global_batch if self.global_batch is not None else self.micro_batch * self.dp

    @property
    def num_micro_batches(self) -> int:
        return max(1, self.gbs // (self.micro_batch * self.dp))

    @property
    def schedule(self) -> str:
        return "interleaved-1f1b" if self.vpp > 1 else "1f1b"

    @property
    def fsdp(self) -> bool:
        return self.zero >= 3

    @property
    def tokens_per_step(self) -> int:
        return self.gbs * self.seq_len

    def with_(self, **changes: Any) -> "Plan":
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(sp=self.seq_parallel, global_batch=self.gbs, chips=self.chips,
                 num_micro_batches=self.num_micro_batches, schedule=self.schedule)
        return d

    def label(self) -> str:
        parts = [f"tp{self.tp}"]
        if self.cp > 1:
            parts.append(f"cp{self.cp}")
        parts.append(f"pp{self.pp}" + (f"v{self.vpp}" if self.vpp > 1 else ""))
        parts.append(f"dp{self.dp}")
        if self.ep > 1:
            parts.append(f"ep{self.ep}")
        parts.append(f"mbs{self.micro_batch}")
        parts.append(f"z{self.zero}")
        if self.recompute != "none":
            parts.append(f"rc-{self.recompute}")
        return " ".join(parts)

    # ------------------------------------------------------------------ rules
    def problems(self, model: "ModelSpec | None" = None, system: "SystemSpec | None" = None,
                 chips: int | None = None) -> list[str]:
        """Every rule this plan breaks, one line each (empty: possible, memory not checked)."""
        out: list[str] = []
        for f in ("tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch", "seq_len"):
            v = getattr(self, f)
            if not isinstance(v, int) or v < 1:
                out.append(f"{f}={v!r} must be a positive integer")
        if out:
            return out
        if self.zero not in (0, 1, 2, 3):
            out.append(f"zero={self.zero!r} must be 0, 1, 2 or 3 (3 = FSDP)")
        if self.recompute not in RECOMPUTE:
            out.append(f"recompute={self.recompute!r} must be one of {', '.join(RECOMPUTE)}")
        if self.precision not in PRECISIONS:
            out.append(f"precision={self.precision!r} must be one of {', '.join(PRECISIONS)}")
        if self.optimizer not in OPTIMIZERS:
            out.append(f"optimizer={self.optimizer!r} must be one of {', '.join(OPTIMIZERS)}")
        if self.global_batch is not None:
            if self.global_batch < 1:
                out.append(f"global_batch={self.global_batch} must be positive")
            elif self.global_batch % (self.micro_batch * self.dp):
                out.append(
                    f"global batch {self.global_batch} is not a multiple of micro_batch x dp = "
                    f"{self.micro_batch} x {self.dp}; pick gbs as a multiple of {self.micro_batch * self.dp}")
        if self.vpp > 1:
            if self.pp == 1:
                out.append(f"vpp={self.vpp} (interleaved schedule) needs pp > 1; set vpp=1 or pp >= 2")
            elif self.num_micro_batches % self.pp:
                out.append(f"the interleaved schedule needs the {self.num_micro_batches} micro-batches to be a "
                           f"multiple of pp={self.pp}; change the global batch or use vpp=1")
        if self.zero >= 3 and self.pp > 1:
            out.append("zero=3/FSDP shards parameters over data-parallel ranks and is not combined with pipeline "
                       f"parallelism (pp={self.pp}) in Megatron/DeepSpeed; use zero=1 or pp=1")
        if self.cp > 1 and self.seq_len % (2 * self.cp):
            out.append(f"seq_len={self.seq_len} must be a multiple of 2 x cp = {2 * self.cp} "
                       "(load-balanced context parallelism)")
        if self.seq_parallel and self.seq_len % (self.tp * self.cp):
            out.append(f"sequence parallelism needs seq_len={self.seq_len} divisible by tp x cp = {self.tp * self.cp}")
        if self.ep > 1 and (self.dp * self.cp) % self.ep:
            out.append(f"ep={self.ep} must divide dp x cp = {self.dp * self.cp} (experts are split over data-parallel ranks)")
        first: list[str] = []
        if model is not None:
            first += self._model_problems(model)
        if system is not None:
            first += self._system_problems(system, chips)
        return first + out

    def _model_problems(self, model: "ModelSpec") -> list[str]:
        out = []
        if model.heads % self.tp:
            ok = [d for d in _divisors(model.heads) if d <= 64]
            out.append(f"tp={self.tp} does not divide the {model.heads} attention heads of {model.name}; "
                       f"use tp in {ok}")
        elif model.kv_heads % self.tp and self.tp % model.kv_heads:
            out.append(f"tp={self.tp} neither divides nor is a multiple of the {model.kv_heads} KV heads of "
                       f"{model.name}; use a tp that divides {model.kv_heads} or a multiple of it")
        if model.ffn and model.ffn % self.tp:
            out.append(f"tp={self.tp} does not divide the FFN width {model.ffn} of {model.name}")
        chunks = self.pp * self.vpp
        if model.layers % chunks and ((model.layers + 2) % chunks or model.layers + 2 < 2 * chunks):
            what = f"pp x vpp = {self.pp} x {self.vpp}" if self.vpp > 1 else f"pp={self.pp}"
            ok = [d for d in _divisors(model.layers) if d <= 64]
            ok2 = [d for d in _divisors(model.layers + 2) if d <= 64 and d not in ok and d > 2]
            alt = f" (or {ok2}, counting the embedding and the loss as one layer each)" if ok2 else ""
            out.append(f"{what} does not divide the {model.layers} layers of {model.name}; "
                       f"use pp{' x vpp' if self.vpp > 1 else ''} in {ok}{alt}")
        if self.ep > 1:
            if model.moe is None:
                out.append(f"ep={self.ep} but {model.name} has no experts (dense model); set ep=1")
            elif model.moe.num_experts % self.ep:
                out.append(f"ep={self.ep} does not divide the {model.moe.num_experts} experts of {model.name}")
        if self.cp > 1 and not model.causal:
            pass  # ring attention works for bidirectional attention too
        return out

    def _system_problems(self, system: "SystemSpec", chips: int | None) -> list[str]:
        out = []
        n = self.chips
        if chips is not None and chips != n:
            out.append(f"tp x cp x pp x dp = {self.tp} x {self.cp} x {self.pp} x {self.dp} = {n} chips, "
                       f"but {chips} chips were given; make the product equal {chips}")
        per_node = system.chips_per_node
        if n > system.num_chips:
            if system.scale_out is None:
                out.append(f"the plan needs {n} chips but {system.name} has {system.num_chips} and no scale-out "
                           "network to join several")
            elif n % system.num_chips and n % per_node:
                out.append(f"the plan needs {n} chips, not a whole number of {system.name} nodes "
                           f"({per_node} chips each)")
        dom = system.scale_up.domain_size
        if self.tp > dom or dom % self.tp:
            out.append(f"the TP group of {self.tp} chips crosses the scale-up domain of {system.name} "
                       f"({dom} chips, {system.scale_up.technology}); use tp dividing {dom}")
        chip = system.chip_spec
        if chip is not None and self.precision in ("fp8", "mxfp8", "nvfp4", "mxfp4"):
            have = set(chip.peak_flops)
            need = {"fp8": {"fp8"}, "mxfp8": {"mxfp8"}, "nvfp4": {"nvfp4", "fp4"}, "mxfp4": {"mxfp4"}}[self.precision]
            if not have & need:
                out.append(f"precision {self.precision} is not supported by {chip.name} "
                           f"(peaks for {', '.join(sorted(have))}); use bf16" + (" or fp8" if "fp8" in have else ""))
        return out

    def validate(self, model: "ModelSpec", system: "SystemSpec", *, chips: int | None = None,
                 check_memory: bool = True) -> "Plan":
        """Raise :class:`PlanError` (one line) for the first broken rule, :class:`OutOfMemoryError` when
        the per-chip memory exceeds the chip's HBM; returns the plan otherwise."""
        probs = self.problems(model, system, chips)
        if probs:
            more = f" (and {len(probs) - 1} more: {'; '.join(probs[1:])})" if len(probs) > 1 else ""
            raise PlanError(f"impossible plan ({self.label()}): {probs[0]}{more}")
        if check_memory:
            from trnsim.parallel.memory import memory_per_chip

            mem = memory_per_chip(model, self, system)
            if not mem.fits:
                raise OutOfMemoryError(
                    f"plan ({self.label()}) needs {mem.total / 2**30:.1f} GiB per chip but {system.chip_.name} has "
                    f"{mem.capacity / 2**30:.1f} GiB: {mem.describe()}",
                    "raise tp/pp, shard more with zero, or recompute activations",
                    breakdown=mem,
                )
        return self

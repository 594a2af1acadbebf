"""Engine-level NeuronCore timing model: how long an NKI kernel takes on NeuronCore-v2/v3/v4.

``simulate(trace)`` schedules a :class:`~trnsim.nki.trace.KernelTrace` on the Tensor, Vector,
Scalar, GpSimd and Sync engines and the 16 DMA engines of one core, with the published cost
formulas and the constants of the hardware catalog, and returns a :class:`KernelProfile`.

Model (modules): ``engine`` (in-order engine streams; start = max(engine free, operands ready);
semaphore latency across engines; static overhead + 2 SBUF access starts between dependent
instructions on one engine; NC-v2 Vector/GpSimd SBUF and Vector/Scalar PSUM conflicts), ``deps``
(RAW/WAR/WAW from overlapping address regions, bucketed), ``costs`` (per-instruction formulas,
TensorE II with background LoadStationary, fp32 x4, FP8 double-row / MX work, perf modes),
``dma`` (16 engines x partitions, fixed issue-to-start latency, per-engine bandwidth with the
strided-HBM efficiency, HBM share cap, in-order queues served work-conservingly), ``memory``
(SBUF/PSUM peaks), ``profile`` (KernelProfile, critical path), ``perfetto`` (trace export).

Not modeled: DMA per-descriptor overhead beyond the fixed latency (the NC-v2 ladder data shows
flat throughput for 256 B - 4 KiB rows), TensorE pipeline fill/drain, instruction-queue depth,
SBUF bank/port contention on NC-v3+, LNC=2 (one core per trace), spills.
"""

from __future__ import annotations

from trnsim.hardware.specs import NeuronCoreSpec
from trnsim.neuroncore import engine, memory
from trnsim.neuroncore.params import CoreParams, chip_hbm_bandwidth, params_from_spec, resolve_core
from trnsim.neuroncore.profile import Contributor, DmaStats, KernelProfile, TimelineEvent
from trnsim.nki.trace import KernelTrace

__all__ = ["CoreParams", "Contributor", "DmaStats", "KernelProfile", "TimelineEvent", "core_params",
           "simulate"]


def core_params(trace: KernelTrace, core_spec: NeuronCoreSpec | str | None = None,
                hbm_share: float | None = None) -> CoreParams:
    """Constants for simulating ``trace``; ``hbm_share`` is the fraction of the chip's HBM
    bandwidth this core gets (1.0 = the only active core; 1/8 when all 8 cores of a Trn2 stream)."""
    from trnsim.errors import TrnsimError

    core = resolve_core(trace.target, trace.nc_version, core_spec)
    share = 1.0 if hbm_share is None else float(hbm_share)
    if not 0.0 < share <= 1.0:
        raise TrnsimError(f"hbm_share {hbm_share!r} must be in (0, 1]", "pass the fraction of chip HBM bandwidth")
    return params_from_spec(core, chip_hbm_bandwidth(trace.target) * share)


def simulate(trace: KernelTrace, core_spec: NeuronCoreSpec | str | None = None, *,
             hbm_share: float | None = None) -> KernelProfile:
    """Simulate ``trace`` on one NeuronCore (the trace's target unless ``core_spec`` is given)."""
    from trnsim.neuroncore.profile import build

    import gc

    p = core_params(trace, core_spec, hbm_share)
    enabled = gc.isenabled()
    gc.disable()  # the loop allocates many small long-lived objects; cyclic GC passes only cost time
    try:
        raw = engine.run(trace, p)
        return build(trace, p, raw, memory.peaks(trace, p))
    finally:
        if enabled:
            gc.enable()

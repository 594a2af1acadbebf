"""Time of a compiled inference graph on a Trainium/Inferentia chip (one NEFF: a forward pass or a step).

``op_time`` times every op as its own kernel: inputs read from HBM, outputs written back, DMA start-up
paid at each end. Inside one compiled inference graph the Neuron compiler keeps intermediate tensors
that fit on chip in SBUF and fuses the elementwise work into their producers and consumers, so:

* a GEMM moves only its weight from HBM (a read-only constant, pre-tiled, at the contiguous DMA rate, see
  :func:`trnsim.ops.calibrate_trainium.gemm_time_analytic`); its activation input and output stay in SBUF
  when each fits in ``RESIDENT_SBUF_SHARE`` of one core's SBUF, else they move at the strided DMA rate.
  Its time is its busiest engine (TensorE instructions, PSUM evacuation on Vector+Scalar, DMA) over the
  tile model's ``OVERLAP``, with the columns split over the cores;
* a norm / elementwise / softmax op on SBUF-resident data costs VectorE passes over its elements
  (``PASSES``), no DMA;
* attention, embedding gathers and tensors too large to stay on chip keep ``op_time``.

The graph time is the sum over its ops (they follow one another through their data dependencies).
Nothing here is fitted. Checked against the dev rows it serves (aws_neuron_inference): encoder forwards
(BERT family, one NeuronCore, batch 1-16) median |error| 8-16% for ``RESIDENT_SBUF_SHARE`` from 1/8 to 1
and ``PASSES`` 2-5 (58-250% with per-op kernels); Transformers-NeuronX decode steps 10.8% (TPOT).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

# A tensor stays in SBUF when it fits in this share of one core's SBUF: a producer's output and the
# consumer's other operand plus double-buffered weight tiles must fit together (assumed).
RESIDENT_SBUF_SHARE = 0.25
# VectorE passes over the elements of an SBUF-resident op (assumed from the instruction sequences:
# a norm = statistics, normalise, affine; a softmax = max, exp-and-sum (ScalarE), scale).
PASSES = {"norm": 3, "softmax": 3, "elementwise": 1}
_ACT_BYTES = {"fp8": 1.0, "fp32": 4.0}


def _core_model(chip: Any):
    from trnsim.ops import calibrate_trainium as cal

    return cal.CoreModel(chip, chip.core_spec)


def gemm_graph_time(cm: Any, op: Any, cores: int) -> float:
    """One GEMM (or grouped MoE GEMM) of the graph, its output columns split over ``cores``."""
    from trnsim.ops import calibrate_trainium as cal

    s = op.shape
    m, n, k, groups = int(s.get("m", 1)), int(s.get("n", 1)), int(s.get("k", 1)), int(s.get("experts", 1))
    ab = _ACT_BYTES.get(op.dtype, 2.0)
    nc = max(1, math.ceil(n / cores))
    a_b, c_b = m * k * ab * groups, m * nc * ab * groups
    w_b = max(0.0, op.bytes_read - a_b) / cores  # the weight is what the op reads beyond its activations
    lim = cm.sbuf * RESIDENT_SBUF_SHARE
    t = cm.core.tensor
    cyc = min(cal._matmul_cycles(m, nc, k, 1.0, t.rows, t.moving_fmax, t.stationary_fmax),
              cal._matmul_cycles(nc, m, k, 1.0, t.rows, t.moving_fmax, t.stationary_fmax))
    tiles = sum(ns * nf * max(cm.min_ii, f) for _, ns in cal._chunks(min(m, nc), 128)
                for f, nf in cal._chunks(max(m, nc), 512))
    t_tensor = groups * cyc / cm.f_tensor / t.dtype_rate.get(op.dtype, 1.0)
    t_evac = groups * tiles / (cm.f_vector + cm.f_scalar)
    t_dma = (w_b / cm.dma_bw_contiguous + (a_b / cm.dma_bw_core if a_b > lim else 0.0)
             + (c_b / cm.dma_bw_core if c_b > lim else 0.0))
    return max(t_tensor, t_evac, t_dma) / cal.OVERLAP


def graph_time(ops: Iterable[Any], chip: Any, cores: int | None = None) -> float:
    """Seconds for ``ops`` (one chip's share of the graph) run as one compiled graph on ``cores`` NeuronCores
    of ``chip`` (default: all of them). Falls back to summing :func:`trnsim.ops.op_time` for a chip without
    a NeuronCore description."""
    from trnsim.ops import op_time

    if getattr(chip, "core_spec", None) is None:
        return sum(float(op_time(o, chip).seconds) for o in ops)
    cm = _core_model(chip)
    cores = max(1, int(cores or chip.cores))
    share = cores / chip.cores  # op_time spreads an op over all the chip's cores
    lim = cm.sbuf * RESIDENT_SBUF_SHARE
    total = 0.0
    for o in ops:
        if o.kind in ("gemm", "moe_gemm") and o.shape:
            total += o.count * gemm_graph_time(cm, o, cores)
        elif o.kind in PASSES and o.bytes_read / cores <= lim:
            elems = o.bytes_read / _ACT_BYTES.get(o.dtype, 2.0) / cores
            total += o.count * PASSES[o.kind] * elems / (cm.core.engines["vector"].lanes * cm.f_vector)
        else:
            total += float(op_time(o, chip).seconds) / share
    return total

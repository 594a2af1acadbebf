"""Compiled inference graphs on NeuronCores (trnsim.ops.graph): SBUF-resident activations, fused elementwise."""

import pytest

from trnsim.hardware import load_chip
from trnsim.models.op import Op
from trnsim.ops import calibrate_trainium as cal
from trnsim.ops import graph as G
from trnsim.ops import op_time


def _gemm(m, n, k, phase="decode"):
    return Op("g", "gemm", 2.0 * m * n * k, (m * k + k * n) * 2.0, m * n * 2.0, shape={"m": m, "n": n, "k": k},
              phase=phase)


def test_decode_gemm_streams_only_its_weight():
    chip = load_chip("trn1")
    cm = cal.CoreModel(chip, chip.core_spec)
    t = G.graph_time([_gemm(4, 8192, 8192)], chip)
    w = 8192 * 8192 * 2.0
    assert t == pytest.approx(w / chip.cores / cm.dma_bw_contiguous / cal.OVERLAP, rel=0.02)
    assert t < op_time(_gemm(4, 8192, 8192), chip).seconds  # the kernel also pays activations and DMA start-up


def test_resident_elementwise_costs_vector_passes_and_large_tensors_spill():
    chip = load_chip("inf2")
    small = Op("n", "norm", 0.0, 128 * 768 * 2.0, 128 * 768 * 2.0, shape={"tokens": 128, "hidden": 768})
    t = G.graph_time([small], chip, cores=1)
    cm = cal.CoreModel(chip, chip.core_spec)
    assert t == pytest.approx(G.PASSES["norm"] * 128 * 768 / (128 * cm.f_vector))
    big = Op("n", "norm", 0.0, 2**27, 2**27, shape={"tokens": 65536, "hidden": 1024})
    assert G.graph_time([big], chip, cores=1) == pytest.approx(op_time(big, chip).seconds * chip.cores)
    # a GEMM whose output no longer fits on chip writes it back at the strided rate
    m, n = 65536, 4096
    out_per_core = m * n / chip.cores * 2.0
    assert G.graph_time([_gemm(m, n, 4096, "prefill")], chip) >= out_per_core / cm.dma_bw_core / cal.OVERLAP


def test_encoder_graph_is_faster_than_kernel_by_kernel_and_gpus_fall_back():
    from trnsim.models import load_model

    chip = load_chip("trn1")
    ops = load_model("bert-base-uncased").ops("prefill", 1, 128, dtype="bf16")
    per_op = sum(op_time(o, chip).seconds for o in ops) * chip.cores  # on one core
    g = G.graph_time(ops, chip, cores=1)
    assert 0.2 * per_op < g < per_op
    h100 = load_chip("h100-sxm")
    assert G.graph_time(ops, h100) == pytest.approx(sum(op_time(o, h100).seconds for o in ops))

"""KernelTrace: timing-only runs give the same trace as functional runs; operands are addressed."""

from __future__ import annotations

import os

import numpy as np
import pytest

import kernels_new as K1
import kernels_new2 as K2
from nkihelpers import BF16

from trnsim.nki import run_kernel, shape_only

CASES = [
    (K1.tensor_add, [(200, 1024), (200, 1024)], {}),
    (K1.matmul_tiled, [(256, 256), (256, 1024)], {}),
    (K1.matmul_fully_blocked, [(512, 256), (512, 1024)], {}),
    (K1.avg_pool, [(64, 8, 12)], {"k": 2}),
    (K2.causal_attention, [(64, 256), (64, 256), (256, 64)], {}),
    (K2.layernorm_bnstats, [(150, 1000), (1000,), (1000,)], {}),
    (K2.selective_scan, [(128, 32), (128, 32), (128, 4), (4, 32), (4, 32)], {}),
]


def _key(ins):
    return (ins.index, ins.engine, ins.opcode, ins.inputs, ins.outputs, ins.attrs, ins.source)


@pytest.mark.parametrize("kernel,shapes,kw", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_timing_only_trace_equals_functional(rng, kernel, shapes, kw):
    arrays = [rng.uniform(0.1, 1, s).astype(BF16) for s in shapes]
    fun = run_kernel(kernel, *arrays, **kw)
    tim = run_kernel(kernel, *arrays, timing_only=True, **kw)
    ph = run_kernel(kernel, *[shape_only(s, BF16) for s in shapes], timing_only=True, **kw)
    assert fun.outputs is not None and tim.outputs is None
    for other in (tim, ph):
        assert len(other.trace.instructions) == len(fun.trace.instructions)
        for a, b in zip(fun.trace.instructions, other.trace.instructions):
            assert _key(a) == _key(b)
        assert other.trace.alloc_events == fun.trace.alloc_events
        assert other.trace.buffers == fun.trace.buffers
        assert other.trace.timing_only


def test_trace_contents(rng):
    a, b = rng.standard_normal((256, 128)).astype(BF16), rng.standard_normal((256, 512)).astype(BF16)
    run = run_kernel(K1.matmul_tiled, a, b)
    tr = run.trace
    assert tr.target == "trn2" and tr.nc_version == 3 and tr.kernel == "matmul_tiled"
    mms = [i for i in tr.instructions if i.opcode == "nc_matmul"]
    assert len(mms) == 2
    mm = mms[0]
    assert mm.engine == "tensor"
    assert mm.attrs["stationary"] == 128 and mm.attrs["moving"] == 512 and mm.attrs["K"] == 128
    assert mm.attrs["accumulate"] is None and mm.attrs["psum_bank"] == 0 and mm.attrs["dtype"] == "bfloat16"
    assert os.path.basename(mm.source[0]) == "kernels_new.py"
    dma = tr.instructions[0]
    assert dma.engine == "dma" and dma.opcode == "dma_copy"
    src, dst = dma.inputs[0], dma.outputs[0]
    assert src.space == "hbm" and src.pattern == ((128, 128), (1, 128)) and src.bytes == 128 * 128 * 2
    assert dst.space == "sbuf" and dst.partitions == 128 and dst.pattern == ((1, 128),)
    # the second tile of the k loop is a different SBUF buffer (multi-buffering), same PSUM accumulator
    assert mms[1].outputs[0].buffer == mm.outputs[0].buffer
    assert mms[1].inputs[0].buffer != mm.inputs[0].buffer
    assert not mms[1].inputs[0].overlaps(mm.inputs[0])  # double-buffered: different address ranges
    # buffers and alloc events are consistent
    for ev in tr.alloc_events:
        assert ev.buffer in tr.buffers and tr.buffers[ev.buffer].space in ("sbuf", "psum")
    live = 0
    for ev in tr.alloc_events:
        live += ev.delta
        assert live >= 0
    assert run.peak_psum_bytes == 2048 and run.peak_sbuf_bytes > 0


def test_timing_only_placeholder_run_traces_every_instruction():
    # speed is measured by benchmarks/bench_nki.py, not here
    run = run_kernel(K1.matmul_tiled, shape_only((1024, 1024), BF16), shape_only((1024, 2048), BF16),
                     timing_only=True)
    assert run.outputs is None
    assert len(run.trace.instructions) == 8 * 4 * 8 * 3 + 8 * 4 * 2


def test_loop_tiles_rotate_through_two_buffers():
    import numpy as np

    import trnsim.nki.isa as nisa
    import trnsim.nki.language as nl

    def k(x):
        for i in range(6):
            t = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.sbuf)
            nisa.dma_copy(dst=t, src=x[:, i * 512:(i + 1) * 512])

    run = run_kernel(k, np.zeros((128, 3072), np.float32))
    addrs = [ins.outputs[0].base_address for ins in run.trace.instructions]
    assert addrs[0] != addrs[1] and addrs[::2] == [addrs[0]] * 3 and addrs[1::2] == [addrs[1]] * 3
    assert run.peak_sbuf_bytes == 2048  # live bytes: one tile at a time

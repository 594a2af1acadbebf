"""Direct allocation (old-API ``ncc.sbuf/psum.alloc``/``mod_alloc``, new-API ``address=``): logical tiles share
the physical tile they are placed on, placements are checked, and lifetime conflicts are errors."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

import trnsim.nki as nki
import trnsim.nki.isa as nnisa
import trnsim.nki.language as nnl
import trnsim.nki.legacy as onki
import trnsim.nki.legacy.compiler as ncc
import trnsim.nki.legacy.isa as nisa
import trnsim.nki.legacy.language as nl
from trnsim.errors import TrnsimError
from trnsim.nki import run_file, run_kernel

F = np.float32
par_dim = nl.par_dim


def _x(rng, *shape):
    return rng.uniform(-1.0, 1.0, shape).astype(F)


def _one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and "test_nki_direct_alloc.py:" in msg
    return msg


def _accesses(run, opcode, out=True):
    return [(a.partition_start, a.base_address) for ins in run.trace.instructions if ins.opcode == opcode
            for a in (ins.outputs if out else ins.inputs) if a.space in ("sbuf", "psum")]


# ---------------------------------------------------------------------- kernels (written for this suite)
@onki.jit
def modular_pipeline(x):
    """Block i is read in iteration i + 2: blocks i and i + 2 share one of two physical tiles."""
    n = x.shape[0]
    out = nl.ndarray((n - 2, 128, 64), dtype=x.dtype, buffer=nl.shared_hbm)
    buf = nl.ndarray((n, par_dim(128), 64), dtype=x.dtype, buffer=ncc.sbuf.mod_alloc(base_addr=512,
                                                                                     num_free_tiles=(2,)))
    for i in nl.sequential_range(n):
        if i >= 2:
            nl.store(out[i - 2], value=buf[i])  # never written through block i: holds block i - 2's data
        buf[i] = nl.load(x[i])
    return out


@onki.jit
def redeclared_accumulator(x, steps):
    """A tile re-declared at the same address every iteration keeps the previous iteration's data."""
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(steps):
        t = nl.ndarray((par_dim(128), 32), dtype=x.dtype, buffer=ncc.sbuf.mod_alloc(base_addr=4096))
        if i == 0:
            t[...] = nl.load(x)
        else:
            t[...] = nl.add(t, 1.0)
    nl.store(out, value=t)
    return out


@onki.jit
def psum_banks(a, b):
    """Four logical PSUM tiles on two banks: each one is its own accumulation group."""
    out = nl.ndarray((4, 128, 128), dtype=np.float32, buffer=nl.shared_hbm)
    acc = nl.ndarray((4, par_dim(128), 128), dtype=np.float32,
                     buffer=ncc.psum.mod_alloc(base_bank=2, num_bank_tiles=(2,)))
    res = nl.ndarray((par_dim(128), 128), dtype=np.float32, buffer=ncc.sbuf.mod_alloc(base_addr=0))
    a_t = nl.ndarray((2, par_dim(128), 128), dtype=np.float32, buffer=ncc.sbuf.mod_alloc(base_addr=512,
                                                                                          num_free_tiles=(2,)))
    b_t = nl.ndarray((par_dim(128), 128), dtype=np.float32, buffer=ncc.sbuf.mod_alloc(base_addr=1536))
    b_t[...] = nl.load(b)
    for k in nl.affine_range(2):
        a_t[k] = nl.load(a[k])
    for i in nl.affine_range(4):
        for k in nl.affine_range(2):
            acc[i] += nisa.nc_matmul(a_t[k], b_t)
        res[...] = nl.multiply(acc[i], float(i + 1))
        nl.store(out[i], value=res)
    return out


@onki.jit
def small_tiles_on_partitions(x):
    """32-partition tiles stacked along the partitions with num_par_tiles."""
    out = nl.ndarray((4, 32, 16), dtype=x.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray((4, par_dim(32), 16), dtype=x.dtype, buffer=ncc.sbuf.mod_alloc(base_addr=64,
                                                                                  num_par_tiles=(4,)))
    for i in nl.affine_range(4):
        t[i] = nl.load(x[i])
    for i in nl.affine_range(4):
        nl.store(out[i], value=t[i])
    return out


def _growing_address(loop):
    @onki.jit
    def k(x):
        out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
        addr = 0
        for _ in loop(3):
            t = nl.ndarray((par_dim(128), 512), dtype=x.dtype, buffer=ncc.sbuf.mod_alloc(base_addr=addr))
            addr += 150_000  # Python state mutated in the body: NKI 0.1 runs this line once per trace
            t[...] = nl.load(x)
            nl.store(out, value=t)
        return out

    return k


@onki.jit
def too_few_tiles(x):
    """The guide's lifetime-conflict example: 4 logical tiles must all be live, 2 physical tiles exist."""
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray((4, par_dim(128), 64), dtype=x.dtype, buffer=ncc.sbuf.mod_alloc(base_addr=0,
                                                                                   num_free_tiles=(2,)))
    for i in nl.affine_range(4):
        t[i] = nl.load(x[i])
    for i in nl.affine_range(4):
        nl.store(out[i], value=t[i])
    return out


@onki.jit
def partial_overlap(x, clobber):
    """t1 covers the upper half of t0's bytes: it sees t0's data, and writing it clobbers t0."""
    out = nl.ndarray((128, 256), dtype=x.dtype, buffer=nl.shared_hbm)
    t0 = nl.ndarray((par_dim(128), 512), dtype=x.dtype, buffer=ncc.sbuf.mod_alloc(base_addr=0))
    t1 = nl.ndarray((par_dim(128), 256), dtype=x.dtype, buffer=ncc.sbuf.mod_alloc(base_addr=1024))
    t0[...] = nl.load(x)
    nl.store(out, value=t1)  # bytes 1024..2047 = columns 256..511 of t0
    if clobber:
        t1[...] = 0.0
        nl.store(out, value=t0[:, 256:512])
    return out


# ---------------------------------------------------------------------- behaviour
def test_modular_block_reads_data_of_block_i_minus_n(rng):
    x = _x(rng, 6, 128, 64)
    run = run_kernel(modular_pipeline, x)
    np.testing.assert_array_equal(run.outputs, x[:4])  # out[i - 2] = x[i - 2] through the shared tile
    assert sorted(set(_accesses(run, "tensor_copy"))) == [(0, 512), (0, 512 + 256)]
    assert run.peak_sbuf_bytes >= 512 and not run.warnings


def test_redeclared_tile_keeps_data_across_iterations(rng):
    x = _x(rng, 128, 32)
    np.testing.assert_allclose(run_kernel(redeclared_accumulator, x, 4).outputs, x + 3.0, rtol=1e-6)


def test_new_api_address_tile_keeps_data_across_iterations(rng):
    @nki.jit
    def k(x):
        out = nnl.ndarray(x.shape, dtype=x.dtype, buffer=nnl.shared_hbm)
        for i in range(3):
            t = nnl.ndarray((128, 32), dtype=x.dtype, buffer=nnl.sbuf, address=(0, 2048))
            if i == 0:
                nnisa.dma_copy(dst=t, src=x)
            else:
                nnisa.tensor_scalar(dst=t, data=t, op0=nnl.add, operand0=1.0)
        nnisa.dma_copy(dst=out, src=t)
        return out

    x = _x(rng, 128, 32)
    np.testing.assert_allclose(run_kernel(k, x).outputs, x + 2.0, rtol=1e-6)


def test_psum_blocks_share_banks_but_accumulate_separately(rng):
    a, b = _x(rng, 2, 128, 128), _x(rng, 128, 128)
    run = run_kernel(psum_banks, a, b)
    ref = sum(a[k].T @ b for k in range(2))
    for i in range(4):
        np.testing.assert_allclose(run.outputs[i], ref * (i + 1), rtol=1e-4, atol=1e-4)
    assert {addr for _, addr in _accesses(run, "nc_matmul")} == {2 * 2048, 3 * 2048}


def test_partition_tiles_and_trace_addresses(rng):
    x = _x(rng, 4, 32, 16)
    run = run_kernel(small_tiles_on_partitions, x)
    np.testing.assert_array_equal(run.outputs, x)
    assert sorted(_accesses(run, "tensor_copy")) == [(0, 64), (32, 64), (64, 64), (96, 64)]
    # four tiles on different partitions at the same bytes use 64 bytes per partition, not 4 x 64 (plus the
    # legacy load's automatic 64-byte temporary)
    assert run.peak_sbuf_bytes == 64 + 64


def test_loop_body_declaration_is_placed_once(rng):
    """sequential_range bodies are traced once: later iterations reuse the first iteration's placement."""
    x = _x(rng, 128, 512)
    run = run_kernel(_growing_address(nl.sequential_range), x)
    np.testing.assert_array_equal(run.outputs, x)
    assert {addr for _, addr in _accesses(run, "tensor_copy")} == {0}
    with pytest.raises(TrnsimError, match="beyond the .* available to direct allocation") as e:
        run_kernel(_growing_address(nl.static_range), x)  # unrolled: the third placement is off the end
    _one_line(e)


def test_loop_reduce_reduces_into_destination(rng):
    @onki.jit
    def k(x):
        out = nl.ndarray((128, 64), dtype=x.dtype, buffer=nl.shared_hbm)
        acc = nl.zeros((par_dim(128), 64), dtype=np.float32, buffer=nl.sbuf)
        for i in nl.affine_range(x.shape[0]):
            t = nl.load(x[i])
            acc[...] = nl.loop_reduce(t, np.add, loop_indices=[i])
        nl.store(out, value=acc)
        return out

    x = _x(rng, 3, 128, 64)
    np.testing.assert_allclose(run_kernel(k, x).outputs, x.sum(axis=0), rtol=1e-5, atol=1e-6)


def test_partial_overlap_is_byte_coherent(rng):
    x = _x(rng, 128, 512)
    np.testing.assert_array_equal(run_kernel(partial_overlap, x, False).outputs, x[:, 256:])


def test_force_auto_alloc_ignores_placements(rng):
    x = _x(rng, 4, 128, 64)
    np.testing.assert_array_equal(run_kernel(ncc.force_auto_alloc(too_few_tiles.func), x).outputs, x)
    auto = ncc.force_auto_alloc(too_few_tiles)  # a jit kernel: a copy runs with automatic allocation...
    np.testing.assert_array_equal(run_kernel(auto, x).outputs, x)
    with pytest.raises(TrnsimError, match="lifetime conflict"):  # ...and the original keeps its placements
        run_kernel(too_few_tiles, x)


# ---------------------------------------------------------------------- errors (one line each)
def test_lifetime_conflict_with_too_few_physical_tiles(rng):
    x = _x(rng, 4, 128, 64)
    for timing_only in (False, True):
        with pytest.raises(TrnsimError, match=r"lifetime conflict: sbuf@.*\[0\] is read after .*\[2\] overwrote"
                           ) as e:
            run_kernel(too_few_tiles, x, timing_only=timing_only)
        assert "num_free_tiles" in _one_line(e)


def test_lifetime_conflict_through_a_partial_overlap(rng):
    with pytest.raises(TrnsimError, match="lifetime conflict") as e:
        run_kernel(partial_overlap, _x(rng, 128, 512), True)
    _one_line(e)


@pytest.mark.parametrize("shape, buffer, match", [
    ((2, par_dim(128), 1024), ncc.sbuf.mod_alloc(base_addr=205_000, num_free_tiles=(2,)),
     r"places block \(1,\) .* beyond the 212992 B/partition"),
    ((par_dim(64), 16), ncc.sbuf.mod_alloc(base_addr=0, base_partition=32), "start at a multiple of 64"),
    ((par_dim(128), 1024), ncc.psum.mod_alloc(base_bank=0), "does not fit one 2048 B bank"),
    ((2, par_dim(128), 128), ncc.psum.mod_alloc(base_bank=7, num_bank_tiles=(2,)), "bank 8; banks are 0..7"),
    ((par_dim(128), 128), ncc.psum.alloc(lambda idx, p, f: (0, 0, 512)), "must be 0, got \\(0, 512\\)"),
    ((par_dim(128), 128), ncc.sbuf.alloc(lambda idx, p, f: 0), "placement of block \\(\\) failed"),
])
def test_bad_placements(shape, buffer, match):
    def k(x):
        nl.ndarray(shape, dtype=np.float32, buffer=buffer)

    with pytest.raises(TrnsimError, match=match) as e:
        run_kernel(k, np.zeros((1, 1), F))
    _one_line(e)


def test_whole_blocked_tensor_is_not_an_operand():
    def k(x):
        t = nl.ndarray((2, par_dim(128), 64), dtype=np.float32, buffer=ncc.sbuf.mod_alloc(base_addr=0))
        nl.exp(t)

    with pytest.raises(TrnsimError, match="has block dims; index one block first") as e:
        run_kernel(k, np.zeros((1, 1), F))
    _one_line(e)


def test_run_file_with_compiler_module_import(tmp_path):
    script = tmp_path / "direct.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        import neuronxcc.nki as nki
        import neuronxcc.nki.compiler as ncc
        import neuronxcc.nki.language as nl

        @nki.jit
        def k(x):
            out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
            t = nl.ndarray((4, nl.par_dim(128), 8), dtype=x.dtype,
                           buffer=ncc.sbuf.mod_alloc(base_addr=0, num_free_tiles=(2,)))
            for i in nl.affine_range(4):
                t[i] = nl.load(x[i])
                nl.store(out[i], value=t[i])
            return out

        x = np.arange(4 * 128 * 8, dtype=np.float32).reshape(4, 128, 8)
        assert np.array_equal(k(x), x)
        assert ncc.sbuf is nki.compiler.sbuf
    """))
    runs = run_file(str(script))
    assert len(runs) == 1 and not runs[0].warnings

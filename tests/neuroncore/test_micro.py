"""Hand-computable micro-kernels: every expected time below is derived by hand from the published
cost formulas (nki.md §3) and the catalog constants (NC-v2: TensorE 2.8 GHz, VectorE 1.12 GHz,
ScalarE/GpSimd 1.4 GHz; NC-v3: TensorE 2.4, VectorE 0.96, ScalarE 1.2 GHz)."""

from __future__ import annotations

import pytest

from tests.neuroncore.builder import TraceBuilder
from trnsim.hardware import load_core
from trnsim.neuroncore import simulate

NS = 1e-9


def ev(prof, i):
    e = prof.events[i]
    return e.start / NS, e.end / NS


# ----------------------------------------------------------------------------- TensorE
@pytest.mark.parametrize("dtype,n_mov,n_stat,cycles", [
    ("bfloat16", 512, 128, 512),       # max(min(64, 128), 512) = 512; LS 128/4 = 32 hidden
    ("bfloat16", 32, 128, 64),         # max(min(64, 128), 32) = 64 (MM_INIT_LATENCY)
    ("bfloat16", 32, 16, 32),          # max(min(64, 16), 32) = 32; LS 16/4 = 4
    ("float32", 512, 128, 4 * 512),    # fp32 at 1/4 rate
])
def test_one_matmul(dtype, n_mov, n_stat, cycles):
    tb = TraceBuilder("trn1")
    st = tb.sbuf("st", (128, n_stat), dtype)
    mv = tb.sbuf("mv", (128, n_mov), dtype)
    ps = tb.psum("ps", (n_stat, n_mov))
    tb.ins("tensor", "nc_matmul", [tb.tile(st), tb.tile(mv)], [tb.tile(ps)],
           dtype=dtype, K=128, stationary=n_stat, moving=n_mov)
    prof = simulate(tb.trace)
    assert prof.total_time == pytest.approx(cycles / 2.8e9)
    assert prof.flops == 2 * 128 * n_stat * n_mov
    peak = load_core("neuroncore-v2").tensor_peak_flops("fp32" if dtype == "float32" else "bf16")
    assert prof.hfu == pytest.approx(prof.flops / peak / prof.total_time)


def test_stationary_reuse_and_accumulation_chain():
    """Four matmuls accumulating into one PSUM tile: back-to-back at II = 512 cycles, no bubbles."""
    tb = TraceBuilder("trn1")
    st = tb.sbuf("st", (128, 128))
    mv = tb.sbuf("mv", (128, 512))
    ps = tb.psum("ps", (128, 512))
    for _ in range(4):
        tb.ins("tensor", "nc_matmul", [tb.tile(st), tb.tile(mv), tb.tile(ps)], [tb.tile(ps)])
    prof = simulate(tb.trace)
    assert prof.total_time == pytest.approx(4 * 512 / 2.8e9)
    assert prof.busy_pct["tensor"] == pytest.approx(100.0)


# ----------------------------------------------------------------------------- Vector chain
def test_dependent_vector_chain():
    """x -> y -> z -> w with tensor_scalar, N = 1024 fp32 on NC-v2: each max(MIN_II, N) = 1024
    VectorE cycles = 914.29 ns; a dependent instruction on the same engine waits the pipeline
    latency static_overhead + 2 x sbuf_access_start = 100 + 120 = 220 cycles = 196.43 ns."""
    tb = TraceBuilder("trn1")
    bufs = [tb.sbuf(n, (128, 1024), "float32") for n in "xyzw"]
    for a, b in zip(bufs, bufs[1:]):
        tb.ins("vector", "tensor_scalar", [tb.tile(a)], [tb.tile(b)])
    prof = simulate(tb.trace)
    op, lat = 1024 / 1.12, 220 / 1.12
    assert ev(prof, 0) == pytest.approx((0.0, op))
    assert ev(prof, 1) == pytest.approx((op + lat, 2 * op + lat))
    assert ev(prof, 2) == pytest.approx((2 * op + 2 * lat, 3 * op + 2 * lat))
    assert prof.total_time / NS == pytest.approx(3 * op + 2 * lat)


def test_dependent_tiny_scalar_instructions_match_perf_guide():
    """Perf guide (N17): dependent 1-element ScalarE instructions ran every ~189 ns on NC-v2.
    Model: MIN_II 64 + 220 cycles latency = 284 cycles at 1.4 GHz = 202.9 ns (within 8%)."""
    tb = TraceBuilder("trn1")
    bufs = [tb.sbuf(f"b{i}", (128, 1), "float32") for i in range(11)]
    for a, b in zip(bufs, bufs[1:]):
        tb.ins("scalar", "activation", [tb.tile(a)], [tb.tile(b)])
    prof = simulate(tb.trace)
    ii = (prof.events[-1].start - prof.events[0].start) / 9 / NS
    assert ii == pytest.approx(284 / 1.4)
    assert abs(ii / 189 - 1) < 0.08


def test_vector_perf_mode_nc_v3():
    """tensor_copy bf16 SBUF->SBUF contiguous, N = 4096: NC-v3 perf mode 4x -> 1024 cycles at
    0.96 GHz; NC-v2 has no perf mode -> 4096 cycles at 1.12 GHz."""
    for target, expect in (("trn2", 1024 / 0.96), ("trn1", 4096 / 1.12)):
        tb = TraceBuilder(target)
        a, b = tb.sbuf("a", (128, 4096)), tb.sbuf("b", (128, 4096))
        tb.ins("vector", "tensor_copy", [tb.tile(a)], [tb.tile(b)])
        assert simulate(tb.trace).total_time / NS == pytest.approx(expect)


def test_tensor_tensor_operand_rules():
    """tensor_tensor N = 512 fp32: PSUM + SBUF inputs -> max(MIN_II, N); both SBUF fp32 -> 2N."""
    tb = TraceBuilder("trn1")
    a, b, c = (tb.sbuf(n, (128, 512), "float32") for n in "abc")
    p = tb.psum("p", (128, 512))
    tb.ins("vector", "tensor_tensor", [tb.tile(a), tb.tile(p)], [tb.tile(c)], op="add")
    tb.ins("vector", "tensor_tensor", [tb.tile(a), tb.tile(b)], [tb.tile(a)], op="add")
    prof = simulate(tb.trace)
    assert prof.events[0].duration / NS == pytest.approx(512 / 1.12)
    assert prof.events[1].duration / NS == pytest.approx(1024 / 1.12)


def test_gpsimd_iota_start_cost():
    tb = TraceBuilder("trn1")
    a = tb.sbuf("a", (128, 1000), "float32")
    tb.ins("gpsimd", "iota", [], [tb.tile(a)])
    assert simulate(tb.trace).total_time / NS == pytest.approx((150 + 1000) / 1.4)


# ----------------------------------------------------------------------------- DMA
def test_dma_contiguous_known_size():
    """[128, 4096] bf16 HBM -> SBUF on NC-v3: 1 MiB over 16 engines = 64 KiB each at 23 B/ns
    = 2849.4 ns, after the 1300 ns fixed issue-to-start cost."""
    tb = TraceBuilder("trn2")
    x = tb.hbm("x", (128, 4096))
    t = tb.sbuf("t", (128, 4096))
    tb.load(tb.tile(t), tb.rect(x, 0, 128, 0, 4096))
    prof = simulate(tb.trace)
    assert ev(prof, 0) == pytest.approx((1300.0, 1300.0 + 65536 / 23))
    assert prof.dma.transfers == 1 and prof.dma.bytes == 1 << 20
    assert prof.bytes["hbm"]["read"] == 1 << 20 and prof.bytes["sbuf"]["write"] == 1 << 20


def test_dma_few_partitions_one_engine_matches_dma_overview():
    """N15: a [4, 4096] bf16 load (32 KiB) uses one DMA engine and took 1416 ns of data movement
    on Trn2. Model: 32768 B / 23 B/ns = 1424.7 ns (0.6% off)."""
    tb = TraceBuilder("trn2")
    x = tb.hbm("x", (4, 4096))
    t = tb.sbuf("t", (4, 4096))
    tb.load(tb.tile(t), tb.rect(x, 0, 4, 0, 4096))
    prof = simulate(tb.trace)
    data = prof.events[0].duration / NS
    assert data == pytest.approx(32768 / 23)
    assert abs(data / 1416 - 1) < 0.01
    assert sum(1 for b in prof.dma.engine_busy_pct if b > 0) == 1


def test_dma_strided_tile_uses_strided_efficiency():
    """A [128, 512] tile of a [128, 8192] bf16 matrix (1 KiB rows at a 16 KiB pitch) on NC-v2:
    8 KiB per engine at 17 B/ns x dma_strided_efficiency."""
    eff = load_core("neuroncore-v2").ratios["dma_strided_efficiency"].si
    tb = TraceBuilder("trn1")
    x = tb.hbm("x", (128, 8192))
    t = tb.sbuf("t", (128, 512))
    tb.load(tb.tile(t), tb.rect(x, 0, 128, 512, 512))
    prof = simulate(tb.trace)
    assert prof.events[0].duration / NS == pytest.approx(8192 / (17 * eff))


def test_dma_transfers_share_engines():
    """Two full-partition loads on one queue run back to back on the same 16 engines."""
    tb = TraceBuilder("trn2")
    x = tb.hbm("x", (256, 2048))
    t1, t2 = tb.sbuf("t1", (128, 2048)), tb.sbuf("t2", (128, 2048))
    tb.load(tb.tile(t1), tb.rect(x, 0, 128, 0, 2048))
    tb.load(tb.tile(t2), tb.rect(x, 128, 128, 0, 2048))
    prof = simulate(tb.trace)
    d = 32768 / 23  # 8 partitions x 4 KiB per engine
    assert ev(prof, 0) == pytest.approx((1300.0, 1300.0 + d))
    assert ev(prof, 1) == pytest.approx((1300.0 + d, 1300.0 + 2 * d))


# ----------------------------------------------------------------------------- concurrency
def test_two_independent_engines_overlap():
    """VectorE tensor_scalar (1024 cycles / 1.12 GHz = 914.29 ns) and ScalarE activation
    (1024 / 1.4 GHz = 731.43 ns) on independent tiles run concurrently; a ScalarE consumer of the
    VectorE result waits for it plus the semaphore latency (100 ns)."""
    tb = TraceBuilder("trn1")
    a, b, c, d, e = (tb.sbuf(n, (128, 1024), "float32") for n in "abcde")
    tb.ins("vector", "tensor_scalar", [tb.tile(a)], [tb.tile(b)])
    tb.ins("scalar", "activation", [tb.tile(c)], [tb.tile(d)])
    tb.ins("scalar", "activation", [tb.tile(b)], [tb.tile(e)])
    prof = simulate(tb.trace)
    v, s = 1024 / 1.12, 1024 / 1.4
    assert ev(prof, 0) == pytest.approx((0.0, v))
    assert ev(prof, 1) == pytest.approx((0.0, s))
    assert ev(prof, 2) == pytest.approx((v + 100.0, v + 100.0 + s))
    assert prof.busy_pct["vector"] == pytest.approx(100 * v / (v + 100 + s))


def test_war_dependency_load_waits_for_reader():
    """A DMA overwriting a tile waits until VectorE finished reading it (write-after-read)."""
    tb = TraceBuilder("trn2")
    x = tb.hbm("x", (128, 512), "float32")
    a, b = tb.sbuf("a", (128, 512), "float32"), tb.sbuf("b", (128, 512), "float32")
    tb.ins("vector", "tensor_scalar", [tb.tile(a)], [tb.tile(b)])
    tb.load(tb.tile(a), tb.rect(x, 0, 128, 0, 512))
    prof = simulate(tb.trace)
    assert prof.events[1].start == pytest.approx(prof.events[0].end + 1300 * NS)


def test_nc_v2_vector_gpsimd_sbuf_conflict():
    """NC-v2: VectorE and GpSimdE cannot access SBUF at the same time (serialized);
    NC-v3 lifts the restriction (concurrent)."""
    for target, serial in (("trn1", True), ("trn2", False)):
        tb = TraceBuilder(target)
        a, b, c, d = (tb.sbuf(n, (128, 1024), "float32") for n in "abcd")
        tb.ins("vector", "tensor_scalar", [tb.tile(a)], [tb.tile(b)])
        tb.ins("gpsimd", "tensor_copy", [tb.tile(c)], [tb.tile(d)])
        prof = simulate(tb.trace)
        assert (prof.events[1].start >= prof.events[0].end - 1e-15) is serial


def test_disjoint_hbm_columns_no_false_dependency():
    """Stores to different column blocks of the same rows do not depend on each other (the second,
    ready first, runs while the first waits for a long VectorE op), and a load of a column block
    waits only for the store that wrote it."""
    tb = TraceBuilder("trn2")
    y = tb.hbm("y", (128, 1024), "float32")
    s1, s2, t = (tb.sbuf(n, (128, 512), "float32") for n in ("s1", "s2", "t"))
    big = tb.sbuf("big", (128, 8192), "float32")
    tb.ins("vector", "tensor_scalar", [tb.tile(big)], [tb.tile(s1)])
    tb.store(tb.rect(y, 0, 128, 0, 512), tb.tile(s1), queue=1)
    tb.store(tb.rect(y, 0, 128, 512, 512), tb.tile(s2), queue=2)
    tb.load(tb.tile(t), tb.rect(y, 0, 128, 512, 512), queue=3)
    prof = simulate(tb.trace)
    assert prof.events[2].start == pytest.approx(1300 * NS)      # independent of store 1
    assert prof.events[3].start >= prof.events[2].end            # reads what store 2 wrote
    assert prof.events[3].end < prof.events[1].start             # ... and not what store 1 wrote


# ----------------------------------------------------------------------------- memory, outputs
def test_sbuf_capacity_warning():
    tb = TraceBuilder("trn1")
    a = tb.sbuf("a", (128, 65536))           # 128 KiB per partition
    b = tb.sbuf("b", (128, 65536))
    tb.ins("vector", "tensor_copy", [tb.tile(a)], [tb.tile(b)])
    prof = simulate(tb.trace)
    assert prof.memory["sbuf"].peak_bytes == 2 * 131072
    assert prof.memory["sbuf"].over
    assert any("SBUF over capacity" in w and "262,144" in w for w in prof.warnings)


def test_perfetto_trace(tmp_path):
    import json

    tb = TraceBuilder("trn2")
    x = tb.hbm("x", (128, 512), "float32")
    a, b = tb.sbuf("a", (128, 512), "float32"), tb.sbuf("b", (128, 512), "float32")
    tb.load(tb.tile(a), tb.rect(x, 0, 128, 0, 512), line=3)
    tb.ins("vector", "tensor_scalar", [tb.tile(a)], [tb.tile(b)], line=4)
    out = simulate(tb.trace).to_perfetto(tmp_path / "t.json")
    data = json.loads(out.read_text())
    names = {e["args"]["name"] for e in data["traceEvents"] if e.get("name") == "thread_name"}
    assert names == {"vector", "dma:hbm->sbuf"}
    xs = [e for e in data["traceEvents"] if e["ph"] == "X"]
    assert [e["name"] for e in xs] == ["dma_copy", "tensor_scalar"]
    assert xs[1]["args"]["source"] == "kernel.py:4"
    assert xs[1]["ts"] >= xs[0]["ts"] + xs[0]["dur"]


def test_deterministic():
    def build():
        tb = TraceBuilder("trn1")
        x = tb.hbm("x", (1024, 512))
        ts = [tb.sbuf(f"t{i}", (128, 512)) for i in range(2)]
        for i in range(8):
            tb.load(tb.tile(ts[i % 2]), tb.rect(x, 128 * i, 128, 0, 512))
            tb.ins("vector", "tensor_scalar", [tb.tile(ts[i % 2])], [tb.tile(ts[(i + 1) % 2])])
        return tb.trace
    a, b = simulate(build()), simulate(build())
    assert [(e.start, e.end) for e in a.events] == [(e.start, e.end) for e in b.events]


# ----------------------------------------------------------------------------- generation features
def test_fp8_double_row_doubles_work_in_same_time():
    """NC-v3 FP8 double-row: K = 256 ([128, 2, F] operands) in the time of a K = 128 BF16 matmul:
    512 cycles at 2.4 GHz; HFU against the FP8 peak (2x BF16) is 100%."""
    tb = TraceBuilder("trn2")
    st = tb.sbuf("st", (128, 256), "float8_e4m3")
    mv = tb.sbuf("mv", (128, 1024), "float8_e4m3")
    ps = tb.psum("ps", (128, 512))
    tb.ins("tensor", "nc_matmul", [tb.tile(st), tb.tile(mv)], [tb.tile(ps)], dtype="float8_e4m3",
           perf_mode="double_row", K=256, stationary=128, moving=512)
    prof = simulate(tb.trace)
    assert prof.total_time / NS == pytest.approx(512 / 2.4)
    assert prof.flops == 2 * 256 * 128 * 512
    assert prof.hfu == pytest.approx(1.0)


def test_mx_matmul_rate_nc_v4():
    """NC-v4 MXFP8: x4-packed K = 128 rows carry K = 512; same 512 cycles, 4x the BF16 work."""
    tb = TraceBuilder("trn3")
    st = tb.sbuf("st", (128, 128), "int32")
    mv = tb.sbuf("mv", (128, 512), "int32")
    ps = tb.psum("ps", (128, 512))
    tb.ins("tensor", "nc_matmul_mx", [tb.tile(st), tb.tile(mv)], [tb.tile(ps)], dtype="float8_e4m3fn_x4",
           K=128, stationary=128, moving=512)
    prof = simulate(tb.trace)
    assert prof.total_time / NS == pytest.approx(512 / 2.4)
    assert prof.flops == 2 * 512 * 128 * 512
    assert prof.hfu == pytest.approx(1.0)


def test_pe_transpose_cost():
    """TensorE transpose of [128, 128]: max(P, min(64, F)) = 128 cycles; counted in HFU, not MFU."""
    tb = TraceBuilder("trn2")
    x = tb.sbuf("x", (128, 128))
    ps = tb.psum("ps", (128, 128))
    tb.ins("tensor", "nc_transpose", [tb.tile(x)], [tb.tile(ps)], K=128, stationary=128, moving=128,
           is_transpose=True)
    prof = simulate(tb.trace)
    assert prof.total_time / NS == pytest.approx(128 / 2.4)
    assert prof.hfu > 0 and prof.mfu == 0


def test_scalar_perf_mode_nc_v4():
    """NC-v4 ScalarE runs tensor_copy on bf16 at 2x: N = 2048 -> 1024 cycles at 1.2 GHz."""
    tb = TraceBuilder("trn3")
    a, b = tb.sbuf("a", (128, 2048)), tb.sbuf("b", (128, 2048))
    tb.ins("scalar", "tensor_copy", [tb.tile(a)], [tb.tile(b)])
    assert simulate(tb.trace).total_time / NS == pytest.approx(1024 / 1.2)


def test_hbm_share_caps_dma():
    """With 1/8 of Trn2's 2.9 TB/s HBM, each of the 16 DMA engines gets at most 22.66 B/ns (< 23)."""
    tb = TraceBuilder("trn2")
    x = tb.hbm("x", (128, 4096))
    t = tb.sbuf("t", (128, 4096))
    tb.load(tb.tile(t), tb.rect(x, 0, 128, 0, 4096))
    prof = simulate(tb.trace, hbm_share=1 / 8)
    assert prof.events[0].duration / NS == pytest.approx(65536 / (2900 / 8 / 16))


def test_psum_over_capacity_warning():
    tb = TraceBuilder("trn2")
    tiles = [tb.psum(f"p{i}", (128, 512)) for i in range(9)]  # 9 banks of 2 KiB
    tb.ins("vector", "memset", [], [tb.tile(tiles[0])])
    prof = simulate(tb.trace)
    assert prof.memory["psum"].over and any("PSUM over capacity" in w for w in prof.warnings)


def test_nc_v2_vector_scalar_psum_conflict():
    """NC-v2: VectorE (PSUM -> SBUF copy) and ScalarE (PSUM -> SBUF activation) serialize on PSUM."""
    for target, serial in (("trn1", True), ("trn2", False)):
        tb = TraceBuilder(target)
        p1, p2 = tb.psum("p1", (128, 512)), tb.psum("p2", (128, 512))
        a, b = tb.sbuf("a", (128, 512), "float32"), tb.sbuf("b", (128, 512), "float32")
        tb.ins("vector", "tensor_copy", [tb.tile(p1)], [tb.tile(a)])
        tb.ins("scalar", "activation", [tb.tile(p2)], [tb.tile(b)])
        prof = simulate(tb.trace)
        assert (prof.events[1].start >= prof.events[0].end - 1e-15) is serial


def test_critical_path_sums_to_total():
    """Load (1300 ns issue latency + data), then a dependent VectorE op (+100 ns semaphore)."""
    tb = TraceBuilder("trn2")
    x = tb.hbm("x", (128, 512), "float32")
    a, b = tb.sbuf("a", (128, 512), "float32"), tb.sbuf("b", (128, 512), "float32")
    tb.load(tb.tile(a), tb.rect(x, 0, 128, 0, 512), line=1)
    tb.ins("vector", "tensor_scalar", [tb.tile(a)], [tb.tile(b)], line=2)
    prof = simulate(tb.trace)
    assert sum(c.time for c in prof.critical_path) == pytest.approx(prof.total_time)
    waits = {c.source: c.time / NS for c in prof.critical_path if c.name == "wait (latency)"}
    assert waits == pytest.approx({"kernel.py:1": 1300.0, "kernel.py:2": 100.0})

"""nki.language value-returning functions, memory model (capacity, addresses), install/run_file."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from nkihelpers import BF16, has_target

import trnsim.nki as nki
import trnsim.nki.isa as nisa
import trnsim.nki.language as nl
from trnsim.errors import TrnsimError
from trnsim.nki import run_file, run_kernel

F = np.float32


def test_nl_elementwise_and_reductions(rng):
    a = rng.uniform(0.5, 2, (64, 32)).astype(F)
    b = rng.uniform(0.5, 2, (64, 32)).astype(F)
    v = rng.uniform(0.5, 2, (64, 1)).astype(F)

    @nki.jit
    def k(a, b, v):
        x, y, s = nl.load(a), nl.load(b), nl.load(v)
        r1 = nl.add(nl.multiply(x, y), 1.0)
        r2 = nl.exp(nl.subtract(x, s))  # [P,1] operand becomes a tensor_scalar
        r3 = nl.sum(x, axis=1, keepdims=True)
        r4 = nl.mean(x, axis=[1])
        r5 = nl.maximum(x, y) / 2.0
        r6 = nl.where(nl.greater(x, y), x, y)
        outs = []
        for r in (r1, r2, r3, r4, r5, r6):
            o = nl.ndarray(r.shape, dtype=nl.float32, buffer=nl.shared_hbm)
            nl.store(o, r)
            outs.append(o)
        return tuple(outs)

    r1, r2, r3, r4, r5, r6 = nki.simulate(k)(a, b, v)
    np.testing.assert_allclose(r1, a * b + 1, rtol=1e-6)
    np.testing.assert_allclose(r2, np.exp(a - v), rtol=1e-5)
    np.testing.assert_allclose(r3[:, 0], a.sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(r4.reshape(-1), a.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(r5, np.maximum(a, b) / 2, rtol=1e-6)
    np.testing.assert_allclose(r6, np.maximum(a, b), rtol=1e-6)


def test_nl_matmul_transpose_broadcast_softmax(rng):
    x = rng.standard_normal((64, 128)).astype(BF16)  # [M, K]
    y = rng.standard_normal((128, 256)).astype(BF16)  # [K, N]
    g = rng.standard_normal((1, 256)).astype(F)

    @nki.jit
    def k(x, y, g):
        p = nl.matmul(nl.load(x), nl.load(y))
        o1 = nl.ndarray(p.shape, dtype=nl.float32, buffer=nl.shared_hbm)
        nl.store(o1, p)
        gb = nl.broadcast_to(nl.load(g), (64, 256))
        o2 = nl.ndarray((64, 256), dtype=nl.float32, buffer=nl.shared_hbm)
        nl.store(o2, gb)
        sm = nl.softmax(nl.copy(p), axis=1)
        o3 = nl.ndarray((64, 256), dtype=nl.float32, buffer=nl.shared_hbm)
        nl.store(o3, sm)
        return o1, o2, o3

    run = run_kernel(k, x, y, g)
    o1, o2, o3 = run.outputs
    ref = x.astype(F) @ y.astype(F)
    np.testing.assert_allclose(o1, ref, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(o2, np.broadcast_to(g, (64, 256)), rtol=1e-6)
    e = np.exp(ref - ref.max(axis=1, keepdims=True))
    np.testing.assert_allclose(o3, e / e.sum(axis=1, keepdims=True), rtol=1e-3, atol=1e-6)
    ops = run.trace.counts()
    assert ops["nc_transpose"] == 1 and ops["nc_matmul"] == 2  # x transposed on TensorE; broadcast by matmul


def test_views_ap_and_ds(rng):
    x = rng.standard_normal((8, 24)).astype(F)

    @nki.jit
    def k(x):
        t = nl.load(x)
        ev = t.ap([[24, 8], [2, 12]], offset=1)  # odd columns
        a = nl.copy(ev)
        b = nl.copy(t[:, nl.ds(4, 6)])
        c = nl.copy(t.reshape((8, 4, 6))[:, 2, :])
        outs = []
        for r in (a, b, c):
            o = nl.ndarray(r.shape, dtype=r.dtype, buffer=nl.shared_hbm)
            nl.store(o, r)
            outs.append(o)
        return tuple(outs)

    a, b, c = nki.simulate(k)(x)
    np.testing.assert_array_equal(a, x[:, 1::2])
    np.testing.assert_array_equal(b, x[:, 4:10])
    np.testing.assert_array_equal(c, x.reshape(8, 4, 6)[:, 2, :])


def test_tile_size_and_nc_version():
    @nki.jit
    def k():
        assert nl.tile_size.pmax == 128 and nl.tile_size.psum_bank_fmax == 512
        assert nl.tile_size.gemm_stationary_fmax == 128
        return nisa.get_nc_version()

    assert run_kernel(k, target="trn2").outputs == nisa.nc_version.gen3
    if has_target("trn1"):
        assert run_kernel(k, target="trn1").outputs == nisa.nc_version.gen2


def test_sbuf_oversubscription_and_addresses():
    def k(x):
        tiles = [nl.ndarray((128, 16384), dtype=nl.float32, buffer=nl.sbuf) for _ in range(4)]  # 4 x 64 KiB
        ps = [nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.psum) for _ in range(9)]
        for t in tiles + ps:
            nisa.memset(dst=t, value=0.0)  # addresses are assigned at first use
        return [t.storage.address for t in tiles], [p.storage.address for p in ps]

    run = run_kernel(k, np.zeros((1, 1), F))
    addrs, paddrs = run.outputs
    assert list(addrs[:3]) == [0, 65536, 131072]
    assert list(paddrs[:8]) == [i * 2048 for i in range(8)]
    assert any("sbuf over-subscribed" in w for w in run.warnings)
    assert any("psum over-subscribed" in w for w in run.warnings)
    assert run.peak_sbuf_bytes == 4 * 65536 > run.sbuf_capacity
    with pytest.raises(TrnsimError, match="over-subscribed"):
        run_kernel(k, np.zeros((1, 1), F), strict_memory=True)


def test_loop_multibuffering_frees_tiles():
    def k(x):
        for _ in range(100):
            t = nl.ndarray((128, 8192), dtype=nl.float32, buffer=nl.sbuf)  # 32 KiB each
            nisa.memset(dst=t, value=0.0)

    run = run_kernel(k, np.zeros((1, 1), F))
    assert not run.warnings and run.peak_sbuf_bytes == 32768  # the previous iteration's tile is gone by first use

    def unused(x):
        for _ in range(10):
            nl.ndarray((128, 8192), dtype=nl.float32, buffer=nl.sbuf)

    run = run_kernel(unused, np.zeros((1, 1), F))
    assert run.peak_sbuf_bytes == 0 and not run.trace.alloc_events


def test_psum_explicit_address_rules():
    def k(x):
        nl.ndarray((128, 256), dtype=nl.float32, buffer=nl.psum, address=(0, 1024))

    with pytest.raises(TrnsimError, match="must start at a bank"):
        run_kernel(k, np.zeros((1, 1), F))


def test_outside_kernel_error():
    with pytest.raises(TrnsimError, match="outside a kernel"):
        nisa.memset(dst=None, value=0)


def test_install_and_run_file(tmp_path):
    script = tmp_path / "k.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        import nki
        import nki.language as nl
        import nki.isa as nisa

        @nki.jit
        def double(a):
            out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
            t = nl.load(a)
            nl.store(out, nl.multiply(t, 2.0))
            return out

        x = np.arange(12, dtype=np.float32).reshape(3, 4)
        np.testing.assert_allclose(nki.simulate(double)(x), 2 * x)
        np.testing.assert_allclose(double(x), 2 * x)
    """))
    before = sys.modules.get("nki")
    runs = run_file(str(script))
    assert len(runs) == 2 and runs[0].kernel == "double" and runs[0].outputs is not None
    assert sys.modules.get("nki") is before  # restored afterwards
    timing = run_file(str(script), timing_only=True)
    assert len(timing) == 2 and timing[0].outputs is None
    assert [i.opcode for i in timing[0].trace.instructions] == [i.opcode for i in runs[0].trace.instructions]


def test_install_registers_all_names():
    from trnsim.nki.install import NAMES, installed

    with installed():
        import importlib

        for n in NAMES:
            assert importlib.import_module(n) is sys.modules[n]
        import nki.language as nl2  # noqa: F401
        from neuronxcc.nki import language as onl  # noqa: F401

        assert sys.modules["nki"] is nki and hasattr(onl, "arange")


def test_install_respects_real_packages(monkeypatch):
    import types

    from trnsim.nki.install import install, installed

    fake = types.ModuleType("nki")
    with installed():  # restores sys.modules afterwards
        monkeypatch.setitem(sys.modules, "nki", fake)
        done = install()
        assert sys.modules["nki"] is fake and "nki" not in done and "neuronxcc.nki" in done
        install(force=True)
        assert sys.modules["nki"] is nki


def test_view_changes_item_size(rng):
    x = rng.integers(0, 2**32, (4, 6), dtype=np.uint64).astype(np.uint32)

    def k(x):
        b = x.view(nl.uint8)  # [4, 24] bytes of the same HBM tensor
        t = nl.ndarray((4, 8), dtype=nl.uint8, buffer=nl.sbuf)
        nisa.dma_copy(dst=t, src=x.ap([[24, 4], [1, 8]], offset=4, dtype=nl.uint8))
        o = nl.ndarray((4, 8), dtype=nl.uint8, buffer=nl.shared_hbm)
        nisa.dma_copy(dst=o, src=t)
        return o, b.shape

    o, shape = run_kernel(k, x).outputs
    assert tuple(shape) == (4, 24)
    np.testing.assert_array_equal(o, x.view(np.uint8).reshape(4, 24)[:, 4:12])

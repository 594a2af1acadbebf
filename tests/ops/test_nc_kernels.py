"""The canonical NKI kernels behind `calibrate_trainium --method neuroncore` compute the right thing."""

import numpy as np
import pytest

nki = pytest.importorskip("trnsim.nki")
from trnsim.nki import run_kernel  # noqa: E402
import trnsim.nki.language as nl  # noqa: E402

from trnsim.ops import nc_kernels as K  # noqa: E402


@pytest.mark.parametrize("m,n,k,resident", [(256, 1024, 512, True), (8, 512, 256, False), (128, 128, 128, True)])
def test_gemm_kernel(m, n, k, resident):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(nl.bfloat16)
    b = rng.standard_normal((k, n)).astype(nl.bfloat16)
    out = run_kernel(K.gemm_kernel, np.ascontiguousarray(a.T), b, target="trn2", rhs_resident=resident).output_list[0]
    ref = a.astype(np.float32) @ b.astype(np.float32)
    np.testing.assert_allclose(out.astype(np.float32), ref, rtol=2e-2, atol=0.5)


@pytest.mark.parametrize("q_len,kv_len,causal", [(256, 1024, True), (1, 512, False), (128, 128, True)])
def test_flash_attention_kernel(q_len, kv_len, causal):
    rng = np.random.default_rng(1)
    d = 64
    q = rng.standard_normal((q_len, d)).astype(nl.bfloat16)
    k = rng.standard_normal((kv_len, d)).astype(nl.bfloat16)
    v = rng.standard_normal((kv_len, d)).astype(nl.bfloat16)
    out = run_kernel(K.flash_attention_kernel, np.ascontiguousarray(q.T), np.ascontiguousarray(k.T), v,
                     target="trn2", causal=causal).output_list[0].astype(np.float32)
    qf, kf, vf = (x.astype(np.float32) for x in (q, k, v))
    s = qf @ kf.T / np.sqrt(d)
    if causal:
        pos = np.arange(kv_len - q_len, kv_len)[:, None]
        s = np.where(np.arange(kv_len)[None, :] <= pos, s, -np.inf)
    p = np.exp(s - s.max(1, keepdims=True))
    np.testing.assert_allclose(out, (p / p.sum(1, keepdims=True)) @ vf, atol=2e-2)


def test_stream_kernel():
    x = np.random.default_rng(2).standard_normal((256, 2048)).astype(nl.bfloat16)
    out = run_kernel(K.stream_kernel, x, target="trn2").output_list[0]
    np.testing.assert_array_equal(out.astype(np.float32), 2 * x.astype(np.float32))


def test_timing_path_when_neuroncore_is_available():
    from trnsim.ops.calibrate_trainium import neuroncore_available
    from trnsim.hardware import load_chip

    ok, why = neuroncore_available()
    if not ok:
        pytest.skip(why)
    chip = load_chip("trn2")
    t_small = K.gemm_time(chip, 128, 512, 512, "bf16")
    t_big = K.gemm_time(chip, 1024, 2048, 2048, "bf16")
    assert 0 < t_small < t_big
    # never faster than the chip roofline
    assert t_big >= 2 * 1024 * 2048 * 2048 / chip.flops("bf16")

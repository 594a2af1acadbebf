"""The canonical NKI kernels behind `calibrate_trainium --method neuroncore` compute the right thing."""

import numpy as np
import pytest

nki = pytest.importorskip("trnsim.nki")
from trnsim.nki import run_kernel  # noqa: E402
import trnsim.nki.language as nl  # noqa: E402

from trnsim.ops import nc_attention as A  # noqa: E402
from trnsim.ops import nc_kernels as K  # noqa: E402


@pytest.mark.parametrize("m,n,k,resident", [(256, 1024, 512, True), (8, 512, 256, False), (128, 128, 128, True)])
def test_gemm_kernel(m, n, k, resident):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(nl.bfloat16)
    b = rng.standard_normal((k, n)).astype(nl.bfloat16)
    out = run_kernel(K.gemm_kernel, np.ascontiguousarray(a.T), b, target="trn2", rhs_resident=resident).output_list[0]
    ref = a.astype(np.float32) @ b.astype(np.float32)
    np.testing.assert_allclose(out.astype(np.float32), ref, rtol=2e-2, atol=0.5)


@pytest.mark.parametrize("resident", [True, False])
def test_gemm_kernel_fp8_double_row(resident):
    """The fp8 path gemm_time takes on NeuronCore-v3+: K = 256 per instruction (perf_mode="double_row")."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 512)).astype(K._np_dtype("fp8"))
    b = rng.standard_normal((512, 1024)).astype(K._np_dtype("fp8"))
    out = run_kernel(K.gemm_kernel, np.ascontiguousarray(a.T), b, target="trn3", rhs_resident=resident,
                     double_row=True).output_list[0]
    ref = a.astype(np.float32) @ b.astype(np.float32)
    np.testing.assert_allclose(out.astype(np.float32), ref, rtol=2e-2, atol=0.5)


def _attention_ref(q, k, v, causal_rows=None):
    """softmax(q k^T / sqrt(d)) v in fp32; ``causal_rows``: key position limit per query row."""
    q, k, v = (x.astype(np.float32) for x in (q, k, v))
    s = q @ k.T / np.sqrt(q.shape[1])
    if causal_rows is not None:
        s = np.where(np.arange(k.shape[0])[None, :] <= causal_rows[:, None], s, -np.inf)
    p = np.exp(s - s.max(1, keepdims=True))
    return (p / p.sum(1, keepdims=True)) @ v


@pytest.mark.parametrize("q_len,kv_len,d,causal,heads,group,target", [
    (256, 2048, 64, True, 1, 1, "trn2"),      # several 1024-key steps, causal tail block
    (384, 1024, 128, True, 2, 2, "trn2"),     # two GQA heads sharing K/V
    (128, 1024, 128, False, 1, 1, "trn3"),
    (256, 512, 64, True, 1, 1, "trn1"),       # NeuronCore-v2: fp32 PE transposes
])
def test_prefill_attention_kernel(q_len, kv_len, d, causal, heads, group, target):
    rng = np.random.default_rng(1)
    kvh = heads // group
    q = rng.standard_normal((heads, q_len, d)).astype(nl.bfloat16)
    k = rng.standard_normal((kvh, kv_len, d)).astype(nl.bfloat16)
    v = rng.standard_normal((kvh, kv_len, d)).astype(nl.bfloat16)
    kb = min(A.KB_PREFILL, kv_len)
    out = run_kernel(A.prefill_attention_kernel, np.ascontiguousarray(q.transpose(0, 2, 1)),
                     np.ascontiguousarray(k.transpose(0, 2, 1)),
                     np.ascontiguousarray(v.reshape(kvh, kv_len // kb, 128, (kb // 128) * d)),
                     target=target, causal=causal, bf16_transpose=target != "trn1").output_list[0].astype(np.float32)
    rows = np.arange(kv_len - q_len, kv_len) if causal else None
    for h in range(heads):
        np.testing.assert_allclose(out[h], _attention_ref(q[h], k[h // group], v[h // group], rows), atol=2e-2)


@pytest.mark.parametrize("units,group,q_tokens,kv_len,d,target", [
    (3, 4, 1, 1024, 128, "trn2"),     # GQA decode, units stacked on the partitions, two 512-key blocks
    (2, 8, 2, 512, 64, "trn2"),       # two speculative tokens: causal mask on the last block
    (40, 4, 1, 512, 64, "trn3"),      # more units than fit on 128 partitions: two groups
    (2, 4, 1, 512, 128, "trn1"),
])
def test_decode_attention_kernel(units, group, q_tokens, kv_len, d, target):
    rng = np.random.default_rng(0)
    R, KB = group * q_tokens, A.KB_DECODE
    nblk = kv_len // KB
    q = rng.standard_normal((units, R, d)).astype(nl.bfloat16)   # rows: token-major, then the group's heads
    k = rng.standard_normal((units, kv_len, d)).astype(nl.bfloat16)
    v = rng.standard_normal((units, kv_len, d)).astype(nl.bfloat16)
    pos = kv_len - q_tokens + np.arange(R) // group
    args = [np.ascontiguousarray(q.reshape(units * R, d).T),
            np.ascontiguousarray(k.reshape(units, nblk, KB, d).transpose(0, 1, 3, 2)),
            np.ascontiguousarray(v.reshape(units, nblk, 128, (KB // 128) * d))]
    if q_tokens > 1:
        args.append(np.where(np.arange(KB)[None, :] <= (pos - (kv_len - KB))[:, None], 0.0, -3e38).astype(np.float32))
    out = run_kernel(A.decode_attention_kernel, *args, target=target,
                     bf16_transpose=target != "trn1").output_list[0].astype(np.float32)
    for u in range(units):
        ref = _attention_ref(q[u], k[u], v[u], pos if q_tokens > 1 else None)
        np.testing.assert_allclose(out[u * R:(u + 1) * R], ref, atol=2e-2)


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


def test_attention_kernels_on_the_timing_model():
    """Decode streams the KV cache near the per-core HBM share; prefill keeps TensorE busy (simulated time)."""
    from trnsim.hardware import load_chip
    from trnsim.ops.calibrate_trainium import neuroncore_available

    ok, why = neuroncore_available()
    if not ok:
        pytest.skip(why)
    chip = load_chip("trn2")
    batch, kv = 32, 4096                          # 32 (sequence, KV head) units per core
    t = A.decode_time(chip, batch, 1, kv, 32, 8, 128)
    kv_bytes = batch * 8 * kv * 2 * 128 * 2
    assert kv_bytes / chip.hbm_bandwidth.si < t < kv_bytes / chip.hbm_bandwidth.si / 0.8
    t = A.prefill_time(chip, 1, 2048, 2048, 32, 8, 128)
    flops = 4 * 32 * 2048 * 2048 / 2 * 128        # causal: half the QK^T and PV products
    assert flops / chip.flops("bf16") < t < flops / chip.flops("bf16") / 0.2

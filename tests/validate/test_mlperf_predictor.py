"""MLPerf serving predictor: deployment rule (offline keeps the smallest TP that holds the weights; latency-bound
scenarios may widen TP within a server when that serves more under the limits)."""

from __future__ import annotations

from trnsim.validate.predictors.serving import mlperf
from trnsim.validate.rows import GroundTruthRow


def _row(scenario: str, metric: str, extra: dict[str, str] | None = None) -> GroundTruthRow:
    cfg = {"scenario": scenario} | (extra or {})
    return GroundTruthRow(id="T-1", category="mlperf_inference", system="8x B200", accelerator="B200",
                          num_accelerators=8, model_or_kernel="Llama 3.1 405B", workload="serve", config=cfg,
                          metric=metric, value=1.0, unit="tokens/s")


def _tp(note: str) -> int:
    return int(note.split("TP")[1].split()[0])


def test_offline_uses_smallest_tp_and_interactive_may_widen():
    off = mlperf(_row("Offline", "output_tokens_per_s_offline"))
    inter = mlperf(_row("Interactive", "output_tokens_per_s_interactive",
                        {"constraint_ttft_p99_ms": "4500", "constraint_tpot_p99_ms": "80"}))
    assert _tp(off.note) == 2
    assert _tp(inter.note) >= _tp(off.note)
    assert 0 < inter.value < off.value  # latency limits cost throughput

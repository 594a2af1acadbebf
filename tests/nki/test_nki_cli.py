"""`trnsim kernel run` on the example kernels (functional and timing-only), and its error path."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "kernels"


@pytest.mark.parametrize("name", ["matmul", "tensor_add", "softmax", "attention"])
def test_examples_run_and_check(cli_json, name):
    data = cli_json("kernel", "run", str(EXAMPLES / f"{name}.py"))
    assert len(data["kernels"]) == 1
    k = data["kernels"][0]
    assert k["instructions"] > 0 and sum(k["engines"].values()) == k["instructions"]
    assert 0 < k["peak_sbuf_bytes_per_partition"] <= k["sbuf_bytes_per_partition"]
    assert not k["warnings"]


def test_timing_only_and_targets(cli_json, cli):
    fun = cli_json("kernel", "run", str(EXAMPLES / "matmul.py"))
    tim = cli_json("kernel", "run", str(EXAMPLES / "matmul.py"), "--timing-only", "--target", "trn3")
    assert tim["timing_only"] and tim["kernels"][0]["target"] == "trn3"
    assert tim["kernels"][0]["engines"] == fun["kernels"][0]["engines"]
    code, out, _ = cli("kernel", "run", str(EXAMPLES / "tensor_add.py"))
    assert code == 0 and "add_kernel" in out


def test_errors_are_one_line(cli, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import numpy as np\nimport nki\nimport nki.isa as nisa\nimport nki.language as nl\n\n"
        "@nki.jit\ndef k(a):\n    t = nl.ndarray((128, 256), dtype=nl.float32, buffer=nl.sbuf)\n"
        "    nisa.dma_copy(dst=t, src=a)\n"
        "    p = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.psum)\n"
        "    nisa.nc_matmul(dst=p, stationary=t, moving=t)\n\n"
        "k(np.zeros((128, 256), np.float32))\n")
    code, _, err = cli("kernel", "run", str(bad))
    assert code == 2
    line = " ".join(err.split())
    assert "nc_matmul: stationary free size 256 > 128 (tile rule TC#3)" in line and "bad.py:11" in line
    code, _, err = cli("kernel", "run", str(tmp_path / "missing.py"))
    assert code == 2 and "not found" in err

"""`trnsim op time ...`: prints time, TFLOPS, efficiency and source; one-line errors."""

import json

import pytest


def test_gemm_table(cli):
    code, out, err = cli("op", "time", "gemm", "--m", "8192", "--n", "8192", "--k", "8192", "--chip", "trn2")
    assert code == 0, err
    for word in ("time", "TFLOPS", "efficiency", "source", "trainium_efficiency.toml[trainium2.gemm.bf16]"):
        assert word in out


def test_gemm_json(cli):
    code, out, _ = cli("op", "time", "gemm", "--m", "4096", "--n", "4096", "--k", "4096", "--chip", "h100",
                       "--dtype", "fp8", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["dtype"] == "fp8" and d["bound"] == "compute"
    assert d["seconds"] > 0 and 0 < d["efficiency"] <= 1
    assert d["achieved_tflops"] == pytest.approx(2 * 4096**3 / d["seconds"] / 1e12)


def test_attention(cli):
    code, out, err = cli("op", "time", "attention", "--batch", "1", "--seq", "8192", "--heads", "64", "--kv-heads", "8",
                         "--head-dim", "128", "--causal", "--chip", "h100", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["shape"]["causal"] == 1 and d["bound"] == "compute"
    code, out, err = cli("op", "time", "attention", "--q-len", "1", "--kv-len", "8192", "--batch", "32", "--heads", "32",
                         "--kv-heads", "8", "--chip", "trn3", "--json")
    assert code == 0, err
    assert json.loads(out)["bound"] == "memory"


@pytest.mark.parametrize("args", [
    ("gemm", "--m", "8", "--n", "8", "--k", "8", "--chip", "nosuchchip"),
    ("gemm", "--m", "0", "--n", "8", "--k", "8", "--chip", "h100"),
    ("gemm", "--m", "8", "--n", "8", "--k", "8", "--chip", "h100", "--dtype", "fp5"),
    ("attention", "--heads", "64", "--kv-heads", "7", "--seq", "128", "--chip", "h100"),
    ("attention", "--heads", "8", "--chip", "h100"),
])
def test_errors_are_one_line(cli, args):
    code, out, err = cli("op", "time", *args)
    assert code == 2
    assert err.strip().startswith("error:") and len(err.strip().splitlines()) == 1


def test_system_name_means_its_chip(cli):
    code, out, err = cli("op", "time", "gemm", "--m", "1024", "--n", "1024", "--k", "1024", "--chip", "trn3-ultraserver-gen2",
                         "--json")
    if code == 2 and "unknown" in err:
        pytest.skip("system not in the catalog")
    assert code == 0, err
    assert json.loads(out)["chip"] == "trainium3"

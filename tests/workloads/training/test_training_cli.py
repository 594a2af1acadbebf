"""`trnsim train`: tables, JSON, --plan auto, traces, one-line errors."""
import json


def test_train_json(cli_json):
    d = cli_json("train", "--model", "llama-3.1-8b", "--system", "p5.48xlarge", "--tp", "2", "--pp", "2",
                 "--gbs", "32", "--seq", "8192", "--precision", "fp8", "--tokens", "1T")
    assert d["chips"] == 8 and d["plan"]["dp"] == 2
    assert 0 < d["mfu"] < 1 and d["time_to_train_s"] > 0
    assert set(d["breakdown_s"]) >= {"compute", "exposed_comm", "bubble", "optimizer", "total"}


def test_train_table_and_trace(cli, tmp_path):
    out = tmp_path / "t.json"
    code, text, err = cli("train", "--model", "llama-3.1-405b", "--system", "trn3-ultraserver-gen2", "--tp", "8",
                          "--pp", "8", "--chips", "128", "--gbs", "256", "--seq", "8192", "--recompute", "full",
                          "--trace", str(out))
    assert code == 0, err
    assert "step time" in text and "MFU" in text and "memory per chip" in text
    assert json.loads(out.read_text())["traceEvents"]


def test_plan_auto(cli):
    code, text, err = cli("train", "--model", "llama-3.1-8b", "--system", "p5.48xlarge", "--plan", "auto",
                          "--gbs", "64", "--seq", "4096")
    assert code == 0, err
    assert "--plan auto" in text and "plans/s" in text


def test_impossible_plan_is_one_line(cli):
    code, text, err = cli("train", "--model", "llama-3.1-8b", "--system", "p5.48xlarge", "--tp", "3", "--dp", "1")
    assert code == 2
    assert "tp=3 does not divide the 32 attention heads" in err and err.strip().count("\n") == 0


def test_oom_is_one_line(cli):
    code, text, err = cli("train", "--model", "llama-3.1-405b", "--system", "p5.48xlarge", "--tp", "8")
    assert code == 2 and "GiB per chip" in err and "activations" in err

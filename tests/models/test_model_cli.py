"""`trnsim model list | show | ops`."""


def test_list(cli):
    code, out, _ = cli("model", "list")
    assert code == 0 and "llama-3.1-405b" in out and "405.85B" in out


def test_list_json(cli_json):
    rows = cli_json("model", "list")
    assert {r["name"] for r in rows} >= {"deepseek-v3", "gpt-oss-120b"}


def test_show(cli):
    code, out, _ = cli("model", "show", "Llama-3.1-405B")
    assert code == 0
    for s in ("GQA 128 q / 8 kv heads", "405.85B", "504.0 KiB", "training FLOPs / token"):
        assert s in out


def test_show_json(cli_json):
    d = cli_json("model", "show", "deepseek-v3", "--seq", "2048")
    assert d["total_params"] == 671_026_419_200 or abs(d["total_params"] / 671e9 - 1) < 0.01
    assert d["costs"]["kv_cache_bytes_per_token"] == 61 * 576 * 2
    assert d["costs"]["seq_len"] == 2048
    assert d["costs"]["training_flops_per_token"] > d["costs"]["training_6n_flops_per_token"]


def test_show_unknown_is_one_line_error(cli):
    code, out, err = cli("model", "show", "llama-9")
    assert code == 2 and "unknown model 'llama-9'" in err and err.strip().count("\n") == 0


def test_ops_json(cli_json):
    d = cli_json("model", "ops", "mixtral-8x7b", "--phase", "prefill", "--batch", "2", "--seq", "128", "--tp", "2")
    kinds = {o["kind"] for o in d["ops"]}
    assert {"gemm", "moe_gemm", "attention", "norm", "embedding"} <= kinds
    assert d["totals"]["flops"] > 0


def test_ops_bad_phase(cli):
    code, _, err = cli("model", "ops", "llama-3-8b", "--phase", "train")
    assert code == 2 and "unknown phase" in err

import pytest


def test_list_has_required_systems(cli_json):
    rows = cli_json("hw", "list")
    names = {r["name"] for r in rows if r["kind"] == "system"}
    for required in ("trn1.32xlarge", "inf2.48xlarge", "trn2.48xlarge", "trn2-ultraserver",
                     "trn3-ultraserver-gen1", "trn3-ultraserver-gen2", "p4d.24xlarge", "p5.48xlarge",
                     "p5en.48xlarge", "p6-b200.48xlarge", "gb200-nvl72", "gb300-nvl72"):
        assert required in names


def test_compare_shows_launch_claim_ratios(cli_json):
    data = cli_json("hw", "compare", "trn2-ultraserver", "trn3-ultraserver-gen2")
    gen2 = data["columns"][1]["values"]
    assert gen2["flops_low_precision"]["ratio"] == pytest.approx(4.36, abs=0.01)
    assert gen2["flops_low_precision"]["note"] == "mxfp8"
    assert data["columns"][0]["values"]["flops_low_precision"]["note"] == "fp8"
    assert gen2["hbm_bandwidth"]["ratio"] == pytest.approx(3.80, abs=0.01)
    assert gen2["hbm_capacity"]["ratio"] == pytest.approx(3.375, abs=0.001)


def test_compare_table_prints_ratios(cli):
    code, out, _ = cli("hw", "compare", "trn2-ultraserver", "trn3-ultraserver-gen2")
    assert code == 0
    assert "4.36x" in out and "3.80x" in out and "3.38x" in out


def test_compare_chips(cli_json):
    data = cli_json("hw", "compare", "h100", "b200")
    assert data["columns"][1]["values"]["flops_bf16"]["ratio"] == pytest.approx(2250 / 989, rel=0.01)


def test_show_sources_lists_conflicts(cli):
    code, out, _ = cli("hw", "show", "trainium2", "--sources")
    assert code == 0
    assert "not used: 3 TB/s (N13)" in out
    assert "trainium2.rst" in out


def test_show_json_has_provenance(cli_json):
    data = cli_json("hw", "show", "trn3-ultraserver-gen2")
    q = data["quantities"]
    assert all(v["kind"] in ("published", "derived", "projected", "assumed") and v["source"] for v in q.values())


@pytest.mark.parametrize("args", [("hw", "show", "trn3-ultraserver-gen3"), ("hw", "compare", "trn2", "h1OO")])
def test_unknown_names_suggest_closest(cli, args):
    code, out, err = cli(*args)
    assert code == 2
    assert "did you mean" in err and len(err.strip().splitlines()) == 1


def test_bad_user_file_is_one_line_error(cli, tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('[chip]\nname = "x"\n')
    code, _, err = cli("hw", "show", str(p))
    assert code == 2 and str(p) in err and "missing field" in err

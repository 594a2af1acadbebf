"""`trnsim collective ...`"""

from __future__ import annotations


def test_time_prints_algorithm_busbw_and_sources(cli):
    code, out, err = cli("collective", "time", "all-reduce", "--bytes", "1GiB",
                         "--system", "trn3-ultraserver-gen2", "--group", "144")
    assert code == 0, err
    assert "algorithm" in out and "busbw" in out and "sources" in out
    assert "N4" in out  # the catalog source of the NeuronLink-v4 bandwidth


def test_time_json(cli_json):
    d = cli_json("collective", "time", "all-gather", "--bytes", "512MB", "--system", "p5.48xlarge")
    assert d["kind"] == "all-gather" and d["group"] == 8 and d["time"] > 0
    assert d["candidates"] and d["sources"]


def test_cluster_and_spread_group(cli_json):
    d = cli_json("collective", "time", "all-reduce", "--bytes", "1GiB", "--system", "trn2-ultraserver",
                 "--chips", "1024", "--group", "64", "--per-node", "1")
    assert d["domains"] == 16 and d["per_domain"] == 4


def test_errors_are_one_line(cli):
    for args in (
        ("collective", "time", "all-reduce", "--bytes", "lots", "--system", "p5.48xlarge"),
        ("collective", "time", "all-reduce", "--bytes", "1GiB", "--system", "p5.48xlarge", "--group", "16"),
        ("collective", "time", "all-scatter", "--bytes", "1GiB", "--system", "p5.48xlarge"),
        ("collective", "time", "all-to-all", "--bytes", "1GiB", "--system", "p5.48xlarge", "--algorithm", "tree"),
    ):
        code, out, err = cli(*args)
        assert code == 2, (args, out, err)
        assert err.strip().startswith("error:") and len(err.strip().splitlines()) == 1


def test_constants_listed_with_provenance(cli_json):
    rows = cli_json("collective", "constants")
    assert all(r["provenance"] and r["why"] for r in rows)
    assert any(r["name"] == "nccl.Simple.eff" for r in rows)


def test_per_chip_ranks(cli):
    code, out, _ = cli("collective", "time", "all-reduce", "--bytes", "1MiB", "--system", "trn1.32xlarge", "--per-chip", "2")
    assert code == 0 and "32 ranks (2 per chip)" in out
    code, _, err = cli("collective", "time", "all-reduce", "--bytes", "1MiB", "--system", "trn1.32xlarge", "--per-chip", "5")
    assert code == 2 and "per_chip=5 is impossible" in err

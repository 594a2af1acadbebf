"""Shared test settings (deterministic hypothesis profile) and the in-process CLI fixtures."""
import json as _json

from hypothesis import HealthCheck, settings

settings.register_profile(
    "trnsim", derandomize=True, deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("trnsim")

import pytest

from trnsim.cli import app
from trnsim.cli.common import run_guarded


@pytest.fixture
def cli(capsys):
    """Run `trnsim ARGS...` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str):
        code = run_guarded(app, list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def cli_json(cli):
    def run(*args: str):
        code, out, err = cli(*args, "--json")
        assert code == 0, err
        return _json.loads(out)

    return run

"""`trnsim --help` loads every command module: they must not import the hardware catalog, the op
models, the workloads or numpy at start (each command imports what it needs)."""

import subprocess
import sys


def test_cli_import_leaves_heavy_modules_unloaded():
    heavy = ("trnsim.hardware", "trnsim.ops", "trnsim.workloads", "trnsim.network", "trnsim.report", "numpy")
    code = ("import sys, trnsim.cli; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imported at CLI start: {out}"

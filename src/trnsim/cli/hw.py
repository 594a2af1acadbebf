"""`trnsim hw`: list, show and compare chips and systems from the catalog."""

from __future__ import annotations

import typer

from trnsim.cli.common import JsonOpt, console, print_json
from trnsim.hardware import catalog

app = typer.Typer(help="Hardware catalog: list, show and compare chips and systems.", no_args_is_help=True)


@app.command("list")
def list_(json: bool = JsonOpt) -> None:
    """List the catalog's systems, chips and NeuronCores."""
    cat = catalog()
    data = {k: cat.names(k) for k in ("system", "chip", "core")}
    if json:
        print_json(data)
        return
    for kind, names in data.items():
        console.print(f"[bold]{kind}s[/]: " + ", ".join(names))

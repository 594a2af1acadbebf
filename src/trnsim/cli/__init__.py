"""The ``trnsim`` command line. Each command group lives in its own module ``trnsim.cli.<group>``
defining ``app = typer.Typer(...)``; groups are registered here in the order they are listed."""

from __future__ import annotations

import importlib
import importlib.util
import sys

import typer

from trnsim.cli.common import console_err, run_guarded

GROUPS: tuple[tuple[str, str], ...] = (
    ("hw", "hw"),
    ("kernel", "kernel"),
    ("model", "model"),
    ("op", "op"),
    ("collective", "collective"),
)
# single commands: module defines a function ``command`` registered under this name
COMMANDS: tuple[tuple[str, str], ...] = (
    ("validate", "validate"),
    ("train", "train"),
    ("serve", "serve"),
    ("compare", "compare"),
    ("search", "search"),
)

app = typer.Typer(
    name="trnsim",
    help="Simulate AWS Trainium systems and their Nvidia peers: kernels, training, serving, cost.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    for module, name in GROUPS:
        if importlib.util.find_spec(f"trnsim.cli.{module}") is not None:
            app.add_typer(importlib.import_module(f"trnsim.cli.{module}").app, name=name)
    for module, name in COMMANDS:
        if importlib.util.find_spec(f"trnsim.cli.{module}") is not None:
            app.command(name)(importlib.import_module(f"trnsim.cli.{module}").command)


_register()


def main() -> None:
    """Console-script entry point: user errors become one line on stderr and exit code 2."""
    sys.exit(run_guarded(app))


__all__ = ["app", "main", "console_err"]

"""Shared CLI helpers: consoles, JSON output, and the guard that turns TrnsimError into one line."""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

import typer
from rich.console import Console

from trnsim.errors import TrnsimError

# wide tables when piped (rich would fall back to 80 columns)
console = Console(width=None if sys.stdout.isatty() else 160)
console_err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")


def print_json(obj: Any) -> None:
    """Write ``obj`` as JSON to stdout (no rich markup)."""
    sys.stdout.write(json.dumps(obj, indent=2, default=_default) + "\n")


def _default(o: Any) -> Any:
    if hasattr(o, "model_dump"):
        return o.model_dump()
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "__dataclass_fields__"):
        return {k: getattr(o, k) for k in o.__dataclass_fields__}
    return str(o)


def fmt_seconds(s: float) -> str:
    """A duration in s, ms or us (3 or 2 decimals)."""
    if s >= 1.0:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3f} ms"
    return f"{s * 1e6:.2f} us"


def run_guarded(app: Callable[..., Any], args: list[str] | None = None) -> int:
    """Run a typer app; a TrnsimError prints ``error: ...`` on one line and returns 2."""
    try:
        app(args=args)
    except TrnsimError as e:
        console_err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        return 2
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except KeyboardInterrupt:
        console_err.print("interrupted")
        return 130
    return 0

"""`trnsim hw`: list, show and compare chips and systems from the catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from trnsim.cli.common import JsonOpt, console, print_json
from trnsim.errors import TrnsimError

if TYPE_CHECKING:
    from trnsim.hardware.quantity import Quantity

# trnsim.hardware (pydantic specs, the catalog) is imported inside the commands: `trnsim --help` stays fast

app = typer.Typer(help="Hardware catalog: list, show and compare chips and systems.", no_args_is_help=True)


def _find(name: str) -> tuple[str, Any]:
    """A catalog entry by name, or the last system/chip/core of a TOML file."""
    from trnsim.hardware import catalog, load_file

    if name.endswith(".toml") or "/" in name:
        entries = load_file(name)
        for kind in ("system", "chip", "core"):
            found = [s for k, s in entries if k == kind]
            if found:
                return kind, found[-1]
    return catalog().any(name)


@app.command("list")
def list_(json: bool = JsonOpt) -> None:
    """List the catalog's systems, chips and NeuronCores."""
    from trnsim.hardware import catalog

    cat = catalog()
    rows = []
    for kind in ("system", "chip", "core"):
        for name in cat.names(kind):
            spec = cat.get(kind, name)
            rows.append({"kind": kind, "name": name, "title": spec.title, "aliases": list(spec.aliases),
                         "status": getattr(spec, "status", "shipping")})
    if json:
        print_json(rows)
        return
    t = Table(title="trnsim hardware catalog")
    for col in ("kind", "name", "display name", "status", "aliases"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["kind"], r["name"], r["title"], r["status"], ", ".join(r["aliases"]))
    console.print(t)


def _quantities(obj: Any, prefix: str = "") -> list[tuple[str, Quantity]]:
    """All Quantity fields of a spec, flattened to dotted paths."""
    from trnsim.hardware.quantity import Quantity

    out: list[tuple[str, Quantity]] = []
    items = obj.items() if isinstance(obj, dict) else (
        (k, getattr(obj, k)) for k in type(obj).model_fields if not k.endswith("_spec"))
    for k, v in items:
        path = f"{prefix}{k}"
        if isinstance(v, Quantity):
            out.append((path, v))
        elif isinstance(v, dict) or hasattr(type(v), "model_fields"):
            out += _quantities(v, path + ".")
    return out


def _scalars(spec: Any) -> dict[str, Any]:
    keep = {}
    for k in type(spec).model_fields:
        v = getattr(spec, k)
        if isinstance(v, (str, int, float, bool)) and k not in ("display_name",):
            keep[k] = v
        elif isinstance(v, tuple) and v and all(isinstance(x, str) for x in v):
            keep[k] = list(v)
    return keep


@app.command("show")
def show(
    name: str = typer.Argument(..., help="System, chip or core name (or a .toml file)."),
    sources: bool = typer.Option(False, "--sources", help="Show each number's source and the conflicting values not used."),
    json: bool = JsonOpt,
) -> None:
    """Show every number of a system, chip or NeuronCore with its provenance."""
    from trnsim.hardware import catalog

    kind, spec = _find(name)
    qs = _quantities(spec)
    cat = catalog()
    if json:
        print_json({"kind": kind, **_scalars(spec),
                    "quantities": {p: q.model_dump(exclude={"dimension"}) for p, q in qs},
                    "sources": {k: cat.sources.get(k, {}) for k in _source_keys(qs)} if sources else None})
        return
    console.print(f"[bold]{spec.title}[/] ({kind} '{spec.name}')")
    for k, v in _scalars(spec).items():
        if k not in ("name", "notes"):
            console.print(f"  {k}: {', '.join(v) if isinstance(v, list) else v}")
    t = Table()
    for col in ("field", "value", "kind", "source") + (("note / conflicting values",) if sources else ()):
        t.add_column(col)
    for path, q in qs:
        row = [path, f"{q.value:g} {q.unit}", q.kind, q.source]
        if sources:
            alts = "; ".join(f"{a.value:g} {a.unit} ({a.source}{': ' + a.note if a.note else ''})" for a in q.alt)
            row.append(" | ".join(x for x in (q.note or "", ("not used: " + alts) if alts else "") if x))
        t.add_row(*row)
    console.print(t)
    for n in spec.notes:
        console.print(f"  note: {n}")
    if sources:
        st = Table(title="Sources")
        st.add_column("key")
        st.add_column("reference")
        for key in _source_keys(qs):
            ref = cat.sources.get(key, {})
            st.add_row(key, f"{ref.get('title', '')} — {ref.get('ref', '(user-given)')}")
        console.print(st)


def _num(x: float) -> str:
    """4 significant digits, thousands separators, no exponent for everyday magnitudes."""
    if float(x).is_integer() and abs(x) < 1e12:
        return f"{int(x):,}"
    if 1e-3 <= abs(x) < 1e9:
        digits = max(0, 3 - int(f"{abs(x):e}".split("e")[1]))
        return f"{x:,.{digits}f}"
    return f"{x:.3e}"


def _source_keys(qs: list[tuple[str, Quantity]]) -> list[str]:
    keys: set[str] = set()
    for _, q in qs:
        for s in [q.source, *(a.source for a in q.alt)]:
            keys.update(x.strip() for x in s.split(",") if x.strip())
    return sorted(keys)


@app.command("compare")
def compare(
    names: list[str] = typer.Argument(..., help="Two or more systems (or chips); the first is the baseline."),
    json: bool = JsonOpt,
) -> None:
    """Compare systems (or chips) side by side, with ratios against the first."""
    from trnsim.hardware.compare import CHIP_METRICS, SYSTEM_METRICS, chip_values, ratios, system_values
    from trnsim.hardware.specs import ChipSpec, SystemSpec

    if len(names) < 2:
        raise TrnsimError("hw compare needs at least two names", "e.g. trnsim hw compare trn2-ultraserver trn3-ultraserver-gen2")
    found = [_find(n) for n in names]
    kinds = {k for k, _ in found}
    if kinds == {"system"}:
        metrics, values = SYSTEM_METRICS, [system_values(s) for _, s in found]
    elif kinds <= {"chip", "system"}:
        chips = [s if isinstance(s, ChipSpec) else s.chip_ for _, s in found]
        metrics, values = CHIP_METRICS, [chip_values(c) for c in chips]
        found = [("chip", c) for c in chips]
    else:
        raise TrnsimError("hw compare takes systems or chips, not NeuronCores", "use `trnsim hw show` for a core")
    rat = ratios(values)
    titles = [s.title for _, s in found]
    if json:
        print_json({"baseline": titles[0], "columns": [
            {"name": s.name, "title": s.title,
             "values": {m.key: {"value": v[m.key][0], "display": None if v[m.key][0] is None else v[m.key][0] / m.scale,
                                "unit": m.unit, "note": v[m.key][1], "ratio": r[m.key]} for m in metrics}}
            for (_, s), v, r in zip(found, values, rat)]})
        return
    t = Table(title=f"Comparison (ratios vs {titles[0]})")
    t.add_column("metric")
    t.add_column("unit")
    for title in titles:
        t.add_column(title, justify="right")
    for m in metrics:
        cells = []
        for i, (v, r) in enumerate(zip(values, rat)):
            val, note = v[m.key]
            if val is None:
                cells.append("-")
                continue
            txt = _num(val / m.scale)
            if note and m.key in ("flops_low_precision", "chips"):
                txt += f" ({note})"
            if i > 0 and r[m.key] is not None:
                txt += f"  [bold]{r[m.key]:.2f}x[/]"
            cells.append(txt)
        t.add_row(m.label, m.unit, *cells)
    console.print(t)
    if any(isinstance(s, SystemSpec) and s.status != "shipping" for _, s in found):
        console.print("note: projected/announced systems use projected numbers (see `trnsim hw show NAME --sources`).")

"""`trnsim collective`: time a collective on a system's fabric; list the library constants."""

from __future__ import annotations

from typing import Optional

import typer

from trnsim.cli.common import JsonOpt, console, fmt_seconds, print_json
from trnsim.errors import TrnsimError

app = typer.Typer(
    help="Collectives on a system's scale-up and scale-out fabric: time, algorithm, bus bandwidth.",
    no_args_is_help=True,
)


def _fmt_bytes(b: float) -> str:
    for unit, f in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= f:
            return f"{b / f:g} {unit}"
    return f"{b:g} B"


@app.command("time")
def time_(
    kind: str = typer.Argument(..., help="all-reduce, all-gather, reduce-scatter, all-to-all, broadcast, reduce, send-recv"),
    nbytes: str = typer.Option(..., "--bytes", "-b", help="message size: 4096, 64KiB, 512MB, 1GiB (nccl-tests convention)"),
    system: str = typer.Option(..., "--system", "-s", help="catalog system name or a system TOML file"),
    group: Optional[int] = typer.Option(None, "--group", "-g", help="ranks in the communicator (default: all chips)"),
    per_chip: int = typer.Option(1, "--per-chip", help="ranks per chip (NeuronCores: 2 on Trn1, 4 logical at LNC=2 on Trn2/Trn3)"),
    chips: Optional[int] = typer.Option(None, "--chips", help="cluster size in chips (several systems over scale-out)"),
    per_domain: Optional[int] = typer.Option(
        None, "--per-domain", help="group members per scale-up domain (default: packed consecutively)"
    ),
    per_node: Optional[int] = typer.Option(None, "--per-node", help="group members per server (alternative to --per-domain)"),
    algorithm: Optional[str] = typer.Option(None, "--algorithm", "-a", help="force ring, tree, direct or hierarchical"),
    json: bool = JsonOpt,
) -> None:
    """Time one collective, with the algorithm chosen, bus bandwidth and the sources of the numbers."""
    from trnsim.hardware import load_system
    from trnsim.network import Group, Topology, collective_time, parse_size

    size = parse_size(nbytes)
    spec = load_system(system)
    topo = Topology.from_system(spec, chips=chips)
    n = topo.chips * per_chip if group is None else group
    if kind.strip().lower().replace("_", "-") in ("send-recv", "sendrecv", "p2p", "send", "recv") and group is None:
        n = 2
    r = collective_time(kind, size, Group(n, per_domain, per_node, per_chip=per_chip), topo, algorithm=algorithm)
    if json:
        d = r.as_dict()
        d["candidates"] = [{"algorithm": a, "protocol": p, "time": t} for a, p, t in r.candidates]
        print_json(d)
        return
    who = f"{r.group} chips" if per_chip == 1 else f"{r.group} ranks ({per_chip} per chip)"
    console.print(f"[bold]{r.kind}[/] of {_fmt_bytes(r.nbytes)} over {who} of {topo.name} "
                  f"({r.per_domain} per domain x {r.domains} domain{'s' if r.domains > 1 else ''})", highlight=False)
    console.print(f"  time       {fmt_seconds(r.time)}  (alpha {fmt_seconds(r.alpha)} + beta {fmt_seconds(r.beta)})",
                  highlight=False)
    console.print(f"  algorithm  {r.algorithm} / {r.protocol}   library model: {r.library}", highlight=False)
    console.print(f"  bandwidth  busbw {r.busbw / 1e9:.1f} GB/s, algbw {r.algbw / 1e9:.1f} GB/s", highlight=False)
    if len(r.candidates) > 1:
        alts = ", ".join(f"{a}/{p} {fmt_seconds(t)}" for a, p, t in sorted(r.candidates, key=lambda c: c[2]))
        console.print(f"  candidates {alts}", highlight=False, soft_wrap=True)
    console.print("  sources:", highlight=False)
    for s in r.sources:
        console.print(f"    {s}", highlight=False, soft_wrap=True)


@app.command("constants")
def constants(json: bool = JsonOpt) -> None:
    """The collective library constants with their values, provenance and meaning."""
    from trnsim.network.constants import describe

    rows = describe()
    if json:
        print_json(rows)
        return
    for d in rows:
        console.print(f"[bold]{d['name']}[/] = {d['value']:g}", highlight=False)
        console.print(f"    {d['provenance']}", highlight=False, soft_wrap=True)
        console.print(f"    {d['why']}", highlight=False, soft_wrap=True)


__all__ = ["app", "TrnsimError"]

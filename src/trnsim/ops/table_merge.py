"""Splice regenerated chips into an existing utilisation-table file (``calibrate_trainium --chip X --write``)."""

from __future__ import annotations


def _chip_blocks(text: str) -> tuple[str, dict[str, str]]:
    """(header, {chip: its [chip.NAME] and [chip.NAME.*] sections}) of a table file, in file order."""
    head, blocks, cur = [], {}, None
    for line in text.splitlines(keepends=True):
        if line.startswith("[chip.") and line.rstrip().endswith("]"):
            cur = line.strip()[1:-1].split(".")[1]
            blocks.setdefault(cur, "")
        if cur is None:
            head.append(line)
        else:
            blocks[cur] += line
    return "".join(head), blocks


def merge_chips(old: str, new: str) -> str:
    """``old`` with the chips of ``new`` replaced (the header and every other chip's tables kept)."""
    head, ob = _chip_blocks(old)
    _, nb = _chip_blocks(new)
    body = [nb.get(name, blk) for name, blk in ob.items()] + [blk for name, blk in nb.items() if name not in ob]
    return head + "".join(b if b.endswith("\n\n") else b.rstrip("\n") + "\n\n" for b in body).rstrip("\n") + "\n"

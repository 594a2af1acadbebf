"""A self-contained HTML report (tables + embedded PNG plots), plus the PNGs as files."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from trnsim.files import atomic_write
from trnsim.report import plots
from trnsim.report.model import ComparisonReport, Section

_CSS = """
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f0f3f7}td.l,th.l{text-align:left}.ratio{color:#555;font-size:11px}.bad{color:#b00}.ok{color:#070}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}h1{font-size:1.6em}h2{margin-top:1.6em}.small{font-size:12px;color:#555}
"""


def _fmt(v: object, spec: str) -> str:
    if isinstance(v, (int, float)):
        return format(v, spec)
    return "-" if v is None else html.escape(str(v))


def _section(sec: Section, baseline: str) -> str:
    head = "".join(f"<th>{html.escape(c.label)}<br><span class='small'>{html.escape(c.unit)}</span></th>" for c in sec.columns)
    rows = []
    for r in sec.rows:
        cells = []
        for c in sec.columns:
            v = r.values.get(c.key)
            txt = _fmt(v, c.fmt)
            ratio = sec.ratio(r, c.key, baseline) if c.better else None
            if ratio is not None and r.system != baseline:
                txt += f"<br><span class='ratio'>{ratio:.2f}x</span>"
            cells.append(f"<td>{txt}</td>")
        note = f"<br><span class='small'>{html.escape(r.note)}</span>" if r.note else ""
        rows.append(f"<tr><td class='l'><b>{html.escape(r.title)}</b>{note}</td>{''.join(cells)}</tr>")
    return (f"<h2>{html.escape(sec.title)}</h2><table><tr><th class='l'>system</th>{head}</tr>"
            + "".join(rows) + "</table>")


def render(report: ComparisonReport, out_dir: str | Path) -> Path:
    """Write ``index.html`` (images embedded) and the PNG plots into ``out_dir``; returns the HTML path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images: list[tuple[str, str, bytes | None]] = [
        ("throughput_latency.png", "Serving throughput vs latency", plots.throughput_latency(report)),
        ("step_breakdown.png", "Training step-time breakdown", plots.step_breakdown(report)),
    ]
    for sec in report.sections:
        for key, title in (("usd_per_mtok", f"{sec.name.capitalize()}: $ per million tokens"),
                           ("joules_per_token", f"{sec.name.capitalize()}: energy per token")):
            images.append((f"{sec.name}_{key}.png", title, plots.metric_bars(sec, key, title)))
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(report.name)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(report.name)}</h1>",
             f"<p>Systems: {', '.join(html.escape(report.titles[s]) for s in report.systems)}. "
             f"Ratios are against <b>{html.escape(report.titles.get(report.baseline, report.baseline))}</b>.</p>"]
    for sec in report.sections:
        parts.append(_section(sec, report.baseline))
    for fname, title, png in images:
        if png is None:
            continue
        atomic_write(out / fname, png)
        b64 = base64.b64encode(png).decode()
        parts.append(f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' src='data:image/png;base64,{b64}'>")
    if report.claims:
        parts.append("<h2>AWS launch claims, checked</h2><table><tr><th class='l'>claim</th><th>claimed</th>"
                     "<th>trnsim</th><th class='l'>verdict</th><th class='l'>basis</th><th class='l'>note</th></tr>")
        for c in report.claims:
            cls = "ok" if c.verdict == "consistent" else "bad"
            parts.append(f"<tr><td class='l'>{html.escape(c.claim)} <span class='small'>({html.escape(c.source)})</span></td>"
                         f"<td>{_fmt(c.claimed, '.2f')}x</td><td>{_fmt(c.checked, '.2f')}x</td>"
                         f"<td class='l {cls}'>{html.escape(c.verdict)}</td><td class='l'>{html.escape(c.basis)}</td>"
                         f"<td class='l small'>{html.escape(c.note)}</td></tr>")
        parts.append("</table>")
    if report.assumptions:
        parts.append("<h2>Assumptions</h2><ul>" + "".join(f"<li>{html.escape(a)}</li>" for a in report.assumptions) + "</ul>")
    if report.explain:
        parts.append("<h2>Inputs and sources</h2><table><tr><th class='l'>system</th><th class='l'>input</th>"
                     "<th class='l'>value</th><th class='l'>source</th></tr>")
        for e in report.explain:
            parts.append(f"<tr><td class='l'>{html.escape(report.titles.get(e.system, e.system))}</td>"
                         f"<td class='l'>{html.escape(e.input)}</td><td class='l'>{html.escape(e.value)}</td>"
                         f"<td class='l small'>{html.escape(e.source)}</td></tr>")
        parts.append("</table>")
    parts.append("<p class='small'>Generated by trnsim. Every hardware number has a provenance; see "
                 "<code>trnsim hw show NAME --sources</code>.</p>" + _SELF_CHECK + "</body></html>")
    path = out / "index.html"
    atomic_write(path, "".join(parts).encode())
    return path


# marks the page once loaded: how many embedded images failed to decode (read by the browser test)
_SELF_CHECK = ("<script>window.addEventListener('load',function(){var b=0;"
               "document.querySelectorAll('img').forEach(function(i){if(!i.complete||!i.naturalWidth)b++;});"
               "document.body.setAttribute('data-loaded','1');document.body.setAttribute('data-broken-images',b);});"
               "</script>")

"""PNG plots of a comparison (matplotlib, headless)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from trnsim.report.model import ComparisonReport, Section  # noqa: E402


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def throughput_latency(report: ComparisonReport) -> bytes | None:
    """Serving throughput per chip vs latency, one line per system."""
    if not report.curves:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for c in report.curves:
        ax.plot(c.x_latency_ms, c.y_throughput, marker="o", label=c.title)
    ax.set_xlabel(report.curves[0].x_label)
    ax.set_ylabel(report.curves[0].y_label)
    ax.set_title("Serving: throughput vs latency")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def metric_bars(section: Section, key: str, title: str) -> bytes | None:
    """One bar per system for a metric of a section (missing values are left out)."""
    col = next((c for c in section.columns if c.key == key), None)
    pts = [(r.title, r.values.get(key)) for r in section.rows if isinstance(r.values.get(key), (int, float))]
    if col is None or not pts:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.6))
    names = [p[0] for p in pts]
    ax.bar(range(len(pts)), [p[1] for p in pts], color="#4c72b0")
    ax.set_xticks(range(len(pts)), names, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(f"{col.label} ({col.unit})" if col.unit else col.label)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def step_breakdown(report: ComparisonReport) -> bytes | None:
    """Stacked training step-time breakdown per system."""
    if not report.breakdowns:
        return None
    parts: list[str] = []
    for b in report.breakdowns.values():
        parts += [p for p in b if p not in parts]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    systems = list(report.breakdowns)
    bottom = [0.0] * len(systems)
    for p in parts:
        vals = [report.breakdowns[s].get(p, 0.0) for s in systems]
        ax.bar(range(len(systems)), vals, bottom=bottom, label=p)
        bottom = [a + b for a, b in zip(bottom, vals)]
    ax.set_xticks(range(len(systems)), [report.titles.get(s, s) for s in systems], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("seconds per step")
    ax.set_title("Training step time breakdown")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)

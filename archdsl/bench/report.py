r"""``archdsl report``: the AttendNeXt paper's figures drawn from the results store.

Four figures, each as PNG and SVG (matplotlib, Agg backend, imported only here):

- ``fig2_accuracy``: ImageNet top-1 per net (Figure 2), from each spec's ``meta.imagenet_top1``;
- ``fig3a_throughput``: throughput relative to the baseline (Figure 3a, FB-Net C = 1×);
- ``fig3b_size``: parameters per net (Figure 3b), from the IR's count;
- ``accuracy_latency``: top-1 against median latency, one point per net.

Everything plotted comes from the store (the spec's meta and counts are stored with each run),
and the values are written beside the figures as ``report_data.json`` and ``report_data.csv``
(with the store row each value came from), so a figure can be checked or re-plotted.
Rows: the newest run per (spec, target, settings) of one target; with several thread counts
stored, ``threads`` picks one (default: the most common among the newest rows).

Every file is written with :func:`archdsl.fileio.atomic_write` (an interrupted report leaves the
previous figure intact); a row whose numbers cannot be plotted (a zero or non-finite latency,
say) and more than :data:`MAX_NETS` nets are :class:`ReportError`\ s, not matplotlib tracebacks.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archdsl.fileio import atomic_write

from .store import Store

MAX_NETS = 200
"""Nets one report plots at most (a bar per net: beyond this the figures are unreadable)."""
FIGURES = ("fig2_accuracy", "fig3a_throughput", "fig3b_size", "accuracy_latency")
FORMATS = ("png", "svg")
HIGHLIGHT = "#d95f02"
OTHER = "#7570b3"


class ReportError(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass
class ReportData:
    store: str
    target: str
    estimate: bool
    threads: int
    baseline: str | None
    rows: list[dict[str, Any]]
    files: list[str] = field(default_factory=list)
    emulation: bool = False
    """the timings are emulation time (the emulated-a72 target), not a latency: the titles say so"""

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "target": self.target,
            "estimate": self.estimate,
            "threads": self.threads,
            "baseline": self.baseline,
            "rows": self.rows,
            "files": self.files,
            "timing": "emulation" if self.emulation else ("estimate" if self.estimate else "latency"),
        }


def select(store: Store, target: str | None, baseline: str | None, threads: int | None) -> ReportData:
    """The rows to plot: newest per net for one target and thread count, relative to ``baseline``."""
    latest = store.latest()
    if not latest:
        raise ReportError(f"the results store {store.path} is empty", "run `archdsl bench SPEC... --target NAME` first")
    if target is None:
        target = max(latest, key=lambda r: r["id"])["target"]
    rows = [r for r in latest if r["target"] == target]
    if not rows:
        have = ", ".join(sorted({r["target"] for r in latest}))
        raise ReportError(f"no results for target '{target}' in {store.path}", f"stored targets: {have}")
    if threads is None:
        threads = Counter(r["settings"]["threads"] for r in rows).most_common(1)[0][0]
    rows = [r for r in rows if r["settings"]["threads"] == threads]
    if not rows:
        have = sorted({r["settings"]["threads"] for r in latest if r["target"] == target})
        raise ReportError(
            f"no results of target '{target}' with {threads} thread(s)",
            "stored thread counts: " + ", ".join(map(str, have)),
        )
    by_net: dict[str, dict[str, Any]] = {}
    for r in rows:  # oldest first: the newest run of a net wins
        by_net[r["net"]] = r
    picked = sorted(by_net.values(), key=lambda r: r["id"])
    if len(picked) > MAX_NETS:
        raise ReportError(
            f"{len(picked)} nets of target '{target}' in {store.path}: a report plots at most {MAX_NETS}",
            "pass --store with a store of the nets to compare",
        )
    for r in picked:
        for col in ("median_s", "throughput"):
            if not (math.isfinite(r[col]) and r[col] > 0):
                raise ReportError(
                    f"stored row {r['id']} ({r['net']}) has {col} = {r[col]!r}, which cannot be plotted",
                    f"benchmark {r['net']} again, or delete row {r['id']} from {store.path}",
                )
    base = None
    if baseline:
        base = next((r for r in picked if baseline in (r["net"], Path(r["spec_path"]).stem, r["spec_path"])), None)
        if base is None:
            raise ReportError(
                f"baseline '{baseline}' has no result for target '{target}' ({threads} thread(s))",
                "stored nets: " + ", ".join(r["net"] for r in picked),
            )
    out = []
    for r in picked:
        top1 = r["meta"].get("imagenet_top1")
        if isinstance(top1, bool) or not isinstance(top1, int | float) or not math.isfinite(top1):
            top1 = None
        out.append(
            {
                "net": r["net"],
                "row_id": r["id"],
                "spec_hash": r["spec_hash"],
                "spec": r["spec_path"],
                "estimate": r["estimate"],
                "median_ms": r["median_s"] * 1e3,
                "throughput": r["throughput"],
                "relative_throughput": r["throughput"] / base["throughput"] if base else None,
                "params": r["total_params"],
                "macs": r["total_macs"],
                "imagenet_top1": float(top1) if top1 is not None else None,
                "created_at": r["created_at"],
            }
        )
    return ReportData(
        str(store.path),
        target,
        any(r["estimate"] for r in picked),
        int(threads),
        base["net"] if base else None,
        out,
        emulation=any(isinstance(r.get("env"), dict) and r["env"].get("timing") == "emulation" for r in picked),
    )


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "archdsl", "svg.fonttype": "none", "font.size": 9})
    return plt


def _colours(nets: list[str], highlight: str | None) -> list[str]:
    return [HIGHLIGHT if highlight and n.startswith(highlight) else OTHER for n in nets]


def _save(fig, out: Path, name: str, formats: tuple[str, ...], files: list[str]) -> None:
    for ext in formats:
        path = out / f"{name}.{ext}"
        meta = {"Date": None} if ext == "svg" else {"Software": "archdsl"}
        atomic_write(path, _savefig(fig, ext, meta))
        files.append(str(path))


def _savefig(fig, ext: str, meta: dict):
    def write(fh) -> None:
        fig.savefig(fh, format=ext, dpi=150, bbox_inches="tight", metadata=meta)

    return write


def _bars(plt, names, values, colours, ylabel, title, fmt):
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(names) + 1.5), 3.4))
    bars = ax.bar(range(len(names)), values, color=colours)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    for b, v in zip(bars, values, strict=True):
        ax.annotate(fmt(v), (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _label_offsets(rows: list[dict[str, Any]]) -> list[float]:
    """Vertical text offsets (points) so that labels of nearby points do not overlap."""
    if not rows:
        return []
    xs = [r["median_ms"] for r in rows]
    ys = [r["imagenet_top1"] for r in rows]
    xr = (max(xs) - min(xs)) or 1.0
    yr = (max(ys) - min(ys)) or 1.0
    placed: list[tuple[float, float]] = []
    out = []
    for x, y in zip(xs, ys, strict=True):
        dy = 3.0
        nx, ny = (x - min(xs)) / xr, (y - min(ys)) / yr
        while any(abs(nx - px) < 0.3 and abs(ny + dy / 250 - py) < 0.04 for px, py in placed):
            dy -= 10.0
        placed.append((nx, ny + dy / 250))
        out.append(dy)
    return out


def draw(data: ReportData, out: Path, formats: tuple[str, ...] = FORMATS, highlight: str | None = "attendnext"):
    """Write the four figures and the data files under ``out``; returns the paths written.

    Raises OSError when ``out`` cannot be made or written (the CLI reports it).
    """
    out.mkdir(parents=True, exist_ok=True)  # an unwritable folder fails here, before matplotlib loads
    plt = _plt()
    files: list[str] = []
    where = f"{data.target}, {data.threads} thread(s)" + (" - ESTIMATE" if data.estimate else "")
    if data.emulation:
        where += " - EMULATION TIME under QEMU, not a latency"
    rows = data.rows

    acc = [r for r in rows if r["imagenet_top1"] is not None]
    acc_sorted = sorted(acc, key=lambda r: r["imagenet_top1"])
    names = [r["net"] for r in acc_sorted]
    values = [r["imagenet_top1"] for r in acc_sorted]
    fig = _bars(plt, names, values, _colours(names, highlight), "ImageNet top-1 (%)", "Top-1 accuracy", "{:.2f}".format)
    if values:
        fig.axes[0].set_ylim(min(values) - 2, max(values) + 1)
    _save(fig, out, "fig2_accuracy", formats, files)
    plt.close(fig)

    if data.baseline:
        rel = sorted(rows, key=lambda r: r["relative_throughput"])
        names = [r["net"] for r in rel]
        values = [r["relative_throughput"] for r in rel]
        ylabel, title = f"throughput (x {data.baseline})", f"Relative throughput ({where})"
        fmt = "{:.2f}x".format
    else:
        rel = sorted(rows, key=lambda r: r["throughput"])
        names = [r["net"] for r in rel]
        values = [r["throughput"] for r in rel]
        ylabel, title = "images / s", f"Throughput ({where})"
        fmt = "{:.1f}".format
    fig = _bars(plt, names, values, _colours(names, highlight), ylabel, title, fmt)
    if data.baseline:
        fig.axes[0].axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    _save(fig, out, "fig3a_throughput", formats, files)
    plt.close(fig)

    size = sorted(rows, key=lambda r: r["params"])
    names = [r["net"] for r in size]
    values = [r["params"] / 1e6 for r in size]
    fig = _bars(plt, names, values, _colours(names, highlight), "parameters (M)", "Model size", "{:.2f}M".format)
    _save(fig, out, "fig3b_size", formats, files)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for r, dy in zip(acc, _label_offsets(acc), strict=True):
        colour = HIGHLIGHT if highlight and r["net"].startswith(highlight) else OTHER
        ax.scatter([r["median_ms"]], [r["imagenet_top1"]], color=colour, s=30, zorder=3)
        ax.annotate(
            r["net"], (r["median_ms"], r["imagenet_top1"]), textcoords="offset points", xytext=(5, dy), fontsize=8
        )
    ax.set_xlabel(f"median {'emulation time' if data.emulation else 'latency'} (ms; {where})")
    ax.set_ylabel("ImageNet top-1 (%)")
    ax.set_title("Accuracy vs emulation time (not a latency)" if data.emulation else "Accuracy vs latency")
    ax.grid(True, linewidth=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    _save(fig, out, "accuracy_latency", formats, files)
    plt.close(fig)

    data.files = [*files, str(out / "report_data.json"), str(out / "report_data.csv")]
    atomic_write(out / "report_data.json", json.dumps(data.as_dict(), indent=2) + "\n")
    buf = io.StringIO(newline="")
    cols = list(rows[0]) if rows else ["net"]
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    w.writerows(rows)
    atomic_write(out / "report_data.csv", buf.getvalue())
    return data.files

"""What a study leaves behind: one ``.arch`` variant per Pareto-optimal design, and a plot.

A design is written as a variant of the space's net, ``net <space>_trial<N> extends <net>(p =
v, ...)`` with the space's fixed values and the trial's point, after an ``import`` of the file
defining the net (relative to the output folder) and a comment giving the trial's objectives,
constraints and metrics (:func:`archdsl.space.variant.variant_text`, which formats it canonically
with :func:`archdsl.fmt.format_text`), written with :func:`archdsl.fileio.atomic_write`.
``archdsl check`` and ``archdsl lint`` pass on it whenever they pass on the space's net at that
point (tests/test_explore_cli.py checks every written file).

The plot (matplotlib, Agg backend, deterministic metadata) shows the first two objectives, every
feasible trial in grey, the Pareto front in colour and infeasible trials as crosses; a single
objective is plotted against the trial number.
"""

from __future__ import annotations

import math
from pathlib import Path

from .results import ExploreResult, TrialRow


def variant_name(space: str, number: int) -> str:
    return f"{space}_trial{number}"


def design_notes(result: ExploreResult, row: TrialRow) -> str:
    """The comment lines of a written design: the trial, its objectives, constraints and metrics."""
    from .constraints import Constraints

    objs = ", ".join(
        f"{o.key} = {_num(v)}{(' ' + o.unit) if o.unit else ''}{' (a proxy)' if o.proxy else ''}"
        f" ({'min' if o.direction == 'minimize' else 'max'})"
        for o, v in zip(result.objectives, row.values or [], strict=False)
    )
    fields = {k: (tuple(v) if k == "rules" else v) for k, v in result.constraints.items() if k in _CONSTRAINT_FIELDS}
    cons = Constraints(**fields).describe()
    metrics = ", ".join(f"{k} = {_num(v)}" for k, v in sorted(row.metrics.items()) if isinstance(v, (int, float)))
    return "\n".join(
        [
            f"Trial {row.number} of study {result.study!r}: a Pareto-optimal design (written by `archdsl explore`).",
            f"objectives: {objs}",
            f"constraints: {'; '.join(cons) if cons else 'none'} (all met)",
            f"metrics: {metrics}",
        ]
    )


def _num(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() and abs(v) >= 1000 else f"{v:.6g}"


_CONSTRAINT_FIELDS = {"rules", "max_params", "min_params", "max_macs", "min_macs", "max_latency_ms", "latency_target"}


def write_variants(result: ExploreResult, out_dir: Path, loaded) -> list[str]:
    """Write every Pareto-optimal design into ``out_dir`` (:func:`archdsl.space.variant.variant_text`:
    a canonical variant importing the net's file); the paths written."""
    from archdsl.fileio import atomic_write
    from archdsl.space.variant import variant_text

    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for row in result.pareto:
        name = variant_name(loaded.space.name, row.number)
        path = out_dir / f"{name}.arch"
        atomic_write(path, variant_text(loaded, row.point, name, path, design_notes(result, row)))
        files.append(str(path))
    return files


def plot(result: ExploreResult, path: Path) -> str:
    """The Pareto-front plot as PNG or SVG (by ``path``'s suffix), written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from archdsl.fileio import atomic_write

    plt.rcParams.update({"svg.hashsalt": "archdsl", "svg.fonttype": "none", "font.size": 9})
    ext = path.suffix.lstrip(".").lower() or "svg"
    objs = result.objectives
    done = [t for t in result.trials if t.state == "COMPLETE" and t.values]
    feas = [t for t in done if t.feasible]
    infeas = [t for t in done if not t.feasible and all(math.isfinite(v) for v in t.values)]
    front = {t.number for t in result.pareto}
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    if len(objs) == 1:
        xs = lambda ts: [t.number for t in ts]  # noqa: E731
        ys = lambda ts: [t.values[0] for t in ts]  # noqa: E731
        ax.set_xlabel("trial")
        ax.set_ylabel(objs[0].label())
    else:
        xs = lambda ts: [t.values[0] for t in ts]  # noqa: E731
        ys = lambda ts: [t.values[1] for t in ts]  # noqa: E731
        ax.set_xlabel(objs[0].label())
        ax.set_ylabel(objs[1].label())
    ax.scatter(xs(infeas), ys(infeas), marker="x", color="#d62728", s=14, label="infeasible", linewidths=0.8)
    others = [t for t in feas if t.number not in front]
    ax.scatter(xs(others), ys(others), color="#9e9e9e", s=12, label="feasible")
    best = sorted((t for t in feas if t.number in front), key=lambda t: (xs([t])[0], t.number))
    ax.plot(xs(best), ys(best), "o-", color="#1f77b4", ms=5, lw=1, label="Pareto front" if len(objs) > 1 else "best")
    ax.set_title(f"study {result.study}: {len(done)} trials, {len(feas)} feasible")
    ax.grid(True, lw=0.3)
    ax.legend(loc="best", fontsize=7)
    meta = {"Date": None} if ext == "svg" else {"Software": "archdsl"}

    def write(fh) -> None:
        fig.savefig(fh, format=ext, dpi=150, bbox_inches="tight", metadata=meta)

    try:
        atomic_write(path, write)
    finally:
        plt.close(fig)
    return str(path)

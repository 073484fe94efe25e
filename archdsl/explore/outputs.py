"""What a study leaves behind: one ``.arch`` variant per Pareto-optimal design, and a plot.

A design is written as a variant of the space's net, ``net <space>_trial<N> extends <net>(p =
v, ...)`` with the space's fixed values and the trial's point, after an ``import`` of the space's
file (relative to the output folder) and a header comment giving the objectives and constraints.
The text goes through :func:`archdsl.fmt.format_text` (the canonical layout) and
:func:`archdsl.fileio.atomic_write`; ``archdsl check`` and ``archdsl lint`` pass on it whenever
they pass on the space's net at that point (tests/test_explore_outputs.py checks them).

The plot (matplotlib, Agg backend, deterministic metadata) shows the first two objectives, every
feasible trial in grey, the Pareto front in colour and infeasible trials as crosses; a single
objective is plotted against the trial number.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from .results import ExploreResult, TrialRow


def literal(value: Any) -> str:
    """A value as the language writes it (``true``, ``"blur_first"``, ``0.75``, ``none``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return repr(value)


def variant_name(space: str, number: int) -> str:
    return f"{space}_trial{number}"


def variant_text(
    result: ExploreResult, row: TrialRow, *, space_file: Path, space_name: str, net: str, fixed: dict, out_dir: Path
) -> str:
    """The canonical ``.arch`` text of one design (formatted)."""
    from archdsl.fmt import format_text

    rel = import_path(Path(space_file), Path(out_dir))
    objs = ", ".join(
        f"{o.key} = {_num(v)}{(' ' + o.unit) if o.unit else ''}{' (a proxy)' if o.proxy else ''}"
        f" ({'min' if o.direction == 'minimize' else 'max'})"
        for o, v in zip(result.objectives, row.values or [], strict=False)
    )
    from .constraints import Constraints

    cons_lines = Constraints(
        **{k: (tuple(v) if k == "rules" else v) for k, v in result.constraints.items() if k in _CONSTRAINT_FIELDS}
    ).describe()
    metrics = ", ".join(f"{k} = {_num(v)}" for k, v in sorted(row.metrics.items()) if isinstance(v, (int, float)))
    header = [
        f"# Trial {row.number} of study {result.study!r}: a Pareto-optimal design of space {space_name}",
        "# (written by `archdsl explore`; a variant of the space's net at the trial's point).",
        f"# objectives: {objs}",
        f"# constraints: {'; '.join(cons_lines) if cons_lines else 'none'} (all met)",
        f"# metrics: {metrics}",
    ]
    args = {**fixed, **row.point}
    arglist = ", ".join(f"{k} = {literal(v)}" for k, v in args.items())
    body = f"net {variant_name(space_name, row.number)} extends {net}({arglist})\n"
    text = "\n".join(header) + f'\n\nimport "{rel}"\n\n' + body
    return format_text(text, f"{variant_name(space_name, row.number)}.arch")


def _num(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() and abs(v) >= 1000 else f"{v:.6g}"


def import_path(space_file: Path, out_dir: Path) -> str:
    """How the written file imports the space: relative when both lie below the current folder
    (a checkout moved elsewhere keeps working), else absolute."""
    here = Path.cwd().resolve()
    target, folder = space_file.resolve(), out_dir.resolve()
    if target.is_relative_to(here) and folder.is_relative_to(here):
        return Path(os.path.relpath(target, folder)).as_posix()
    return target.as_posix()


_CONSTRAINT_FIELDS = {"rules", "max_params", "min_params", "max_macs", "min_macs", "max_latency_ms", "latency_target"}


def write_variants(result: ExploreResult, out_dir: Path, loaded) -> list[str]:
    """Write every Pareto-optimal design into ``out_dir``; the paths written."""
    from archdsl.fileio import atomic_write

    space = loaded.space
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for row in result.pareto:
        text = variant_text(
            result,
            row,
            space_file=Path(space.file or loaded_path(loaded)),
            space_name=space.name,
            net=space.net,
            fixed=space.fixed(),
            out_dir=out_dir,
        )
        path = out_dir / f"{variant_name(space.name, row.number)}.arch"
        atomic_write(path, text)
        files.append(str(path))
    return files


def loaded_path(loaded) -> str:
    return str(getattr(loaded, "path", "") or "")


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

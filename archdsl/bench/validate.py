"""Validation of a calibrated latency model: predicted vs measured on this machine (``bench calibrate SPEC...``)."""

from __future__ import annotations

import math
import statistics
import tempfile
from pathlib import Path
from typing import Any

from archdsl.analysis.machine import Machine

TOLERANCE = 0.25


def validate(
    machine: Machine,
    specs: list[tuple[Path, Any]],
    threads: int,
    warmup: int = 3,
    runs: int = 20,
    clock: str = "wall",
    progress=None,
) -> dict[str, Any]:
    """Measure ``specs`` with onnxruntime here and compare with the model's predictions.

    The specs are measured in two interleaved rounds (A B C ... A B C ...), so a burst of load
    from other processes hits all of them alike. ``clock='cpu'`` compares with the process CPU
    time per inference (one thread: the wall time an idle machine would show).
    """
    from archdsl.analysis.latency import predict

    from .artefact import onnx_file
    from .runner import measure
    from .stats import pairwise_order, percentile, spearman

    key = "cpu_timings_s" if clock == "cpu" else "timings_s"
    rounds = 2 if runs >= 4 else 1
    per_round = math.ceil(runs / rounds)
    with tempfile.TemporaryDirectory(prefix="archdsl-validate-") as tmp:
        files = [onnx_file(g, Path(tmp)) for _, g in specs]
        times: list[list[float]] = [[] for _ in specs]
        total = rounds * len(specs)
        for r in range(rounds):
            for i, path in enumerate(files):
                if progress:
                    progress(0, 1, r * len(specs) + i, total, f"validating: {specs[i][1].name}")
                res = measure(str(path), warmup if r == 0 else 1, per_round, threads)
                times[i] += res[key]
    rows = []
    for (path, graph), ts in zip(specs, times, strict=True):
        pred = predict(graph, machine, threads).seconds
        med = statistics.median(ts)
        rows.append(
            {
                "net": graph.name,
                "spec": str(path),
                "predicted_ms": round(pred * 1e3, 3),
                "measured_ms": round(med * 1e3, 3),
                "measured_p10_ms": round(percentile(ts, 10) * 1e3, 3),
                "error": round(pred / med - 1, 4),
            }
        )
    pred = [r["predicted_ms"] for r in rows]
    meas = [r["measured_ms"] for r in rows]
    same, pairs = pairwise_order(pred, meas)
    return {
        "clock": clock,
        "threads": threads,
        "runs": rounds * per_round,
        "tolerance": TOLERANCE,
        "rows": rows,
        "spearman": round(spearman(pred, meas), 4) if len(rows) > 1 else None,
        "pairs_ordered": [same, pairs],
        "max_abs_error": round(max(abs(r["error"]) for r in rows), 4) if rows else None,
        "within_tolerance": all(abs(r["error"]) <= TOLERANCE for r in rows),
    }


def validation_lines(report: dict[str, Any]) -> list[str]:
    rows = report["rows"]
    w = max([4, *(len(r["net"]) for r in rows)])
    clock = "process CPU time" if report["clock"] == "cpu" else "wall time"
    lines = [
        f"validation: predicted vs measured median ({clock}, onnxruntime, {report['threads']} thread(s), "
        f"{report['runs']} runs)",
        f"{'spec':{w}}  {'predicted ms':>12}  {'measured ms':>11}  {'error':>7}",
    ]
    for r in rows:
        flag = "" if abs(r["error"]) <= report["tolerance"] else "  (outside +-25%)"
        lines.append(
            f"{r['net']:{w}}  {r['predicted_ms']:12.2f}  {r['measured_ms']:11.2f}  {100 * r['error']:+6.1f}%{flag}"
        )
    if report["spearman"] is not None:
        same, pairs = report["pairs_ordered"]
        lines.append(
            f"rank correlation (Spearman) {report['spearman']:.3f}; pairs in the right order {same}/{pairs}; "
            f"max |error| {100 * report['max_abs_error']:.1f}%"
        )
    return lines

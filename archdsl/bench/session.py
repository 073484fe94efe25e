"""One bench run: specs × one target → summaries, rows in the results store, relative throughput.

The CLI (``archdsl bench``) is a thin layer over :func:`run_bench`; tests and notebooks can call
it directly. The target is always closed, also when a spec fails or the user interrupts.

Measurements are never lost to the store: when a row cannot be written (the store stayed locked
past its timeout, the disk is full ...) and the caller passed an :class:`Unsaved`, the run goes
on without the store and every row not stored is kept there; the CLI prints the results anyway
and writes those rows to a JSON file beside the store (:func:`save_unsaved`).
"""

from __future__ import annotations

import importlib.metadata
import math
import platform
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import archdsl
from archdsl.ir import Graph

from .artefact import spec_key
from .stats import Summary, summarise
from .store import Store, StoreError, canonical_hash
from .target import BenchSettings, Measurement, Target, TargetError

# progress(spec_index, n_specs, runs_done, runs_total, net)
SpecProgress = Callable[[int, int, int, int, str], None]


@dataclass
class SpecResult:
    spec: Path
    graph: Graph
    spec_hash: str
    measurement: Measurement
    summary: Summary
    row_id: int | None = None
    relative: float | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)

    @property
    def net(self) -> str:
        return self.graph.name


@dataclass
class Unsaved:
    """Rows that could not be written to the store, and why (the first error)."""

    error: StoreError | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    kept: Path | None = None
    """where :func:`save_unsaved`'s caller kept the rows, once it has"""


def save_unsaved(unsaved: Unsaved, store_path: Path, session: str) -> Path | None:
    """Write the unsaved rows as JSON beside the store (else in the current folder), atomically.

    Returns the file written, or None when neither place could be written.
    """
    import json

    from archdsl.fileio import OutputError, atomic_write

    data = {
        "format": "archdsl-unsaved-results/1",
        "store": str(store_path),
        "session": session,
        "error": unsaved.error.message if unsaved.error else None,
        "rows": unsaved.rows,
    }
    text = json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
    name = f"{store_path.name}.unsaved-{session}.json"
    for where in (store_path.parent / name, Path(name)):
        try:
            return atomic_write(where, text)
        except (OSError, OutputError):
            continue
    return None


def _version(pkg: str) -> str | None:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return None


def tool_versions(target: Target, m: Measurement, used_onnx: bool) -> dict[str, Any]:
    """The versions a result depends on (part of the store's key)."""
    v: dict[str, Any] = {"archdsl": archdsl.__version__, "python": platform.python_version()}
    if used_onnx:
        v["onnx"] = _version("onnx")
    for key in ("onnxruntime", "torch"):
        if key in m.env:
            v[key] = m.env[key]
    if m.env.get("python") and m.env.get("python") != v["python"]:
        v["device_python"] = m.env["python"]
    machine = getattr(target, "machine", None)
    if machine is not None:
        v["model_hash"] = canonical_hash(machine.to_json())[:16]
    return v


def run_bench(
    specs: list[tuple[Path, Graph]],
    target: Target,
    settings: BenchSettings,
    store: Store | None = None,
    progress: SpecProgress | None = None,
    workdir: Path | None = None,
    unsaved: Unsaved | None = None,
) -> tuple[str, list[SpecResult]]:
    """Benchmark every spec on ``target``; returns (session id, results in the order given).

    A :class:`StoreError` while storing a row is raised, unless ``unsaved`` is given: then it is
    recorded there with that row and the rows after it, and the run goes on.
    """
    session = uuid.uuid4().hex[:12]
    results: list[SpecResult] = []
    with tempfile.TemporaryDirectory(prefix="archdsl-bench-") as tmp:
        work = Path(workdir) if workdir else Path(tmp)
        try:
            for i, (path, graph) in enumerate(specs):
                if progress:
                    progress(i, len(specs), 0, settings.runs, graph.name)
                prepared = target.prepare(graph, settings, work)

                def tick(done: int, total: int, _i=i, _net=graph.name) -> None:
                    if progress:
                        progress(_i, len(specs), done, total, _net)

                m = target.run(prepared, settings, tick)
                if not m.timings_s:
                    raise TargetError(
                        f"the {target.name} target returned no timings for {graph.name}", "report it to its author"
                    )
                bad = next((t for t in m.timings_s if not _is_time(t)), None)
                if bad is not None:
                    raise TargetError(
                        f"the {target.name} target returned the timing {bad!r} for {graph.name}, "
                        "not a finite number of seconds >= 0",
                        "report it to its author",
                    )
                summary = summarise(m.timings_s, settings.batch)
                key = spec_key(graph)
                run_settings = {
                    "warmup": 0 if m.estimate else settings.warmup,
                    "runs": len(m.timings_s) if m.estimate else settings.runs,
                    "threads": m.threads,
                    "batch": settings.batch,
                    "seed": settings.seed,
                    "options": target.options(),
                }
                versions = tool_versions(target, m, prepared.path is not None and prepared.path.suffix == ".onnx")
                res = SpecResult(path, graph, key, m, summary, settings=run_settings, versions=versions)
                if store is not None:
                    row = {
                        "session": session,
                        "spec_path": str(path),
                        "net": graph.name,
                        "spec_hash": key,
                        "params": graph.params,
                        "input_shape": [list(x.type.shape) for x in graph.inputs],
                        "target": target.name,
                        "estimate": m.estimate,
                        "settings": run_settings,
                        "versions": versions,
                        "env": m.env,
                        "timings": m.timings_s,
                        "details": m.details,
                        "median_s": summary.median_s,
                        "p90_s": summary.p90_s,
                        "p99_s": summary.p99_s,
                        "std_s": summary.std_s,
                        "throughput": summary.throughput,
                        "total_params": graph.total_params,
                        "total_macs": graph.total_macs,
                        "meta": graph.meta,
                    }
                    if unsaved is not None and unsaved.error is not None:
                        unsaved.rows.append(row)  # the store failed before: do not wait on it again
                    else:
                        try:
                            res.row_id = store.add(row)
                        except StoreError as exc:
                            if unsaved is None:
                                raise
                            unsaved.error = exc
                            unsaved.rows.append(row)
                results.append(res)
                if progress:
                    progress(i + 1, len(specs), settings.runs, settings.runs, graph.name)
        finally:
            target.close()
    return session, results


def _is_time(t: Any) -> bool:
    return isinstance(t, int | float) and not isinstance(t, bool) and math.isfinite(t) and t >= 0


def find_baseline(results: list[SpecResult], name: str) -> SpecResult | None:
    """The result whose net name, file stem or path is ``name``."""
    for r in results:
        if name in (r.net, r.spec.stem, str(r.spec)):
            return r
    try:
        wanted = Path(name).resolve()
    except OSError:
        return None
    return next((r for r in results if r.spec.resolve() == wanted), None)


def set_relative(results: list[SpecResult], baseline: SpecResult) -> None:
    for r in results:
        r.relative = r.summary.throughput / baseline.summary.throughput

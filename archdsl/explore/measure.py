"""The inquisitor's instruments: what a resolved point measures (counts, latency, scores).

:class:`Measurer` holds the benchmark targets and accuracy evaluators a study needs, loaded once
per worker process, and turns a graph into the metrics dict that trials record:
``params``, ``macs``, ``<target>_latency`` (ms), ``<target>_throughput`` (img/s) and
``score/<evaluator>``. Targets come from :mod:`archdsl.bench.target` (the same plug-ins as
``archdsl bench``), evaluators from the ``archdsl.evaluators`` entry-point group.

A failure that belongs to the point (a target cannot cost one of its ops, an evaluator rejects
it) is a :class:`PointError` with diagnostic text: the trial is infeasible, the study goes on.
A failure of the tool (a device unreachable) is an :class:`ExploreError` and stops the study.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archdsl.diagnostics import DiagnosticError, SourceMap, render_text
from archdsl.ir import Graph

from .errors import TOOL, ExploreError
from .objectives import Objective, netscore

EVALUATOR_GROUP = "archdsl.evaluators"


# resolves the trial's point again with another input shape (a reduced resolution for a proxy)
Reresolve = Callable[[tuple[int, ...]], Graph]


def _at_resolution(evaluator: Any, graph: Graph, options: dict[str, Any], reresolve: Reresolve):
    """The graph an evaluator with a ``resolution`` option (the built-in proxies: 32 by default)
    should see, resolved from the space at that resolution, and the options that say so
    (``resolution = "native"``). Evaluators re-resolve a net from its spec file themselves, which
    a point of a space is not; the space resolves it instead. Others get the graph as it is."""
    model = getattr(evaluator, "options_model", None)
    fields = getattr(model, "model_fields", {}) or {}
    if "resolution" not in fields:
        return graph, options
    res = options.get("resolution", fields["resolution"].default)
    shape = graph.inputs[0].type.shape if graph.inputs else ()
    if not isinstance(res, int) or isinstance(res, bool) or len(shape) != 3 or (res >= shape[1] and res >= shape[2]):
        return graph, options
    return reresolve((shape[0], res, res)), {**options, "resolution": "native"}


class PointError(Exception):
    """This point cannot be measured; ``text`` is the diagnostic recorded in the trial."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


def load_evaluator(name: str):
    """An evaluator by name: :func:`archdsl.evaluators.load_evaluator` when that package is
    installed, else the entry point of that name (did-you-mean on unknown names: exit 2)."""
    try:
        from archdsl.evaluators import load_evaluator as load  # type: ignore[import-not-found]
    except ImportError:
        load = None
    if load is not None:
        try:
            return load(name)
        except DiagnosticError as exc:
            d = exc.diagnostics[0]
            raise ExploreError(d.message, d.help) from None
    from importlib.metadata import entry_points

    from archdsl.diagnostics import did_you_mean

    eps = {ep.name: ep for ep in entry_points(group=EVALUATOR_GROUP)}
    if name not in eps:
        raise ExploreError(f"unknown evaluator '{name}'", did_you_mean(name, set(eps)) or "no evaluator is installed")
    return eps[name].load()


def diagnostics_text(exc: DiagnosticError, sources: SourceMap | None) -> str:
    return "\n".join(render_text(d, sources) for d in exc.diagnostics)


class Measurer:
    """Measures graphs for a list of objectives (plus the latency a budget needs)."""

    def __init__(
        self,
        objectives: list[Objective],
        *,
        latency_target: str | None = None,
        target_options: dict[str, dict[str, Any]] | None = None,
        evaluator_options: dict[str, Any] | None = None,
        seed: int = 0,
        runs: int = 10,
        warmup: int = 3,
        threads: int | None = None,
    ):
        from archdsl.bench.target import BenchSettings

        self.objectives = objectives
        self.seed = seed
        self.settings = BenchSettings(warmup=warmup, runs=runs, threads=threads, seed=seed)
        names = {o.target for o in objectives if o.target}
        if latency_target:
            names.add(latency_target)
        self.targets = {n: self._target(n, (target_options or {}).get(n, {})) for n in sorted(names)}
        evs = {o.evaluator for o in objectives if o.evaluator}
        self.evaluators = {n: load_evaluator(n) for n in sorted(evs)}
        self.evaluator_options = dict(evaluator_options or {})
        self._tmp = tempfile.TemporaryDirectory(prefix="archdsl-explore-")

    @staticmethod
    def _target(name: str, options: dict[str, Any]):
        from archdsl.bench.target import OptionError, TargetError, load

        try:
            return load(name, options)
        except OptionError as exc:
            raise ExploreError(exc.message, exc.hint) from None
        except TargetError as exc:
            raise ExploreError(exc.message, exc.hint, TOOL) from None

    def latency_ms(self, name: str, graph: Graph) -> float:
        from archdsl.bench.target import OptionError, TargetError

        target = self.targets[name]
        check = getattr(target, "unsupported", None)
        if check is not None:
            diags = check(graph)
            if diags:
                raise PointError(diagnostics_text(DiagnosticError(diags), None))
        try:
            prepared = target.prepare(graph, self.settings, Path(self._tmp.name))
            m = target.run(prepared, self.settings)
        except OptionError as exc:
            raise ExploreError(exc.message, exc.hint) from None
        except TargetError as exc:
            raise ExploreError(exc.message, exc.hint, TOOL) from None
        except DiagnosticError as exc:
            raise PointError(diagnostics_text(exc, None)) from None
        return statistics.median(m.timings_s) * 1e3 / max(1, self.settings.batch)

    def score(self, name: str, graph: Graph, reresolve: Reresolve | None = None) -> float:
        ev = self.evaluators[name]
        options = dict(self.evaluator_options)
        try:
            if reresolve is not None:
                graph, options = _at_resolution(ev, graph, options, reresolve)
            value = ev.evaluate(graph, seed=self.seed, options=options)
        except DiagnosticError as exc:
            raise PointError(diagnostics_text(exc, None)) from None
        return float(value)

    def measure(
        self, graph: Graph, latency_target: str | None = None, reresolve: Reresolve | None = None
    ) -> dict[str, float]:
        """The metrics of ``graph``: params and MACs always, the rest as the objectives need."""
        out: dict[str, float] = {"params": graph.total_params, "macs": graph.total_macs}
        names = {o.target for o in self.objectives if o.target}
        if latency_target:
            names.add(latency_target)
        for t in sorted(names):
            ms = self.latency_ms(t, graph)
            out[f"{t}_latency"] = ms
            out[f"{t}_throughput"] = 1e3 / ms if ms > 0 else float("inf")
        for e in sorted({o.evaluator for o in self.objectives if o.evaluator}):
            out[f"score/{e}"] = self.score(e, graph, reresolve)
        return out

    def values(self, metrics: dict[str, float]) -> list[float]:
        """The objective values, in order, from :meth:`measure`'s metrics."""
        vals = []
        for o in self.objectives:
            if o.kind == "netscore":
                acc = accuracy_percent(self.evaluators[o.evaluator], metrics[f"score/{o.evaluator}"])
                ns = netscore(acc, int(metrics["params"]), int(metrics["macs"]))
                if ns is None:
                    raise PointError(
                        f"NetScore is undefined for accuracy {acc:g}% (it needs a > 0, params and MACs > 0)"
                    )
                metrics[o.key] = ns
                vals.append(ns)
            else:
                vals.append(float(metrics[o.key]))
        return vals

    def close(self) -> None:
        for t in self.targets.values():
            with contextlib.suppress(Exception):  # a target failing to close must not hide the results
                t.close()
        self._tmp.cleanup()


def accuracy_percent(evaluator: Any, value: float) -> float:
    """An accuracy evaluator's score in percent, for NetScore: an evaluator may declare ``unit``
    (``"fraction"`` or ``"percent"``); without one, an evaluator of kind ``accuracy`` gives a
    fraction in [0, 1] (as archdsl's ``train`` does) and is scaled by 100."""
    unit = getattr(evaluator, "unit", None) or (
        "fraction" if getattr(evaluator, "kind", "") == "accuracy" else "percent"
    )
    return value * 100.0 if unit == "fraction" else value

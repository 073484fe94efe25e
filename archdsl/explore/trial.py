"""One trial: the generator's proposal (Optuna's suggestion), resolved and judged by the inquisitor.

:class:`TrialRunner` is the Optuna objective. For each trial it asks the sampler for a point of
the space (one ``suggest_*`` per searched domain), resolves it to the IR, measures it
(:mod:`.measure`), runs the lint rules and budgets (:mod:`.constraints`) and records everything
in the trial, so that a finished study can be shown, plotted and written out without the space
being resolved again:

- user attrs ``point`` (the values, with their types), ``metrics`` (params, MACs, latency ...),
  ``feasible`` (bool), ``violations`` (messages) and, for a point that does not resolve or cannot
  be measured, ``error`` (the located diagnostic text);
- one Optuna constraint per condition (``trial.set_constraint``, Optuna 5's API).

A point that does not resolve is a COMPLETE, infeasible trial with the worst value of every
objective: the sampler learns to avoid it, nothing crashes, and Optuna never reports it as best.
"""

from __future__ import annotations

import json
from typing import Any

from archdsl.diagnostics import DiagnosticError

from .constraints import Constraints, RuleChecker
from .measure import Measurer, PointError, diagnostics_text
from .objectives import Objective

#: the longest diagnostic text kept in a trial (a storage row, not a log file)
MAX_ERROR_CHARS = 4000


def suggest_point(trial, domains: dict[str, Any]) -> dict[str, Any]:
    """A point of the space from Optuna's suggestions (declaration order, one name per parameter)."""
    from archdsl.space.model import Choice, FloatRange, IntRange

    point: dict[str, Any] = {}
    for name, d in domains.items():
        if isinstance(d, Choice):
            point[name] = trial.suggest_categorical(name, list(d.values))
        elif isinstance(d, IntRange):
            point[name] = trial.suggest_int(name, d.lo, d.hi, step=1 if d.log else d.step, log=d.log)
        elif isinstance(d, FloatRange):
            if d.step is not None:
                point[name] = trial.suggest_float(name, d.lo, d.hi, step=d.step)
            else:
                point[name] = trial.suggest_float(name, d.lo, d.hi, log=d.log)
        else:  # a domain kind this engine does not know: never silently skip it
            raise TypeError(f"unsupported domain {type(d).__name__} for parameter '{name}'")
    return point


class TrialRunner:
    """The objective function of a study over one loaded space."""

    def __init__(
        self,
        loaded,
        objectives: list[Objective],
        constraints: Constraints,
        measurer: Measurer,
        rules: RuleChecker,
    ):
        self.loaded = loaded
        self.objectives = objectives
        self.constraints = constraints
        self.measurer = measurer
        self.rules = rules
        self._seen: dict[str, tuple] = {}

    def __call__(self, trial) -> list[float] | float:
        point = suggest_point(trial, self.loaded.space.searched())
        trial.set_user_attr("point", point)
        key = json.dumps(point, sort_keys=True, default=str)
        if key in self._seen:  # the sampler proposed a point this worker measured already
            return self._replay(trial, *self._seen[key])
        result = self._evaluate(trial, point)
        self._seen[key] = (dict(trial.user_attrs), dict(trial.constraints), result)
        return result

    @staticmethod
    def _replay(trial, attrs: dict, constraints: dict, result):
        for k, v in attrs.items():
            if k != "point":
                trial.set_user_attr(k, v)
        for k, v in constraints.items():
            trial.set_constraint(k, v)
        trial.set_user_attr("repeat", True)
        return result

    def _evaluate(self, trial, point: dict[str, Any]) -> list[float] | float:
        try:
            graph = self.loaded.resolve(point)
        except DiagnosticError as exc:
            return self._infeasible(trial, "does not resolve", diagnostics_text(exc, self.loaded.sources))
        latency_target = self.constraints.latency_target if self.constraints.needs_latency else None
        try:
            metrics = self.measurer.measure(
                graph, latency_target, lambda shape: self.loaded.resolve(point, input_shape=shape)
            )
            values = self.measurer.values(metrics)
        except PointError as exc:
            return self._infeasible(trial, "cannot be measured", exc.text)
        findings = self.rules.findings(graph)
        cons, messages = self.constraints.evaluate(metrics, findings)
        for key, value in cons.items():
            trial.set_constraint(key, value)
        feasible = all(v <= 0 for v in cons.values())
        trial.set_user_attr("metrics", metrics)
        trial.set_user_attr("feasible", feasible)
        trial.set_user_attr("violations", messages)
        return values if len(values) > 1 else values[0]

    def _infeasible(self, trial, why: str, text: str) -> list[float] | float:
        if len(text) > MAX_ERROR_CHARS:
            text = text[: MAX_ERROR_CHARS - 20] + "\n... (truncated)"
        trial.set_constraint("resolves", 1.0)
        trial.set_user_attr("feasible", False)
        trial.set_user_attr("error", text)
        trial.set_user_attr("violations", [f"the point {why}"])
        values = [o.worst() for o in self.objectives]
        return values if len(values) > 1 else values[0]

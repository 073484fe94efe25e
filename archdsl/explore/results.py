"""The results of a study, read back from its storage: trials, the Pareto front, table and JSON.

Everything here comes from what :mod:`.trial` recorded in the trials (user attrs and Optuna's
constraints), so ``archdsl explore show`` needs neither the space nor the targets. The Pareto
front is Optuna's (``study.best_trials``, which honours the constraints), filtered once more on
the recorded feasibility: an infeasible trial is never reported as best or Pareto-optimal.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .objectives import Objective


@dataclass
class TrialRow:
    """One finished trial as archdsl shows it."""

    number: int
    state: str
    feasible: bool
    values: list[float] | None
    point: dict[str, Any]
    metrics: dict[str, float]
    violations: list[str]
    error: str | None = None

    def metric(self, key: str) -> float | None:
        return self.metrics.get(key)


@dataclass
class ExploreResult:
    """What :func:`archdsl.explore` returns (and ``archdsl explore --format json`` prints)."""

    study: str
    storage: str
    space: str | None
    objectives: list[Objective]
    constraints: dict[str, Any]
    trials: list[TrialRow]
    pareto: list[TrialRow]
    interrupted: bool = False
    files: list[str] = field(default_factory=list)

    @property
    def n_complete(self) -> int:
        return sum(1 for t in self.trials if t.state == "COMPLETE")

    @property
    def n_feasible(self) -> int:
        return sum(1 for t in self.trials if t.state == "COMPLETE" and t.feasible)

    @property
    def best(self) -> TrialRow | None:
        """The best feasible trial of a single-objective study (the first Pareto trial otherwise)."""
        return self.pareto[0] if self.pareto else None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "archdsl-explore-result/1",
            "study": self.study,
            "storage": self.storage,
            "space": self.space,
            "objectives": [
                {"key": o.key, "direction": o.direction, "unit": o.unit, "proxy": o.proxy} for o in self.objectives
            ],
            "constraints": self.constraints,
            "trials": {
                "total": len(self.trials),
                "complete": self.n_complete,
                "feasible": self.n_feasible,
                "failed": sum(1 for t in self.trials if t.state == "FAIL"),
            },
            "interrupted": self.interrupted,
            "pareto": [_row_json(t) for t in self.pareto],
            "files": self.files,
        }


def _finite(v):
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


def _row_json(t: TrialRow) -> dict[str, Any]:
    d = asdict(t)
    d["values"] = [_finite(v) for v in t.values] if t.values else None
    d["metrics"] = {k: _finite(v) for k, v in t.metrics.items()}
    return d


def row_of(trial) -> TrialRow:
    attrs = trial.user_attrs
    point = attrs.get("point")
    if not isinstance(point, dict):
        point = dict(trial.params)
    constraints = trial.constraints
    feasible = bool(attrs.get("feasible", False)) and all(v <= 0 for v in constraints.values())
    return TrialRow(
        number=trial.number,
        state=trial.state.name,
        feasible=feasible and trial.state.name == "COMPLETE",
        values=list(trial.values) if trial.values is not None else None,
        point=point,
        metrics=dict(attrs.get("metrics") or {}),
        violations=list(attrs.get("violations") or []),
        error=attrs.get("error"),
    )


def collect(study, storage_text: str, objectives: list[Objective], interrupted: bool = False) -> ExploreResult:
    """An :class:`ExploreResult` from an Optuna study."""
    from .runner import ATTR

    rows = [row_of(t) for t in study.get_trials(deepcopy=False)]
    by_number = {r.number: r for r in rows}
    pareto: list[TrialRow] = []
    if any(r.feasible for r in rows):
        best = study.best_trials
        seen: set[str] = set()
        for t in sorted(best, key=lambda t: t.number):
            row = by_number[t.number]
            key = json.dumps(row.point, sort_keys=True, default=str)
            if row.feasible and key not in seen:  # a point tried twice is one design (its first trial)
                seen.add(key)
                pareto.append(row)
        pareto.sort(key=lambda r: (_sort_keys(objectives, r.values or []), r.number))
    rec = study.user_attrs.get(ATTR) or {}
    return ExploreResult(
        study=study.study_name,
        storage=storage_text,
        space=rec.get("space"),
        objectives=objectives,
        constraints=rec.get("constraints") or {},
        trials=rows,
        pareto=pareto,
        interrupted=interrupted,
    )


def _sort_keys(objectives: list[Objective], values: list[float]) -> tuple[float, ...]:
    return tuple(v if o.direction == "minimize" else -v for o, v in zip(objectives, values, strict=False))


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "-"
    if unit == "count":
        return f"{v / 1e6:.3f}M"
    return f"{v:.4g}"


def table(result: ExploreResult) -> str:
    """The Pareto table as text: trial, objectives, params, MACs, latency, feasibility, the point."""
    objs = result.objectives
    lat_keys = sorted({k for t in result.pareto for k in t.metrics if k.endswith("_latency")})
    cols = ["trial"] + [o.label() for o in objs if o.kind not in ("params", "macs")]
    cols += ["params", "MACs"] + [f"{k} (ms)" for k in lat_keys if k not in {o.key for o in objs}]
    cols += ["feasible", "point"]
    lines = []
    for t in result.pareto:
        row = [str(t.number)]
        row += [_fmt(v) for o, v in zip(objs, t.values or [], strict=False) if o.kind not in ("params", "macs")]
        row += [_fmt(t.metric("params"), "count"), _fmt(t.metric("macs"), "count")]
        row += [_fmt(t.metric(k)) for k in lat_keys if k not in {o.key for o in objs}]
        row += ["yes" if t.feasible else "no", ", ".join(f"{k}={_value(v)}" for k, v in t.point.items())]
        lines.append(row)
    widths = [max(len(c), *(len(r[i]) for r in lines)) if lines else len(c) for i, c in enumerate(cols)]
    out = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=False)).rstrip()]
    out += ["  ".join(x.ljust(w) for x, w in zip(r, widths, strict=False)).rstrip() for r in lines]
    head = (
        f"study {result.study}: {len(result.trials)} trials, {result.n_feasible} feasible, "
        f"{len(result.pareto)} Pareto-optimal ({', '.join(o.spec for o in objs)})"
    )
    if not result.pareto:
        return head + "\nno feasible trial yet\n"
    return head + "\n" + "\n".join(out) + "\n"


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if v is None:
        return "none"
    return repr(v)

"""The indicator function 1_r of generative synthesis, as Optuna constraints.

A point is feasible when it resolves, every selected lint rule (``--constraint AD101,AD102``)
reports nothing on its graph, and its parameters, MACs and latency lie within the budgets. Each
condition is one Optuna constraint value (``trial.set_constraint``: ≤ 0 feasible, > 0 violated,
larger = further off), so TPE and NSGA-II steer away from infeasible regions and Optuna never
reports an infeasible trial as best or Pareto-optimal:

- ``resolves``: 0, or 1 for a point that does not resolve (or cannot be measured);
- ``rule:CODE``: the number of findings of that lint rule;
- ``max_params`` ...: the relative excess over the budget, ``(value - bound) / bound``.

Budgets come from the space's ``meta { }`` (``max_params``, ``min_params``, ``max_macs``,
``min_macs``, ``max_latency_ms``, ``constraint = "AD101,AD102"``) and the command line, which
wins key by key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ExploreError

BUDGETS = ("max_params", "min_params", "max_macs", "min_macs", "max_latency_ms")


@dataclass(frozen=True)
class Constraints:
    """The constraints of a study (all optional)."""

    rules: tuple[str, ...] = ()
    max_params: int | None = None
    min_params: int | None = None
    max_macs: int | None = None
    min_macs: int | None = None
    max_latency_ms: float | None = None
    latency_target: str = "a72"

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Constraints:
        """The budgets a space's ``meta`` declares (unknown keys are the space's own business)."""
        kw: dict[str, Any] = {}
        for key in BUDGETS:
            value = meta.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                kw[key] = float(value) if key == "max_latency_ms" else int(value)
        rules = meta.get("constraint", meta.get("constraints"))
        if isinstance(rules, str):
            kw["rules"] = parse_rules([rules])
        target = meta.get("latency_target")
        if isinstance(target, str) and target:
            kw["latency_target"] = target
        return cls(**kw)

    def override(self, **cli: Any) -> Constraints:
        """These constraints with every command-line value that is not None put over them."""
        return replace(self, **{k: v for k, v in cli.items() if v is not None and v != ()})

    def as_dict(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}

    @property
    def needs_latency(self) -> bool:
        return self.max_latency_ms is not None

    def describe(self) -> list[str]:
        """Short human lines: ``AD101, AD102 clean``, ``params <= 4,000,000`` ..."""
        out = []
        if self.rules:
            out.append(", ".join(self.rules) + " clean")
        for key, op in (("min_params", ">="), ("max_params", "<="), ("min_macs", ">="), ("max_macs", "<=")):
            v = getattr(self, key)
            if v is not None:
                out.append(f"{key[4:]} {op} {v:,}")
        if self.max_latency_ms is not None:
            out.append(f"{self.latency_target}_latency <= {self.max_latency_ms:g} ms")
        return out

    def evaluate(self, metrics: dict[str, float], findings: dict[str, list[str]]) -> tuple[dict[str, float], list[str]]:
        """Constraint values by key (≤ 0 feasible) and a message per violation."""
        values: dict[str, float] = {"resolves": 0.0}
        messages: list[str] = []
        for code in self.rules:
            found = findings.get(code, [])
            values[f"rule:{code}"] = float(len(found))
            messages.extend(f"{code}: {m}" for m in found)
        checks = [
            ("max_params", metrics["params"], self.max_params, 1),
            ("min_params", metrics["params"], self.min_params, -1),
            ("max_macs", metrics["macs"], self.max_macs, 1),
            ("min_macs", metrics["macs"], self.min_macs, -1),
        ]
        if self.max_latency_ms is not None:
            checks.append(("max_latency_ms", metrics[f"{self.latency_target}_latency"], self.max_latency_ms, 1))
        for key, value, bound, sign in checks:
            if bound is None:
                continue
            excess = sign * (value - bound) / max(abs(bound), 1e-12)
            values[key] = excess
            if excess > 0:
                op = "above" if sign > 0 else "below"
                messages.append(f"{key[4:]} {value:,.6g} is {op} the budget {bound:,.6g}")
        return values, messages


def parse_rules(texts: list[str]) -> tuple[str, ...]:
    """``["AD101,AD102", "AD103"]`` → ("AD101", "AD102", "AD103"); unknown codes are usage errors."""
    from archdsl.diagnostics import did_you_mean
    from archdsl.rules.registry import default_registry

    known = {r.code for r in default_registry().rules}
    out: list[str] = []
    for text in texts:
        for part in text.split(","):
            code = part.strip().upper()
            if not code:
                continue
            if code not in known:
                raise ExploreError(
                    f"unknown lint rule '{part.strip()}' in --constraint",
                    did_you_mean(code, known) or "`archdsl rules` lists the rule codes",
                )
            if code not in out:
                out.append(code)
    return tuple(out)


@dataclass
class RuleChecker:
    """Runs lint rules on resolved graphs in process, as ``archdsl lint --select`` would on a file
    holding that net (the nearest pyproject.toml's rule options apply; noqa comments of the space
    file too)."""

    program: Any
    file: str
    codes: tuple[str, ...]
    _linter: Any = field(default=None, init=False, repr=False)
    _resolved: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.codes:
            return
        from archdsl.rules.engine import Linter, Overrides

        self._linter = Linter(overrides=Overrides(select=self.codes))
        self._resolved = self._linter.resolved_for(Path(self.file))

    def findings(self, graph) -> dict[str, list[str]]:
        """Messages by rule code for ``graph`` (only the selected codes)."""
        if not self.codes:
            return {}
        from archdsl.rules.context import LintContext

        label = self.file if self.file in self.program.texts else next(iter(self.program.texts))
        ctx = LintContext(
            file=label,
            text=self.program.texts[label],
            program=self.program,
            graphs={graph.name: graph},
            sources=self._linter.sources,
            options=self._resolved.options,
            settings={"root": self._resolved.config.root},
        )
        found, _ = self._linter.check(ctx, frozenset(self.codes), self._resolved)
        out: dict[str, list[str]] = {}
        for f in found:
            out.setdefault(f.code, []).append(f.message)
        return out

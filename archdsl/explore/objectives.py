"""Objectives of a study, as written on the command line: ``NAME[:min|:max]``.

The names (docs/explore.md has the table):

- ``params``, ``macs``: exact counts of the resolved IR (minimised by default);
- ``latency`` / ``throughput``: on the ``a72`` model target; ``TARGET_latency`` (milliseconds,
  the median of the target's timings, minimised) and ``TARGET_throughput`` (images per second,
  maximised) for any benchmark target of the ``archdsl.targets`` group (``a72``, ``model``,
  ``host``, ``ssh`` ...);
- ``EVALUATOR`` or ``score/EVALUATOR``: the score of an accuracy evaluator of the
  ``archdsl.evaluators`` group, in the direction the evaluator declares;
- ``netscore/EVALUATOR``: NetScore (Wong 2018), :func:`netscore`, with the evaluator's score as
  the accuracy (maximised).

A direction suffix overrides the default (``params:max`` is allowed, if odd). Unknown names are
usage errors with a did-you-mean over every name that would have worked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ExploreError

DIRECTIONS = {"min": "minimize", "max": "maximize", "minimize": "minimize", "maximize": "maximize"}


@dataclass(frozen=True)
class Objective:
    """One objective: ``key`` is its canonical name (stored in the study), ``kind`` one of
    params, macs, latency, throughput, score, netscore."""

    key: str
    kind: str
    direction: str
    target: str | None = None
    evaluator: str | None = None
    proxy: bool = False
    """a zero-cost proxy's score (labelled "proxy" wherever it is shown)"""

    @property
    def unit(self) -> str:
        return {"params": "", "macs": "", "latency": "ms", "throughput": "img/s"}.get(self.kind, "")

    @property
    def spec(self) -> str:
        """The command-line text that gives this objective back."""
        return f"{self.key}:{'min' if self.direction == 'minimize' else 'max'}"

    def worst(self) -> float:
        """The value recorded for a point that has none (it did not resolve): the worst there is."""
        return math.inf if self.direction == "minimize" else -math.inf

    def label(self) -> str:
        if self.proxy:
            return f"{self.key} (proxy)"
        return f"{self.key} ({self.unit})" if self.unit else self.key


def netscore(
    accuracy_percent: float, params: int, macs: int, alpha: float = 2.0, beta: float = 0.5, gamma: float = 0.5
):
    """NetScore Ω = 20·log10(a^α / (p^β · m^γ)) (Wong 2018, eq. 1), in decibels.

    ``a``: top-1 accuracy in percent (0–100); ``p``: parameters in millions; ``m``:
    multiply-accumulates in millions; α = 2, β = γ = 0.5 as in the paper. Returns None where the
    logarithm is undefined (an accuracy, parameter or MAC count of zero or less).
    """
    p, m = params / 1e6, macs / 1e6
    if accuracy_percent <= 0 or p <= 0 or m <= 0:
        return None
    return 20.0 * math.log10(accuracy_percent**alpha / (p**beta * m**gamma))


def target_names() -> set[str]:
    from archdsl.bench.target import available

    return set(available())


def evaluator_names() -> set[str]:
    from importlib.metadata import entry_points

    return {ep.name for ep in entry_points(group="archdsl.evaluators")}


def known_names(targets: set[str], evaluators: set[str]) -> set[str]:
    names = {"params", "macs", "latency", "throughput"}
    for t in targets:
        names |= {f"{t}_latency", f"{t}_throughput"}
    for e in evaluators:
        names |= {e, f"score/{e}", f"netscore/{e}"}
    return names


def parse_objective(text: str, targets: set[str] | None = None, evaluators: set[str] | None = None) -> Objective:
    """One ``--objective`` value → :class:`Objective`; :class:`ExploreError` (exit 2) when unknown."""
    targets = target_names() if targets is None else targets
    evaluators = evaluator_names() if evaluators is None else evaluators
    raw = text.strip()
    name, sep, direction = raw.rpartition(":")
    if not sep:
        name, direction = raw, ""
    name = name.strip()
    want = None
    if direction:
        want = DIRECTIONS.get(direction.strip().lower())
        if want is None:
            raise ExploreError(
                f"objective '{raw}': unknown direction '{direction}'", "write NAME:min or NAME:max (or just NAME)"
            )
    obj = _lookup(name, targets, evaluators)
    if obj is None:
        from archdsl.diagnostics import did_you_mean

        names = known_names(targets, evaluators)
        hint = did_you_mean(name, names)
        listing = "objectives: params, macs, latency, throughput, TARGET_latency, TARGET_throughput"
        listing += ", EVALUATOR, netscore/EVALUATOR"
        if evaluators:
            listing += f" (evaluators: {', '.join(sorted(evaluators))})"
        else:
            listing += " (no accuracy evaluator is installed)"
        raise ExploreError(f"unknown objective '{name}'", f"{hint} {listing}" if hint else listing)
    if want is not None and want != obj.direction:
        obj = Objective(obj.key, obj.kind, want, obj.target, obj.evaluator, obj.proxy)
    return obj


def _lookup(name: str, targets: set[str], evaluators: set[str]) -> Objective | None:
    if name in ("params", "macs"):
        return Objective(name, name, "minimize")
    if name in ("latency", "throughput"):
        name = f"a72_{name}"
    for kind, direction in (("latency", "minimize"), ("throughput", "maximize")):
        suffix = f"_{kind}"
        if name.endswith(suffix) and name[: -len(suffix)] in targets:
            return Objective(name, kind, direction, target=name[: -len(suffix)])
    if name.startswith("netscore/") and name[9:] in evaluators:
        _require_accuracy(name[9:])
        return Objective(name, "netscore", "maximize", evaluator=name[9:])
    ev = name[6:] if name.startswith("score/") else name
    if ev in evaluators:
        direction, proxy = _evaluator_facts(ev)
        return Objective(f"score/{ev}", "score", direction, evaluator=ev, proxy=proxy)
    return None


def _require_accuracy(name: str) -> None:
    """NetScore's a is an accuracy in percent: a zero-cost proxy's score is no such thing."""
    from .measure import load_evaluator

    kind = getattr(load_evaluator(name), "kind", "proxy")
    if kind != "accuracy":
        raise ExploreError(
            f"NetScore needs an accuracy evaluator, and '{name}' is a {kind}",
            "use netscore/train (short training), or the proxy itself as an objective: --objective " + name,
        )


def _evaluator_facts(name: str) -> tuple[str, bool]:
    """(direction, is a proxy) of an evaluator, as it declares them."""
    from .measure import load_evaluator

    ev = load_evaluator(name)
    direction = "maximize" if getattr(ev, "higher_is_better", True) else "minimize"
    return direction, getattr(ev, "kind", "proxy") == "proxy"


def parse_objectives(texts: list[str]) -> list[Objective]:
    """Every ``--objective`` (comma-separated lists allowed); at least one, no duplicates."""
    items = [part for t in texts for part in t.split(",") if part.strip()]
    if not items:
        items = ["a72_latency"]
    targets, evaluators = target_names(), evaluator_names()
    out: list[Objective] = []
    for item in items:
        obj = parse_objective(item, targets, evaluators)
        if any(o.key == obj.key for o in out):
            raise ExploreError(f"objective '{obj.key}' is given twice", "name each objective once")
        out.append(obj)
    return out

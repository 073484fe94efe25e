"""``archdsl explore``: machine-driven design exploration of a search space, on Optuna.

The AttendNeXt paper's generative synthesis (its section 2.2) maps onto an Optuna study:

- the *generator* is Optuna's sampler (TPE by default, NSGA-II for several objectives), which
  proposes points of a ``space`` (:mod:`archdsl.space`);
- the *inquisitor* resolves each point and measures it (:mod:`.measure`: exact parameter and MAC
  counts, latency on a benchmark target, an accuracy evaluator's score, NetScore);
- the *indicator* 1_r is a set of Optuna constraints (:mod:`.constraints`: lint rules that must
  report nothing, budgets on parameters, MACs and latency; a point that does not resolve is
  infeasible, with its diagnostic recorded).

Modules: :mod:`.objectives` (the ``--objective`` names), :mod:`.storage` (SQLite, PostgreSQL,
journal), :mod:`.trial` (the objective function), :mod:`.runner` (samplers, seeding, workers,
Ctrl-C), :mod:`.results` (Pareto front, table, JSON), :mod:`.outputs` (``.arch`` variants, plot).
Optuna is imported only when a study runs, so ``archdsl --help`` stays fast. docs/explore.md
has the method, a worked example and the reference.

Python API::

    import archdsl
    result = archdsl.explore("specs/spaces/attendnext_search.arch",
                             objectives=["a72_latency", "params"],
                             constraints={"rules": ["AD101", "AD102"], "max_params": 4_000_000},
                             trials=50, seed=0)
    for row in result.pareto:
        print(row.number, row.values, row.point)
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from .constraints import Constraints, parse_rules
from .errors import ExploreError
from .objectives import Objective, netscore, parse_objectives
from .results import ExploreResult, TrialRow
from .storage import default_storage, parse_storage

__all__ = [
    "Constraints",
    "ExploreError",
    "ExploreResult",
    "Objective",
    "TrialRow",
    "explore",
    "netscore",
    "show",
]


def _constraints(value: Any, meta: dict[str, Any], budgets: dict[str, Any]) -> Constraints:
    base = Constraints.from_meta(meta)
    if isinstance(value, Constraints):
        base = value
    elif isinstance(value, dict):
        known = {f.name for f in fields(Constraints)}
        bad = sorted(set(value) - known)
        if bad:
            raise ExploreError(f"unknown constraint '{bad[0]}'", "constraints: " + ", ".join(sorted(known)))
        value = dict(value)
        if "rules" in value:
            rules = value["rules"]
            value["rules"] = parse_rules([rules] if isinstance(rules, str) else list(rules))
        base = base.override(**value)
    elif isinstance(value, (str, list, tuple)):
        base = base.override(rules=parse_rules([value] if isinstance(value, str) else list(value)))
    elif value is not None:
        raise ExploreError(f"constraints must be a dict, a Constraints or rule codes, not {type(value).__name__}")
    return base.override(**budgets)


def configure(
    space_path: str | Path,
    *,
    objectives,
    constraints=None,
    storage: str | None = None,
    study: str | None = None,
    space: str | None = None,
    sampler: str = "tpe",
    seed: int | None = None,
    population: int = 50,
    target_options: dict | None = None,
    evaluator_options: dict | None = None,
    runs: int = 10,
    warmup: int = 3,
    threads: int | None = None,
    budgets: dict[str, Any] | None = None,
    sources=None,
):
    """Check everything a study needs before any trial runs; returns (StudyConfig, LoadedSpace)."""
    from archdsl.space import load_space

    from .errors import require_optuna
    from .runner import SAMPLERS, StudyConfig

    # the cheap checks first: a usage error never waits for Optuna to import
    if sampler not in SAMPLERS:
        from archdsl.diagnostics import did_you_mean

        raise ExploreError(
            f"unknown sampler '{sampler}'", did_you_mean(sampler, set(SAMPLERS)) or "samplers: " + ", ".join(SAMPLERS)
        )
    objs = parse_objectives([objectives] if isinstance(objectives, str) else list(objectives))
    explicit = parse_storage(storage) if storage is not None else None
    loaded = load_space(space_path, name=space, sources=sources)
    cons = _constraints(constraints, dict(loaded.space.meta or {}), dict(budgets or {}))
    if cons.needs_latency:
        from .objectives import target_names

        if cons.latency_target not in target_names():
            raise ExploreError(
                f"unknown latency target '{cons.latency_target}'", "targets: " + ", ".join(sorted(target_names()))
            )
    spec = explicit or parse_storage(default_storage(loaded.space.name))
    require_optuna()
    cfg = StudyConfig(
        space_path=str(space_path),
        space_name=loaded.space.name,
        objectives=[o.spec for o in objs],
        constraints=cons,
        storage=spec,
        study=study or loaded.space.name,
        sampler=sampler,
        seed=seed,
        population=population,
        target_options=dict(target_options or {}),
        evaluator_options=dict(evaluator_options or {}),
        runs=runs,
        warmup=warmup,
        threads=threads,
    )
    return cfg, loaded


def explore(
    space_path: str | Path,
    objectives=("a72_latency",),
    constraints=None,
    trials: int | None = 20,
    storage: str | None = None,
    seed: int | None = None,
    *,
    study: str | None = None,
    space: str | None = None,
    sampler: str = "tpe",
    workers: int = 1,
    timeout: float | None = None,
    output_dir: str | Path | None = None,
    plot: str | Path | None = None,
    **options: Any,
) -> ExploreResult:
    """Run (or resume) a study over a search space; returns its :class:`ExploreResult`.

    ``objectives``: names as on the command line (``"a72_latency"``, ``"params:min"``,
    ``"naswot"``, ``"netscore/train"``). ``constraints``: rule codes (``"AD101,AD102"``), a dict
    of :class:`Constraints` fields, or a :class:`Constraints`; the space's ``meta`` gives the
    defaults. ``trials``: how many trials this call runs (a resumed study keeps its trials).
    ``storage``: as ``--storage`` (default: ``build/explore/<space>.db``). ``output_dir``: write
    the Pareto-optimal designs there as ``.arch`` files; ``plot``: a ``.png``/``.svg`` path.
    Other keyword arguments: ``population``, ``target_options``, ``evaluator_options``, ``runs``,
    ``warmup``, ``threads`` and the budgets ``max_params``, ``min_params``, ``max_macs``,
    ``min_macs``, ``max_latency_ms``.

    Raises :class:`ExploreError` for bad arguments and unreachable storage, and
    :class:`archdsl.diagnostics.DiagnosticError` when the space itself does not load.
    """
    from .runner import run_trials, run_workers

    budget_keys = ("max_params", "min_params", "max_macs", "min_macs", "max_latency_ms")
    budgets = {k: options.pop(k) for k in budget_keys if k in options}
    cfg, loaded = configure(
        space_path,
        objectives=objectives,
        constraints=constraints,
        storage=storage,
        study=study,
        space=space,
        sampler=sampler,
        seed=seed,
        budgets=budgets,
        **options,
    )
    if workers > 1:
        interrupted = run_workers(cfg, trials, timeout, workers)
    else:
        interrupted = run_trials(cfg, trials, timeout)
    return finish(cfg, loaded, interrupted, output_dir, plot)


def finish(cfg, loaded, interrupted: bool, output_dir=None, plot=None) -> ExploreResult:
    """Read the study back and write the outputs asked for."""
    from .outputs import plot as draw
    from .outputs import write_variants
    from .results import collect
    from .runner import open_study
    from .storage import open_storage

    storage = open_storage(cfg.storage)
    study = open_study(cfg, storage, cfg.parsed_objectives())
    result = collect(study, cfg.storage.text, cfg.parsed_objectives(), interrupted)
    if output_dir is not None:
        result.files.extend(write_variants(result, Path(output_dir), loaded))
    if plot is not None:
        result.files.append(draw(result, Path(plot)))
    return result


def show(study: str, storage: str, output_dir=None, space_file=None, sources=None) -> ExploreResult:
    """The results of an existing study (no space or target needed).

    With ``output_dir``, its Pareto-optimal designs are written there as ``archdsl explore`` writes
    them; that needs the space: the file the study was run on (recorded in the study, relative to
    the folder it was run from) or ``space_file``; ``sources`` receives the texts read.
    """
    from archdsl.diagnostics import did_you_mean

    from .errors import require_optuna
    from .results import collect
    from .runner import ATTR
    from .storage import open_storage

    optuna = require_optuna()
    spec = parse_storage(storage)
    if spec.path is not None and not spec.path.exists():
        raise ExploreError(f"storage {spec.text} does not exist", "give the --storage the study was run with")
    st = open_storage(spec)
    names = [s.study_name for s in optuna.get_all_study_summaries(st, include_best_trial=False)]
    if study not in names:
        hint = did_you_mean(study, set(names)) or (
            "studies: " + ", ".join(sorted(names)) if names else "it holds no study"
        )
        raise ExploreError(f"no study named '{study}' in {spec.text}", hint)
    s = optuna.load_study(study_name=study, storage=st)
    rec = s.user_attrs.get(ATTR) or {}
    details = rec.get("objective_details")
    if details:
        objs = [Objective(**d) for d in details]
    else:  # a study archdsl did not create: name its objectives by position
        objs = [Objective(f"objective{i}", "score", d.name.lower()) for i, d in enumerate(s.directions)]
    result = collect(s, spec.text, objs)
    if output_dir is not None:
        from .outputs import write_variants

        loaded = _study_space(study, rec, space_file, sources)
        result.files.extend(write_variants(result, Path(output_dir), loaded))
    return result


def _study_space(study: str, rec: dict[str, Any], space_file=None, sources=None):
    """The space a study was run on, loaded again (to write its designs)."""
    from archdsl.space.loader import load_space

    hint = "name the space file with --space-file FILE"
    path = space_file if space_file is not None else rec.get("space")
    if path is None:
        raise ExploreError(f"study '{study}' does not record the space it explored", hint)
    if not Path(path).is_file():
        raise ExploreError(f"the space file '{path}' of study '{study}' is not there", hint)
    return load_space(path, name=rec.get("space_name"), sources=sources)


class _CallableModule(__import__("types").ModuleType):
    """``archdsl.explore(...)`` keeps working once this package is imported: importing a
    subpackage makes it the parent's attribute of that name, in place of archdsl's function."""

    def __call__(self, *args: Any, **kwargs: Any) -> ExploreResult:
        return explore(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule

"""``archdsl explore``: run a design-exploration study over a search space, or show one.

``archdsl explore SPACE.arch ...`` is short for ``archdsl explore run SPACE.arch ...``;
``archdsl explore show STUDY --storage URL`` prints a study's Pareto front. The engine is
:mod:`archdsl.explore` (Optuna, imported when a study runs, so ``archdsl --help`` stays fast).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from archdsl.cli import app
from archdsl.cli.common import EXIT_OK, _with_file, exit_for, parse_overrides, print_diagnostics
from archdsl.cli.lazy import default_run_group

explore_app = default_run_group(
    "Explore a search space with Optuna: objectives, constraints, Pareto front.\n\n"
    "`archdsl explore SPACE.arch ...` is short for `archdsl explore run SPACE.arch ...`."
)
app.add_typer(explore_app, name="explore")

EXIT_INTERRUPTED = 130

RUN_EPILOG = """Examples:

\b
  archdsl explore specs/spaces/attendnext_widths.arch --objective a72_latency --objective params --trials 50
  archdsl explore SPACE.arch --objective a72_throughput --constraint AD101,AD102,AD103,AD104 \\
      --min-params 3500000 --max-params 4000000 --min-macs 200000000 --sampler nsga2 --seed 0
  archdsl explore SPACE.arch --storage postgresql://me@dbhost/archdsl --study s1 --workers 4
  archdsl explore show s1 --storage postgresql://me@dbhost/archdsl --format json

Objectives (NAME or NAME:min / NAME:max): params, macs, latency / throughput (the a72 model),
TARGET_latency (ms) and TARGET_throughput (img/s) for a bench target (a72, model, host, ssh),
EVALUATOR (an accuracy evaluator's score) and netscore/EVALUATOR. Several objectives give a
Pareto front. Constraints: --constraint rule codes must report nothing; budgets from the options
or the space's meta (the options win). Storage: a SQLite file by default
(build/explore/SPACE.db); sqlite:///PATH, postgresql://..., journal:PATH. Ctrl-C stops after the
running trials; rerunning resumes the study. See docs/explore.md.

Exit codes: 0 done; 1 the space has errors; 2 bad option, storage URL or study; 3 the tool failed
(storage unreachable, target failed, Optuna missing); 130 interrupted (the finished trials are saved).
"""


def _fail(exc) -> typer.Exit:
    sys.stderr.write(f"archdsl: error: {exc.message}\n")
    if exc.help:
        sys.stderr.write(f"  = help: {exc.help}\n")
    return typer.Exit(exc.exit_code)


def _target_options(items: list[str] | None) -> dict[str, dict]:
    """``-O KEY=VALUE`` (every target) and ``-O TARGET.KEY=VALUE`` (one target)."""
    from archdsl.bench.target import available

    out: dict[str, dict] = {}
    shared = {}
    for k, v in parse_overrides(
        [i.replace(".", "__", 1) if "." in i.split("=", 1)[0] else i for i in items or []]
    ).items():
        if "__" in k:
            t, key = k.split("__", 1)
            out.setdefault(t, {})[key] = v
        else:
            shared[k] = v
    if shared:
        for t in available():
            out.setdefault(t, {}).update({k: v for k, v in shared.items() if k not in out.get(t, {})})
    return out


class _Progress:
    """A rich progress bar on stderr (a terminal only): trials done, best so far, ETA."""

    def __init__(self, enabled: bool, total: int | None, objectives):
        self.bar = None
        self.objectives = objectives
        self.best = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("explore"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[best]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("explore", total=total, best="")

    def trial(self, study, trial) -> None:
        if self.bar is None:
            return
        if trial.user_attrs.get("feasible") and trial.values and len(self.objectives) == 1:
            v, o = trial.values[0], self.objectives[0]
            if self.best is None or (v < self.best if o.direction == "minimize" else v > self.best):
                self.best = v
        best = f"best {self.objectives[0].key} {self.best:.4g}" if self.best is not None else ""
        self.bar.update(self.task, advance=1, best=best)

    def count(self, done: int, feasible: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, best=f"{feasible} feasible")

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print(result, fmt: str) -> None:
    from archdsl.explore.results import table

    if fmt == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2, sort_keys=True, allow_nan=False) + "\n")
    else:
        sys.stdout.write(table(result))
        for f in result.files:
            sys.stdout.write(f"wrote {f}\n")


@explore_app.command("run", epilog=RUN_EPILOG)
def run(
    space_file: Path = typer.Argument(..., metavar="SPACE", help="A spec file with a `space` definition."),
    space: str = typer.Option(None, "--space", help="The space to explore (default: the file's only space)."),
    objective: list[str] = typer.Option(
        None, "--objective", help="An objective, NAME[:min|max]; repeat or comma-separate."
    ),
    constraint: list[str] = typer.Option(None, "--constraint", help="Lint rule codes that must report nothing."),
    max_params: int = typer.Option(None, "--max-params", min=1, help="Budget: at most this many parameters."),
    min_params: int = typer.Option(None, "--min-params", min=0, help="Budget: at least this many parameters."),
    max_macs: int = typer.Option(None, "--max-macs", min=1, help="Budget: at most this many MACs."),
    min_macs: int = typer.Option(None, "--min-macs", min=0, help="Budget: at least this many MACs."),
    max_latency_ms: float = typer.Option(
        None, "--max-latency-ms", min=0.0, help="Budget: latency on --latency-target."
    ),
    latency_target: str = typer.Option(None, "--latency-target", help="Target of --max-latency-ms (default a72)."),
    trials: int = typer.Option(
        None, "--trials", "-n", min=1, help="Trials to run now (default 20; with --timeout: no limit)."
    ),
    timeout: float = typer.Option(None, "--timeout", min=0.0, help="Stop starting trials after this many seconds."),
    sampler: str = typer.Option("tpe", "--sampler", help="tpe (default), nsga2 or random."),
    population: int = typer.Option(50, "--population", min=2, help="NSGA-II's population size."),
    seed: int = typer.Option(None, "--seed", help="Seed of the sampler (same seed + fresh storage: same trials)."),
    storage: str = typer.Option(None, "--storage", help="sqlite:///PATH, PATH.db, postgresql://... or journal:PATH."),
    study: str = typer.Option(None, "--study", help="The study to create or join (default: the space's name)."),
    workers: int = typer.Option(1, "--workers", "-j", min=1, max=256, help="Local worker processes."),
    output: Path = typer.Option(
        None, "-o", "--output", help="Folder for the Pareto designs (default build/explore/STUDY)."
    ),
    plot: Path = typer.Option(None, "--plot", help="Pareto plot file, .png or .svg (default OUTPUT/pareto.svg)."),
    no_plot: bool = typer.Option(False, "--no-plot", help="Do not draw the plot."),
    target_option: list[str] = typer.Option(None, "-O", help="Target option KEY=VALUE (or TARGET.KEY=VALUE)."),
    eval_option: list[str] = typer.Option(None, "-E", help="Evaluator option KEY=VALUE."),
    runs: int = typer.Option(10, "--runs", min=1, help="Timed runs per latency measurement (host, ssh)."),
    warmup: int = typer.Option(3, "--warmup", min=0, help="Warm-up runs per latency measurement."),
    threads: int = typer.Option(None, "--threads", min=1, help="Threads on the target (default: the target's)."),
    fmt: str = typer.Option("text", "--format", help="'text' (the Pareto table) or 'json'."),
) -> None:
    """Run (or resume) a study over a search space and write its Pareto-optimal designs."""
    from archdsl.diagnostics import DiagnosticError, SourceMap
    from archdsl.explore import ExploreError, configure, finish
    from archdsl.explore.constraints import parse_rules

    if fmt not in ("text", "json"):
        raise typer.BadParameter("choose 'text' or 'json'", param_hint="--format")
    if plot is not None and plot.suffix.lower() not in (".png", ".svg"):
        raise _fail(ExploreError(f"--plot {plot}: the plot is a .png or .svg file", "--plot front.svg"))
    if trials is None and timeout is None:
        trials = 20
    sources = SourceMap()
    try:
        rules = parse_rules(constraint) if constraint else ()
        budgets = {
            "max_params": max_params,
            "min_params": min_params,
            "max_macs": max_macs,
            "min_macs": min_macs,
            "max_latency_ms": max_latency_ms,
            "latency_target": latency_target,
        }
        cfg, loaded = configure(
            space_file,
            objectives=objective or [],
            constraints={"rules": rules} if rules else None,
            storage=storage,
            study=study,
            space=space,
            sampler=sampler,
            seed=seed,
            population=population,
            target_options=_target_options(target_option),
            evaluator_options=parse_overrides(eval_option),
            runs=runs,
            warmup=warmup,
            threads=threads,
            sources=sources,
            budgets={k: v for k, v in budgets.items() if v is not None},
        )
    except DiagnosticError as exc:
        print_diagnostics(_with_file(exc.diagnostics, space_file), sources)
        raise exit_for(exc.diagnostics) from None
    except ExploreError as exc:
        raise _fail(exc) from None
    out_dir = output or Path("build") / "explore" / cfg.study
    plot_path = None if no_plot else (plot or out_dir / "pareto.svg")
    from archdsl.cli.common import check_outputs

    if out_dir.exists() and not out_dir.is_dir():
        raise _fail(ExploreError(f"-o {out_dir} is a file", "the designs are written into a folder: -o DIR"))
    check_outputs([p for p in (plot_path, cfg.storage.path) if p is not None])
    objectives = cfg.parsed_objectives()
    progress = _Progress(sys.stderr.isatty() and fmt == "text", trials, objectives)
    interrupted = False
    try:
        interrupted = _run(cfg, trials, timeout, workers, progress)
    except ExploreError as exc:
        progress.stop()
        raise _fail(exc) from None
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.stop()
    try:
        result = finish(cfg, loaded, interrupted, out_dir, plot_path)
    except ExploreError as exc:
        raise _fail(exc) from None
    _print(result, fmt)
    if interrupted:
        sys.stderr.write(
            f"interrupted: the study holds {len(result.trials)} trials; rerun the same command to resume it\n"
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_OK)


def _run(cfg, trials, timeout, workers, progress) -> bool:
    from archdsl.explore.runner import Stopper, run_trials, run_workers

    if workers > 1:
        poll = _poller(cfg, progress) if progress.bar is not None else None
        return run_workers(cfg, trials, timeout, workers, poll)
    stopper = Stopper()
    stopper.install()
    try:
        return run_trials(cfg, trials, timeout, on_trial=progress.trial, stopper=stopper)
    finally:
        stopper.restore()


def _poller(cfg, progress):
    from archdsl.explore.storage import open_storage

    state = {"study": None, "start": None}

    def poll() -> None:
        import optuna

        try:
            if state["study"] is None:
                state["study"] = optuna.load_study(study_name=cfg.study, storage=open_storage(cfg.storage))
                state["start"] = len(state["study"].get_trials(deepcopy=False, states=_finished()))
            ts = state["study"].get_trials(deepcopy=False, states=_finished())
        except Exception:  # the study is being created by a worker: try again next second
            return
        progress.count(len(ts) - state["start"], sum(1 for t in ts if t.user_attrs.get("feasible")))

    return poll


def _finished():
    from optuna.trial import TrialState

    return (TrialState.COMPLETE, TrialState.FAIL)


@explore_app.command("show")
def show(
    study: str = typer.Argument(..., help="The study's name."),
    storage: str = typer.Option(..., "--storage", help="Where the study is (as for `archdsl explore --storage`)."),
    fmt: str = typer.Option("text", "--format", help="'text' (the Pareto table) or 'json'."),
    plot: Path = typer.Option(None, "--plot", help="Also draw the Pareto plot into this .png or .svg file."),
    output: Path = typer.Option(
        None, "--output", "-o", help="Also write the Pareto-optimal designs into this folder, as .arch variants."
    ),
    space_file: Path = typer.Option(
        None, "--space-file", help="With -o: the space file (default: the one the study was run on)."
    ),
) -> None:
    """Print the Pareto front of an existing study (no space or target needed; -o needs the space)."""
    from archdsl.diagnostics import DiagnosticError, SourceMap
    from archdsl.explore import ExploreError
    from archdsl.explore import show as show_study

    if fmt not in ("text", "json"):
        raise typer.BadParameter("choose 'text' or 'json'", param_hint="--format")
    if plot is not None and plot.suffix.lower() not in (".png", ".svg"):
        raise typer.BadParameter("the plot is a .png or .svg file", param_hint="--plot")
    if output is not None and output.exists() and not output.is_dir():
        raise _fail(ExploreError(f"-o {output} is a file", "the designs are written into a folder: -o DIR"))
    sources = SourceMap()
    try:
        result = show_study(study, storage, output, space_file, sources)
    except ExploreError as exc:
        raise _fail(exc) from None
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics, sources)
        raise exit_for(exc.diagnostics) from None
    if plot is not None:
        from archdsl.explore.outputs import plot as draw

        result.files.append(draw(result, plot))
    _print(result, fmt)
    raise typer.Exit(EXIT_OK)

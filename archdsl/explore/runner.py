"""Running a study: samplers, seeding, the study record, worker processes, Ctrl-C.

:class:`StudyConfig` is everything a worker needs, as plain data: it travels to worker processes
(``multiprocessing`` with the *spawn* start method, so that no worker inherits a half-open
database connection), and each worker opens the space, the storage and its instruments itself.

Seeding: a sampler's seed is derived from ``--seed``, the worker's index and the number of trials
the study already holds (:func:`sampler_seed`), so the same seed on a fresh storage gives the same
trials, while a resumed study or a second worker does not replay the points already tried.

Ctrl-C (SIGINT): the first one lets every worker finish the trial it is running and stop (the
study keeps every finished trial; rerunning the command resumes it, trial numbers going on); a
second one interrupts at once (Optuna records the running trial as FAIL).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .constraints import Constraints, RuleChecker
from .errors import ExploreError, require_optuna
from .measure import Measurer
from .objectives import Objective, parse_objective
from .storage import StorageSpec, open_storage

SAMPLERS = ("tpe", "nsga2", "random")
ATTR = "archdsl"  # the study's user attribute describing the exploration


@dataclass
class StudyConfig:
    """The plain-data description of an exploration (picklable for worker processes)."""

    space_path: str
    space_name: str | None
    objectives: list[str]
    constraints: Constraints
    storage: StorageSpec
    study: str
    sampler: str = "tpe"
    seed: int | None = None
    population: int = 50
    target_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    evaluator_options: dict[str, Any] = field(default_factory=dict)
    runs: int = 10
    warmup: int = 3
    threads: int | None = None

    def parsed_objectives(self) -> list[Objective]:
        return [parse_objective(o) for o in self.objectives]


def sampler_seed(seed: int | None, worker: int, done: int) -> int | None:
    """The sampler seed of worker ``worker`` on a study holding ``done`` trials (None: unseeded)."""
    if seed is None:
        return None
    return (seed + 7919 * worker + 104729 * done) % (2**32)


def make_sampler(name: str, seed: int | None, population: int = 50):
    optuna = require_optuna()
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=population)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    from archdsl.diagnostics import did_you_mean

    raise ExploreError(f"unknown sampler '{name}'", did_you_mean(name, set(SAMPLERS)) or "samplers: tpe, nsga2, random")


def study_record(cfg: StudyConfig, objectives: list[Objective]) -> dict[str, Any]:
    return {
        "format": "archdsl-explore/1",
        "space": cfg.space_path,
        "space_name": cfg.space_name,
        "objectives": [o.spec for o in objectives],
        "objective_details": [asdict(o) for o in objectives],
        "constraints": cfg.constraints.as_dict(),
    }


def open_study(cfg: StudyConfig, storage, objectives: list[Objective], sampler=None):
    """Create the study or join it; a study created with other objectives is a usage error."""
    optuna = require_optuna()
    directions = [o.direction for o in objectives]
    try:
        study = optuna.create_study(
            study_name=cfg.study, storage=storage, sampler=sampler, directions=directions, load_if_exists=True
        )
    except ValueError as exc:
        raise ExploreError(f"cannot join study '{cfg.study}': {exc}", "choose another --study name") from None
    rec = study.user_attrs.get(ATTR)
    if rec is None:
        if [d.name.lower() for d in study.directions] != directions:
            raise ExploreError(
                f"study '{cfg.study}' exists with {len(study.directions)} objective(s) of other directions",
                "choose another --study name",
            )
        study.set_user_attr(ATTR, study_record(cfg, objectives))
    elif rec.get("objectives") != [o.spec for o in objectives]:
        raise ExploreError(
            f"study '{cfg.study}' was created with objectives {', '.join(rec.get('objectives') or [])}",
            "rerun with the same --objective options, or choose another --study name",
        )
    return study


class Stopper:
    """SIGINT handling inside a process that runs trials: first signal → stop after this trial."""

    def __init__(self) -> None:
        self.requested = False
        self._first = 0.0
        self._previous = None

    def install(self) -> None:
        self._previous = signal.signal(signal.SIGINT, self._handle)

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum, frame) -> None:
        now = time.monotonic()
        if self.requested and now - self._first > 1.0:  # a second Ctrl-C (not the same one forwarded)
            raise KeyboardInterrupt
        if not self.requested:
            self.requested, self._first = True, now

    def callback(self, study, trial) -> None:
        if self.requested:
            study.stop()


def run_trials(
    cfg: StudyConfig,
    trials: int | None,
    timeout: float | None,
    worker: int = 0,
    on_trial: Callable[[Any, Any], None] | None = None,
    stopper: Stopper | None = None,
) -> bool:
    """Run trials of the study in this process; True when stopped by Ctrl-C."""
    require_optuna()
    from archdsl.space import load_space

    objectives = cfg.parsed_objectives()
    loaded = load_space(cfg.space_path, name=cfg.space_name)
    storage = open_storage(cfg.storage)
    study = open_study(cfg, storage, objectives)
    done = len(study.get_trials(deepcopy=False))
    study.sampler = make_sampler(cfg.sampler, sampler_seed(cfg.seed, worker, done), cfg.population)
    measurer = Measurer(
        objectives,
        latency_target=cfg.constraints.latency_target if cfg.constraints.needs_latency else None,
        target_options=cfg.target_options,
        evaluator_options=cfg.evaluator_options,
        seed=cfg.seed or 0,
        runs=cfg.runs,
        warmup=cfg.warmup,
        threads=cfg.threads,
    )
    from .trial import TrialRunner

    program = getattr(loaded, "program", None)
    if program is None and cfg.constraints.rules:
        from archdsl.resolve import load_program

        program = load_program(cfg.space_path)
    rules = RuleChecker(program, str(cfg.space_path), cfg.constraints.rules)
    runner = TrialRunner(loaded, objectives, cfg.constraints, measurer, rules)
    stopper = stopper or Stopper()
    callbacks = [stopper.callback] + ([on_trial] if on_trial else [])
    try:
        study.optimize(runner, n_trials=trials, timeout=timeout, callbacks=callbacks, catch=())
    finally:
        measurer.close()
    return stopper.requested


def _worker_main(cfg: StudyConfig, trials: int | None, timeout: float | None, worker: int, queue) -> None:
    """Entry point of a spawned worker: run, report (ok / interrupted / error) on ``queue``."""
    stopper = Stopper()
    stopper.install()
    try:
        stopped = run_trials(cfg, trials, timeout, worker, stopper=stopper)
        queue.put((worker, "interrupted" if stopped else "ok", None))
    except ExploreError as exc:
        queue.put((worker, "error", (exc.message, exc.help, exc.exit_code)))
    except KeyboardInterrupt:
        queue.put((worker, "interrupted", None))
    except Exception as exc:  # a bug: reported by the parent as a tool failure
        queue.put((worker, "error", (f"worker {worker} failed: {type(exc).__name__}: {exc}", None, 3)))


def split_trials(trials: int | None, workers: int) -> list[int | None]:
    """``trials`` shared between ``workers`` as evenly as possible (None: unbounded)."""
    if trials is None:
        return [None] * workers
    base, extra = divmod(trials, workers)
    return [base + (1 if i < extra else 0) for i in range(workers)]


def run_workers(
    cfg: StudyConfig, trials: int | None, timeout: float | None, workers: int, poll: Callable[[], None] | None = None
) -> bool:
    """Run the study in ``workers`` spawned processes; True when stopped by Ctrl-C.

    The parent forwards a SIGINT it receives to the workers (they stop after their trial), polls
    ``poll`` about once a second (the progress bar), and raises the first worker's error.
    """
    import multiprocessing

    # create the tables and the study here, once: workers racing to create them would collide
    open_study(cfg, open_storage(cfg.storage), cfg.parsed_objectives())
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = []
    for i, n in enumerate(split_trials(trials, workers)):
        if n == 0:
            continue
        p = ctx.Process(target=_worker_main, args=(cfg, n, timeout, i, queue), name=f"archdsl-explore-{i}")
        p.start()
        procs.append(p)
    interrupted = False

    def forward(signum, frame) -> None:
        nonlocal interrupted
        interrupted = True
        for p in procs:
            if p.is_alive() and p.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGINT)

    previous = signal.signal(signal.SIGINT, forward)
    reports = []
    try:
        while len(reports) < len(procs):
            try:
                reports.append(queue.get(timeout=1.0))
            except Exception:  # queue.Empty: nobody finished yet
                if poll:
                    poll()
                if not any(p.is_alive() for p in procs) and queue.empty():
                    break
        for p in procs:
            p.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    if poll:
        poll()
    for _, status, detail in sorted(reports, key=lambda r: r[0]):
        if status == "error":
            raise ExploreError(detail[0], detail[1], detail[2])
    lost = [p for p in procs if p.exitcode not in (0, None)]
    if lost and not interrupted:
        raise ExploreError(f"{len(lost)} worker process(es) died (exit {lost[0].exitcode})", None, 3)
    return interrupted or any(status == "interrupted" for _, status, _ in reports)

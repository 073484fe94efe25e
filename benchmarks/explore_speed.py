"""Trials per minute of `archdsl explore`, and the speed-up of 2 workers over 1 on PostgreSQL.

Three measurements, each a fresh study (seeded TPE), wall time from the first trial to the last:

1. the AttendNeXt widths space (specs/spaces/attendnext_widths.arch) with the objectives
   ``a72_latency`` and ``params`` and the paper's lint constraints (AD101-AD104) on SQLite;
2. the same with the NASWOT proxy as a third objective (batch 8 at its default 32×32, the point
   resolved at that resolution by the space; torch on the CPU, 1 thread);
3. the tiny test space (tests/fixtures/explore/tiny_search.arch), objectives ``a72_latency`` and
   ``params``, on a throw-away PostgreSQL cluster (tests/postgres.py): 1 worker, then 2 workers
   (``--workers 2``, spawned processes), the same number of trials.

The AttendNeXt space has only 12 points: a point proposed again is replayed from the worker's
memory, not measured again, so "evaluated/min" (trials that measured a new point) is reported next
to "trials/min". Writes benchmarks/results/explore_speed.json and .md. The machine's load average
is recorded: on a shared 2-core machine the numbers move with it.

Trials per minute count from the first trial's start to the last one's end (the storage's
timestamps); the wall time, which includes starting Python, Optuna and the worker processes, is
reported beside it.

Run: python benchmarks/explore_speed.py [--trials N] [--pg-trials N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "explore_speed"
WIDTHS = ROOT / "specs" / "spaces" / "attendnext_widths.arch"
TINY = ROOT / "tests" / "fixtures" / "explore" / "tiny_search.arch"


def timed(label: str, **kw) -> dict:
    import archdsl

    t0 = time.perf_counter()
    r = archdsl.explore(**kw)
    wall = time.perf_counter() - t0
    n = len(r.trials)
    study = None
    repeats = 0
    span = wall
    try:
        import optuna

        from archdsl.explore.storage import open_storage, parse_storage

        study = optuna.load_study(study_name=r.study, storage=open_storage(parse_storage(kw["storage"])))
        ts = study.get_trials(deepcopy=False)
        repeats = sum(1 for t in ts if t.user_attrs.get("repeat"))
        start = min(t.datetime_start for t in ts if t.datetime_start)
        end = max(t.datetime_complete for t in ts if t.datetime_complete)
        span = (end - start).total_seconds()
    except Exception as exc:  # the table still has the wall time
        print(f"could not read the trials back: {exc}", file=sys.stderr)
    row = {
        "label": label,
        "trials": n,
        "evaluated": n - repeats,
        "feasible": r.n_feasible,
        "wall_s": round(wall, 2),
        "trials_span_s": round(span, 2),
        "trials_per_min": round(60 * n / span, 1),
        "evaluated_per_min": round(60 * (n - repeats) / span, 1),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--pg-trials", type=int, default=24)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        common = {"trials": args.trials, "seed": 0, "constraints": "AD101,AD102,AD103,AD104"}
        rows.append(
            timed(
                "a72 + params, AttendNeXt widths, SQLite",
                space_path=WIDTHS,
                objectives=["a72_latency", "params"],
                storage=f"sqlite:///{tmp}/a.db",
                **common,
            )
        )
        try:
            import torch

            torch.set_num_threads(1)
            rows.append(
                timed(
                    "a72 + params + naswot (proxy), AttendNeXt widths, SQLite",
                    space_path=WIDTHS,
                    objectives=["a72_latency", "params", "naswot"],
                    storage=f"sqlite:///{tmp}/b.db",
                    evaluator_options={"batch": 8},
                    **common,
                )
            )
        except ImportError:
            print("torch not installed: no proxy measurement", file=sys.stderr)
        from tests.postgres import find_bindir, start_cluster

        if find_bindir() is None:
            print("no PostgreSQL server binaries: no worker measurement", file=sys.stderr)
        else:
            cluster = start_cluster()
            try:
                for workers in (1, 2):
                    rows.append(
                        timed(
                            f"a72 + params, tiny space, PostgreSQL, {workers} worker(s)",
                            space_path=TINY,
                            objectives=["a72_latency", "params"],
                            storage=cluster.url,
                            study=f"w{workers}",
                            trials=args.pg_trials,
                            seed=0,
                            workers=workers,
                        )
                    )
            finally:
                cluster.stop()
    pg = {r["label"]: r for r in rows if "PostgreSQL" in r["label"]}
    one = next((r for k, r in pg.items() if "1 worker" in k), None)
    two = next((r for k, r in pg.items() if "2 worker" in k), None)
    speedup = round(one["trials_span_s"] / two["trials_span_s"], 2) if one and two else None
    speedup_wall = round(one["wall_s"] / two["wall_s"], 2) if one and two else None
    data = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg": os.getloadavg()},
        "rows": rows,
        "speedup_2_workers_postgresql": speedup,
        "speedup_2_workers_postgresql_wall": speedup_wall,
    }
    OUT.with_suffix(".json").write_text(json.dumps(data, indent=2) + "\n")
    lines = [
        "# `archdsl explore` speed",
        "",
        f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end "
        "(a shared machine: the numbers move with the load). `python benchmarks/explore_speed.py`.",
        "",
        "| run | trials | evaluated | feasible | wall (s) | first trial to last (s) | trials/min | evaluated/min |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['trials']} | {r['evaluated']} | {r['feasible']} | {r['wall_s']} | "
            f"{r['trials_span_s']} | "
            f"{r['trials_per_min']} | {r['evaluated_per_min']} |"
        )
    lines += [
        "",
        f"Speed-up of 2 workers over 1 on PostgreSQL (same trials, first trial to last): **{speedup}×** "
        f"({speedup_wall}× in wall time, which includes starting the worker processes).",
        "Trials/min are over the span from the first trial's start to the last one's end (the storage's timestamps).",
        "",
    ]
    OUT.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

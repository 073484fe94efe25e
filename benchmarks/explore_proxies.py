"""How well do the zero-cost proxies rank designs? Spearman correlation of each proxy with the
short-training accuracy, over designs sampled from a parametrised net; and the seconds one proxy
evaluation of AttendNeXt costs here.

    nice -n 10 python benchmarks/explore_proxies.py             # writes benchmarks/results/explore_proxies.{json,md}
    python benchmarks/explore_proxies.py --designs 8 --steps 100 --out /tmp/quick   # a smoke run

Designs: ``--designs`` points (default 20) drawn with numpy's PCG64 (``--seed``) from the space of
benchmarks/proxy_space.arch (widths 4-32 per stage, depths 1-3, kernel 3 or 5, ReLU/SiLU/
hardswish), each resolved through the resolver with the drawn values as overrides (what
``archdsl ... -p NAME=VALUE`` does). For each: NASWOT, synflow and ZiCo with their default options (the
seeded initialisation), the parameter count and MACs (the classic baselines a proxy has to beat),
and the ``train`` evaluator's held-out top-1 on scikit-learn's digits (``--steps`` AdamW steps,
``--batch`` images each). The proxies are *proxies*: the table says how far they track the short-training
accuracy, itself only an estimate of a fully trained net's.

Timing: the three proxies on specs/attendnext.arch (224x224, evaluated at their default reduced
resolution), median of 3 after one warm-up, with the machine's load average beside it (this
machine's 2 cores are shared; the load makes the numbers vary).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import archdsl
from archdsl.bench.stats import spearman
from archdsl.evaluators import load_evaluator

ROOT = Path(__file__).resolve().parent.parent
SPACE = ROOT / "benchmarks" / "proxy_space.arch"
ATTENDNEXT = ROOT / "specs" / "attendnext.arch"

WIDTHS = [4, 8, 12, 16, 24, 32]
CHOICES = {"d1": [1, 2, 3], "d2": [1, 2, 3], "d3": [1, 2, 3], "k": [3, 5], "act": ["relu", "silu", "hardswish"]}
PROXIES = ("naswot", "synflow", "zico")


def sample(rng: np.random.Generator) -> dict:
    w = sorted(int(x) for x in rng.choice(WIDTHS, size=3))  # widths grow with depth, as in any backbone
    point = {"w1": w[0], "w2": w[1], "w3": w[2]}
    for name, values in CHOICES.items():
        v = values[int(rng.integers(len(values)))]
        point[name] = v if isinstance(v, str) else int(v)
    return point


def time_attendnext(repeats: int = 3) -> dict:
    g = archdsl.load(ATTENDNEXT)
    out = {}
    for name in PROXIES:
        ev = load_evaluator(name)
        ev.evaluate(g, seed=0)  # warm-up: imports, the first allocation
        times, cpu = [], []
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            ev.evaluate(g, seed=0)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        out[name] = {
            "median_s": statistics.median(times),
            "median_cpu_s": statistics.median(cpu),
            "runs_s": times,
            "options": "defaults",
        }
    return out


def finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=20)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "explore_proxies")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    load_before = os.getloadavg()
    timing = time_attendnext()
    print("attendnext: " + ", ".join(f"{k} {v['median_s']:.2f} s" for k, v in timing.items()), file=sys.stderr)

    rng = np.random.default_rng(args.seed)
    rows = []
    train = load_evaluator("train")
    for i in range(args.designs):
        point = sample(rng)
        g = archdsl.load(SPACE, **point)
        row = {
            "design": i,
            "point": point,
            "params": sum(n.params for n in g.nodes),
            "macs": sum(n.macs for n in g.nodes),
        }
        for name in PROXIES:
            t = time.perf_counter()
            row[name] = load_evaluator(name).evaluate(g, seed=args.seed)
            row[f"{name}_s"] = time.perf_counter() - t
        t = time.perf_counter()
        row["accuracy"] = train.evaluate(g, seed=args.seed, options={"steps": args.steps, "batch": args.batch})
        row["train_s"] = time.perf_counter() - t
        rows.append(row)
        print(
            f"{i:3d} {point} acc {row['accuracy']:.3f} naswot {row['naswot']:.1f} synflow {row['synflow']:.1f}",
            file=sys.stderr,
        )

    acc = [r["accuracy"] for r in rows]
    corr = {name: spearman([r[name] for r in rows], acc) for name in (*PROXIES, "params", "macs")}
    result = {
        "benchmark": "explore_proxies",
        "space": str(SPACE.relative_to(ROOT)),
        "designs": args.designs,
        "train": {"data": "digits", "steps": args.steps, "batch": args.batch, "optimizer": "adamw", "resolution": 8},
        "seed": args.seed,
        "spearman_with_accuracy": corr,
        "attendnext_seconds": timing,
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "total_s": time.perf_counter() - started,
        "rows": [{k: finite(v) if isinstance(v, float) else v for k, v in r.items()} for r in rows],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    return 0


def markdown(r: dict) -> str:
    c = r["spearman_with_accuracy"]
    t = r["attendnext_seconds"]
    lines = [
        "# Zero-cost proxies against short-training accuracy",
        "",
        f"{r['designs']} designs of `{r['space']}` (seed {r['seed']}); accuracy: the `train` evaluator, "
        f"{r['train']['steps']} AdamW steps (batch {r['train']['batch']}) on scikit-learn's digits, held-out top-1. "
        "Proxies are proxies: they rank designs at initialisation, without training.",
        "",
        "| score | Spearman ρ with accuracy |",
        "|---|---|",
    ]
    names = {
        "naswot": "NASWOT (proxy)",
        "synflow": "synflow (proxy)",
        "zico": "ZiCo (proxy)",
        "params": "parameters",
        "macs": "MACs",
    }
    lines += [f"| {names[k]} | {v:+.3f} |" for k, v in c.items()]
    lines += [
        "",
        f"Accuracy range: {min(x['accuracy'] for x in r['rows']):.3f}-{max(x['accuracy'] for x in r['rows']):.3f}.",
        "",
        "Seconds per evaluation of specs/attendnext.arch (default options; median of 3; "
        f"load average {r['load_average']['before'][0]:.1f} on {r['machine']['cpus']} CPUs):",
        "",
        "| proxy | wall seconds | CPU seconds (one thread: an idle machine's wall time) |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {v['median_s']:.2f} | {v['median_cpu_s']:.2f} |" for k, v in t.items()]
    lines += ["", f"Total run time: {r['total_s']:.0f} s.", "", "## The designs", ""]
    lines += [
        "| # | w1 w2 w3 | d1 d2 d3 | k | act | params | accuracy | NASWOT | synflow | ZiCo |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for x in r["rows"]:
        p = x["point"]

        def cell(v):
            return "-inf" if v is None else f"{v:.1f}"

        lines.append(
            f"| {x['design']} | {p['w1']} {p['w2']} {p['w3']} | {p['d1']} {p['d2']} {p['d3']} | {p['k']} | {p['act']} "
            f"| {x['params']:,} | {x['accuracy']:.3f} | {cell(x.get('naswot'))} | {cell(x.get('synflow'))} "
            f"| {cell(x.get('zico'))} |"
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

"""Wall time of `archdsl lint` on all of specs/, against `python -c pass`.

Times, as separate processes (the way pre-commit and CI run it), the median of N runs each:
  * `python -c pass` (the floor: starting the interpreter);
  * `python -c "import archdsl.cli"` (importing the CLI and its light dependencies);
  * `archdsl check specs/` (parse, resolve and shape-check every net: what lint starts with);
  * `archdsl lint specs/` with every rule, in the text and SARIF formats;
  * `archdsl lint specs/attendnext.arch` (one file, as a pre-commit hook sees it);
and, in-process, the lint engine alone on specs/ (no interpreter start, no imports).
Writes benchmarks/results/lint_speed.txt. Run: python benchmarks/lint_speed.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "lint_speed.txt"


def run_once(cmd: list[str]) -> tuple[float, int]:
    env = {**os.environ, "NO_COLOR": "1"}
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True).returncode
    return time.perf_counter() - t0, rc


def engine(repeats: int) -> float:
    from archdsl.rules.engine import Linter

    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        Linter(isolated=True).lint_paths([ROOT / "specs"])
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--output", type=Path, default=OUT)
    args = ap.parse_args()
    py = sys.executable
    specs = sorted((ROOT / "specs").rglob("*.arch"))
    cases = [
        ("python -c pass", [py, "-c", "pass"]),
        ("python -c 'import archdsl.cli'", [py, "-c", "import archdsl.cli"]),
        ("archdsl check specs/*", [py, "-m", "archdsl", "check", "-q", *map(str, specs)]),
        ("archdsl lint specs/ (text)", [py, "-m", "archdsl", "lint", "--isolated", "specs/"]),
        (
            "archdsl lint specs/ --format sarif",
            [py, "-m", "archdsl", "lint", "--isolated", "specs/", "--format", "sarif"],
        ),
        ("archdsl lint specs/attendnext.arch", [py, "-m", "archdsl", "lint", "--isolated", "specs/attendnext.arch"]),
    ]
    load0 = os.getloadavg()[0]
    # round-robin, so that a burst of other work on the machine hits every case alike
    times: dict[str, list[float]] = {label: [] for label, _ in cases}
    codes: dict[str, int] = {}
    for _ in range(args.repeats):
        for label, cmd in cases:
            t, codes[label] = run_once(cmd)
            times[label].append(t)
    rows = [(label, statistics.median(times[label]), min(times[label]), codes[label]) for label, _ in cases]
    base = rows[0][1]
    for label, med, best, rc in rows:
        print(f"{label:40} median {med * 1000:7.1f} ms  min {best * 1000:7.1f} ms  exit {rc}", flush=True)
    eng = engine(args.repeats)
    nets = sum(1 for p in specs for line in p.read_text().splitlines() if line.startswith("net "))
    lines = [
        "archdsl lint speed (benchmarks/lint_speed.py)",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}",
        f"specs/: {len(specs)} files, {nets} nets; {args.repeats} runs each (cases interleaved), "
        "wall time of a separate process; "
        f"load average before/after: {load0:.2f}/{os.getloadavg()[0]:.2f} (other work on the machine inflates "
        "the medians; the minima are the better estimate)",
        "",
        f"{'command':40} {'median':>10} {'min':>10} {'- python -c pass':>17}  exit",
    ]
    for label, med, best, rc in rows:
        lines.append(f"{label:40} {med * 1000:8.1f}ms {best * 1000:8.1f}ms {(med - base) * 1000:15.1f}ms  {rc}")
    lines += [
        "",
        f"lint engine in-process on specs/ (parse, resolve, all rules; no start-up): {eng * 1000:.1f} ms",
        "exit 1 of lint on specs/: the baselines break the AttendNeXt rules by design.",
    ]
    text = "\n".join(lines) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Start-up of every `archdsl` command against the bare interpreter, interleaved, in one run.

Each round runs, in turn, `python -c pass` (the floor: the same interpreter starting and exiting),
then every command below once; after all rounds each command's median wall time is reported, as
milliseconds and as a multiple of the floor measured in the same rounds. Interleaving makes the
ratio robust on a shared, loaded machine (a burst of load hits the floor and the command alike);
quote the ratios, and the load average the report records.

The commands are run through the ``archdsl`` console script installed beside ``--python`` (what
users run; ``python -m archdsl`` when there is none). For the numbers of issue 16 use a
non-editable install with byte-code compiled (an editable install adds its import hook's cost)::

    python -m venv .venv-wheel && .venv-wheel/bin/pip install -c constraints.txt dist/archdsl-*.whl
    python benchmarks/cli_speed.py --python .venv-wheel/bin/python

Two installs are compared in the same rounds with ``--python OLD --label before --python NEW
--label after``. Writes benchmarks/results/cli_speed.{md,json} (``--out NAME`` for another stem).
Run: python benchmarks/cli_speed.py [--python PY [--label L]]... [--repeats N] [--only LABEL...] [--out NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

# (label, argv after `archdsl`); {spec} is specs/attendnext.arch, {tmp} a scratch folder
COMMANDS: list[tuple[str, list[str]]] = [
    ("--version", ["--version"]),
    ("--help", ["--help"]),
    ("check attendnext", ["check", "-q", "specs/attendnext.arch"]),
    ("lint specs/", ["lint", "specs/"]),
    ("lint attendnext", ["lint", "specs/attendnext.arch"]),
    ("fmt --check attendnext", ["fmt", "--check", "specs/attendnext.arch"]),
    ("show attendnext", ["show", "specs/attendnext.arch"]),
    ("rules", ["rules"]),
    ("backends", ["backends"]),
    ("schema", ["schema"]),
    ("check --help", ["check", "--help"]),
    ("compile --help", ["compile", "--help"]),
    ("fmt --help", ["fmt", "--help"]),
    ("lint --help", ["lint", "--help"]),
    ("rule --help", ["rule", "--help"]),
    ("lsp --help", ["lsp", "--help"]),
    ("render --help", ["render", "--help"]),
    ("report --help", ["report", "--help"]),
    ("show --help", ["show", "--help"]),
    ("bench --help", ["bench", "--help"]),
    ("bench run --help", ["bench", "run", "--help"]),
]

TARGETS_MS = {"--version": 100, "--help": 100, "check attendnext": 150, "lint specs/": 300}
TARGETS_X = {"check attendnext": 8}


def launcher(python: Path) -> list[str]:
    script = python.parent / ("archdsl.exe" if os.name == "nt" else "archdsl")
    return [str(script)] if script.exists() else [str(python), "-m", "archdsl"]


def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True).returncode
    return time.perf_counter() - t0, rc


def measure(pythons: list[Path], repeats: int, commands: list[tuple[str, list[str]]]) -> dict:
    """Interleaved rounds: the floor (the first interpreter's ``-c pass``), then each command under
    each install in turn. Several installs (``--python`` twice: before and after a change) are
    compared in the same rounds."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    bases = [launcher(py) for py in pythons]
    floor = [str(pythons[0]), "-c", "pass"]
    floor_t: list[float] = []
    times: dict[tuple[int, str], list[float]] = {}
    codes: dict[tuple[int, str], int] = {}
    for base in bases:  # byte-code compiled, caches warm
        for _label, argv in [("warm-up", ["--version"]), *commands]:
            run_once([*base, *argv], env)
    for _ in range(repeats):
        floor_t.append(run_once(floor, env)[0])
        for label, argv in commands:
            for i, base in enumerate(bases):
                t, rc = run_once([*base, *argv], env)
                times.setdefault((i, label), []).append(t)
                codes[(i, label)] = rc
    floor_ms = 1e3 * statistics.median(floor_t)
    rows = [{"command": "python -c pass", "installs": [{"median_ms": round(floor_ms, 1), "x_bare": 1.0, "rc": 0}]}]
    for label, _ in commands:
        cells = []
        for i in range(len(bases)):
            ms = 1e3 * statistics.median(times[(i, label)])
            cells.append({"median_ms": round(ms, 1), "x_bare": round(ms / floor_ms, 1), "rc": codes[(i, label)]})
        rows.append({"command": label, "installs": cells})
    return {
        "pythons": [str(p) for p in pythons],
        "launchers": [" ".join(b) for b in bases],
        "repeats": repeats,
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
        "cpus": os.cpu_count(),
        "rows": rows,
    }


def markdown(res: dict, labels: list[str]) -> str:
    n = len(res["launchers"])
    launchers = "; ".join(f"{lab}: `{lc}`" for lab, lc in zip(labels, res["launchers"], strict=True))
    out = [
        "# `archdsl` start-up, per command, against `python -c pass`",
        "",
        f"Launchers {launchers}; medians of {res['repeats']} interleaved rounds; "
        f"{res['machine']}, {res['cpus']} CPUs, load average at the end {res['load_average']}.",
        "",
        "| command | " + " | ".join(f"{lab} ms | {lab} ×" for lab in labels) + " | exit | target |",
        "|---|" + "---:|---:|" * n + "---:|---|",
    ]
    for r in res["rows"]:
        c = r["command"]
        tgt = []
        if c in TARGETS_MS:
            tgt.append(f"≤ {TARGETS_MS[c]} ms")
        if c in TARGETS_X:
            tgt.append(f"≤ {TARGETS_X[c]}×")
        name = c if c == "python -c pass" else f"archdsl {c}"
        cells = r["installs"] + [r["installs"][0]] * (n - len(r["installs"]))
        nums = " | ".join(f"{x['median_ms']:.1f} | {x['x_bare']:.1f}" for x in cells)
        out.append(f"| `{name}` | {nums} | {r['installs'][-1]['rc']} | {', '.join(tgt)} |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--python", type=Path, action="append", help="the interpreter of an install to time (twice: compare two)"
    )
    ap.add_argument("--label", action="append", help="a name for each --python (default: the install's folder)")
    ap.add_argument("--repeats", type=int, default=9, help="interleaved rounds (at least 7 for the report)")
    ap.add_argument("--out", default="cli_speed", help="stem of the result files in benchmarks/results/")
    ap.add_argument("--only", action="append", help="a label of a command to time (repeat; default: all)")
    args = ap.parse_args()
    commands = [c for c in COMMANDS if not args.only or c[0] in args.only]
    pythons = [p.absolute() for p in (args.python or [Path(sys.executable)])]
    labels = args.label or [p.parent.parent.name for p in pythons]
    with tempfile.TemporaryDirectory():
        res = measure(pythons, args.repeats, commands)
    res["labels"] = labels
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(res, indent=2) + "\n")
    text = markdown(res, labels)
    (RESULTS / f"{args.out}.md").write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()

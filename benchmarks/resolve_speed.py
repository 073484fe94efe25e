"""The resolver's speed before and after a change, interleaved in one run (issue 16).

Measures, in a fresh interpreter per round, for the code on ``sys.path`` and for a baseline tree
(``--baseline DIR``: a copy of an older ``archdsl`` package, e.g. ``git archive <commit> archdsl |
tar -x -C DIR``), the rounds alternating so that both see the same machine load:

  * one design-space point: AttendNeXt loaded once, then ``Resolver(program).resolve(net,
    overrides=...)`` with new width/depth values (the explorer's inner loop), median of 30 points;
  * generated specs (``core_speed.generated_spec``) of 1,000 / 5,000 / 20,000 lines: the resolve
    alone (program loaded once), load + resolve (what ``archdsl check`` does in process), and load +
    resolve + analyse, in µs per line (flat = linear), and the time the garbage collector took
    inside them (a collection put off by one phase is paid, and counted, in a later one).

Times are CPU seconds of the process (``time.process_time``), less disturbed by other work on a
shared machine than wall time; the load average is printed. Writes
benchmarks/results/<out>.txt and .json. Run:
    python benchmarks/resolve_speed.py --baseline /tmp/base [--rounds 3] [--quick] [--out resolve_speed]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1_000, 5_000, 20_000)

ROUND = r"""
import gc, json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from core_speed import generated_spec, _raise_token_limit
import archdsl
from archdsl.analysis import summarize
from archdsl.resolve import Resolver, default_net, load_program
from archdsl.syntax.parser import count_tokens
from pathlib import Path
gc_time = [0.0, 0.0]
def _cb(phase, info):
    if phase == "start":
        gc_time[1] = time.process_time()
    else:
        gc_time[0] += time.process_time() - gc_time[1]
gc.callbacks.append(_cb)
out = {"src": archdsl.__file__}
prog = load_program(Path(sys.argv[2]) / "specs" / "attendnext.arch")
Resolver(prog).resolve("attendnext")
ts = []
for i in range(30):
    point = {"width": 0.5 + 0.5 * (i % 10) / 9, "depth": 1.0 if i % 2 else 0.75}
    t0 = time.process_time()
    Resolver(prog).resolve("attendnext", overrides=point)
    ts.append(time.process_time() - t0)
out["point_ms"] = 1e3 * statistics.median(ts)
for n in json.loads(sys.argv[4]):
    p = Path(sys.argv[3]) / f"gen{n}.arch"
    if not p.exists():
        p.write_text(generated_spec(n))
    _raise_token_limit(max(50_000, count_tokens(p.read_text(), 10**9)[0] + 1))
    row = {}
    for what in ("resolve", "check", "pipeline"):
        prog = load_program(p) if what == "resolve" else None
        gc.collect()
        gc_time[0] = 0.0
        t0 = time.process_time()
        if what != "resolve":
            prog = load_program(p)
        g = Resolver(prog).resolve(default_net(prog, p.stem))
        if what == "pipeline":
            summarize(g, depth=2)
        row[what + "_us_per_line"] = 1e6 * (time.process_time() - t0) / n
        row[what + "_gc_ms"] = 1e3 * gc_time[0]
        del g, prog
    out[str(n)] = row
print(json.dumps(out))
"""


def one_round(pythonpath: str | None, sizes: tuple[int, ...], tmp: str) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    else:
        env.pop("PYTHONPATH", None)
    cmd = [sys.executable, "-c", ROUND, str(ROOT / "benchmarks"), str(ROOT), tmp, json.dumps(list(sizes))]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=tmp)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", required=True, help="a folder holding the baseline's archdsl package")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="no 20,000-line spec")
    ap.add_argument("--out", default="resolve_speed")
    args = ap.parse_args()
    sizes = SIZES[:2] if args.quick else SIZES
    load0 = os.getloadavg()
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            runs["before"].append(one_round(str(Path(args.baseline).resolve()), sizes, tmp))
            runs["after"].append(one_round(None, sizes, tmp))
    load1 = os.getloadavg()
    med = {k: {} for k in runs}
    for k, rs in runs.items():
        med[k]["point_ms"] = statistics.median(r["point_ms"] for r in rs)
        for n in sizes:
            for f in rs[0][str(n)]:
                med[k][f"{n}:{f}"] = statistics.median(r[str(n)][f] for r in rs)
    lines = [
        f"resolver speed, before (baseline {args.baseline}) and after, {args.rounds} interleaved rounds, "
        "median; CPU time of the process",
        "",
        f"{'':34} {'before':>9} {'after':>9} {'after/before':>13}",
    ]

    def row(label: str, key: str, unit: str) -> None:
        b, a = med["before"][key], med["after"][key]
        lines.append(f"{label:34} {b:>8.1f}{unit} {a:>8.1f}{unit} {a / b if b else float('nan'):>13.2f}")

    row("one AttendNeXt point (ms)", "point_ms", " ")
    titles = {
        "resolve": "resolve of a generated spec (program loaded once)",
        "check": "check of a generated spec (load + resolve, as archdsl check does)",
        "pipeline": "load + resolve + analyse (summarize, depth 2) of a generated spec",
    }
    for what, title in titles.items():
        lines += ["", title]
        for n in sizes:
            row(f"  {n:>6} lines: µs/line", f"{n}:{what}_us_per_line", " ")
            row(f"  {n:>6} lines: of it in the gc, ms", f"{n}:{what}_gc_ms", " ")
    lines.append("")
    lines.append(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
        f"load average before {load0[0]:.2f}, after {load1[0]:.2f}"
    )
    text = "\n".join(lines) + "\n"
    out = ROOT / "benchmarks" / "results" / args.out
    out.with_suffix(".txt").write_text(text)
    out.with_suffix(".json").write_text(
        json.dumps({"runs": runs, "median": med, "load_average": [load0, load1]}, indent=2) + "\n"
    )
    print(text, end="")


if __name__ == "__main__":
    main()

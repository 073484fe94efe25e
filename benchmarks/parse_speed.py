"""Speed of the syntax layer: parsing a generated 5,000-line spec, and the start-up of the parser.

Each measurement runs in a fresh interpreter, the trees compared interleaved round by round (a
burst of load on a shared machine hits them alike):
  * ``parse``: ``parse_text`` of ``generated_spec(5000)`` (benchmarks/core_speed.py), best of 5 in
    the process, CPU time; and the microseconds per token;
  * ``import``: the wall time of ``import archdsl.syntax.parser``, and ``first``: the first
    ``parse_text`` of specs/attendnext.arch after it (the tables loaded, the lexers compiled);
  * ``python -c pass`` in the same rounds, for scale;
  * in this tree, Lark's own path (its tree, then the walk: ``build_ast(parse_tree(...))``), the
    reference that tests/test_parser_lalr.py compares with.
``--baseline DIR`` adds another checkout (e.g. ``git worktree add /tmp/base main``) as "before".
Writes benchmarks/results/parse_speed.txt (or ``--out NAME``).
Run: python benchmarks/parse_speed.py [--baseline DIR] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PARSE = r"""
import json, sys, time
sys.path.insert(0, "benchmarks")
from core_speed import generated_spec
from archdsl.syntax import parse_text
from archdsl.syntax.parser import count_tokens
text = generated_spec(5000)
parse_text(text)
times = []
for _ in range(5):
    t = time.process_time()
    parse_text(text)
    times.append(time.process_time() - t)
best = min(times)
lark = None
if sys.argv[1] == "lark":
    from archdsl.syntax.parser import build_ast, parse_tree
    from archdsl.diagnostics import normalize_source
    src = normalize_source(text)
    t = time.process_time(); build_ast(parse_tree(src), src, "g.arch"); lark = time.process_time() - t
print(json.dumps({"parse": best, "tokens": count_tokens(text, 10**9)[0], "lark": lark}))
"""

START = r"""
import json, time
t0 = time.perf_counter()
import archdsl.syntax.parser as P
t1 = time.perf_counter()
P.parse_text(open("specs/attendnext.arch", encoding="utf-8").read(), "a.arch")
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first": t2 - t1}))
"""


def _run(tree: Path, code: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    r = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=tree, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(r.stdout)


def _bare() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="another checkout, measured as 'before'")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default="parse_speed.txt")
    args = ap.parse_args()
    trees = {"this tree": ROOT}
    if args.baseline:
        trees = {"before": args.baseline.resolve(), "after": ROOT}
    rows: dict[str, dict[str, list]] = {k: {"parse": [], "import": [], "first": [], "lark": []} for k in trees}
    bare: list[float] = []
    tokens = 0
    loads = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        bare.append(_bare())
        for name, tree in trees.items():
            p = _run(tree, PARSE, "lark" if tree == ROOT else "")
            tokens = p["tokens"]
            rows[name]["parse"].append(p["parse"])
            if p["lark"] is not None:
                rows[name]["lark"].append(p["lark"])
            for _ in range(3):
                s = _run(tree, START)
                rows[name]["import"].append(s["import"])
                rows[name]["first"].append(s["first"])
        loads.append(os.getloadavg()[0])
    med = statistics.median
    lines = [
        f"syntax layer speed, python {sys.version.split()[0]}, {args.rounds} interleaved rounds, medians",
        f"load average (1 min) during the run: {min(loads):.1f}-{max(loads):.1f} (2 cores shared: ratios mean more"
        " than milliseconds)",
        f"generated 5,000-line spec: {tokens:,} tokens; `python -c pass`: {1e3 * med(bare):.1f} ms",
        "",
        f"{'tree':<10} {'parse 5k lines':>15} {'us/token':>9} {'import parser':>14} {'first parse':>12}",
    ]
    for name, r in rows.items():
        p = med(r["parse"])
        lines.append(
            f"{name:<10} {1e3 * p:>12.0f} ms {1e6 * p / tokens:>9.1f} {1e3 * med(r['import']):>11.1f} ms"
            f" {1e3 * med(r['first']):>9.1f} ms"
        )
    here = rows["after" if args.baseline else "this tree"]
    if here["lark"]:
        lark = med(here["lark"])
        lines.append(f"{'Lark path':<10} {1e3 * lark:>12.0f} ms {1e6 * lark / tokens:>9.1f}   (Lark's tree + the walk)")
    if args.baseline:
        b, a = rows["before"], rows["after"]
        lines.append("")
        lines.append(
            f"after vs before: parse {med(b['parse']) / med(a['parse']):.2f}x faster, import"
            f" {med(b['import']) / med(a['import']):.2f}x, first parse {med(b['first']) / med(a['first']):.2f}x"
        )
    text = "\n".join(lines) + "\n"
    out = ROOT / "benchmarks" / "results" / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()

"""Start-up cost of the parser: loading the shipped parse tables vs building them from the grammar.

archdsl ships the LALR tables as JSON (grammars/arch_tables.json, see archdsl/syntax/tables.py)
instead of using Lark's pickle cache in the temp folder. This measures, in fresh interpreters so
nothing is warm, the median time to get a ready parser (and to parse specs/attendnext.arch with it)
both ways. Writes benchmarks/results/parser_load.txt. Run: python benchmarks/parser_load.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "parser_load.txt"

CHILD = r"""
import json, sys, time
import lark  # imported before the clock starts: both ways need it
from archdsl.syntax import tables
from archdsl_grammars import grammar_text
text = open(sys.argv[2], encoding="utf-8").read()
t0 = time.perf_counter()
if sys.argv[1] == "tables":
    parser = tables.make_parser()
    assert tables.loaded_from == "tables"
else:
    parser = tables.build_parser(grammar_text())
t1 = time.perf_counter()
parser.parse(text)
t2 = time.perf_counter()
print(json.dumps({"make": t1 - t0, "first_parse": t2 - t1}))
"""


def measure(way: str, repeats: int) -> dict[str, float]:
    spec = str(ROOT / "specs" / "attendnext.arch")
    runs = []
    for _ in range(repeats):
        cmd = [sys.executable, "-c", CHILD, way, spec]
        r = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
        runs.append(json.loads(r.stdout))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    rows = {way: measure(way, repeats) for way in ("tables", "built")}
    lines = [
        f"parser start-up, median of {repeats} fresh interpreters (python {sys.version.split()[0]})",
        f"{'way':<8} {'make parser':>12} {'first parse':>12}",
    ]
    for way, r in rows.items():
        lines.append(f"{way:<8} {1000 * r['make']:>10.1f} ms {1000 * r['first_parse']:>9.1f} ms")
    lines.append(f"speed-up of making the parser: {rows['built']['make'] / rows['tables']['make']:.1f}x")
    text = "\n".join(lines) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()

"""Resolving points of a search space: milliseconds per point, against parsing the spec per point.

``archdsl.space.load_space`` parses a spec (its imports and the standard library) once; each
``LoadedSpace.resolve(point)`` is then the resolver's work alone. This measures, for the example
space over AttendNeXt (specs/spaces/attendnext_widths.arch) and the small structural space of the
tests (tests/fixtures/spaces/tiny.arch): the one-time load, the median ms per point over seeded
random points, and, for comparison, ``archdsl.load`` of the net per point (parse + resolve each
time). Writes benchmarks/results/space_resolve.txt. Run: python benchmarks/space_resolve.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archdsl  # noqa: E402
from archdsl.space import load_space  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "space_resolve.txt"
SPACES = [ROOT / "specs" / "spaces" / "attendnext_widths.arch", ROOT / "tests" / "fixtures" / "spaces" / "tiny.arch"]


def measure(path: Path, points: int, seed: int = 0) -> dict:
    t0 = time.perf_counter()
    loaded = load_space(path)
    load = time.perf_counter() - t0
    rng = random.Random(seed)
    pts = [loaded.space.sample(rng) for _ in range(points)]
    per, ops = [], []
    for p in pts:
        t = time.perf_counter()
        g = loaded.resolve(p)
        per.append(time.perf_counter() - t)
        ops.append(len(g.nodes))
    reparse = []
    for p in pts[: max(3, points // 4)]:
        t = time.perf_counter()
        archdsl.load(path, net=loaded.space.name, **p)
        reparse.append(time.perf_counter() - t)
    return {
        "space": str(path.relative_to(ROOT)),
        "load_ms": load * 1e3,
        "point_ms": statistics.median(per) * 1e3,
        "point_ms_max": max(per) * 1e3,
        "reparse_ms": statistics.median(reparse) * 1e3,
        "ops": statistics.median(ops),
        "points": points,
    }


def main() -> None:
    rows = [measure(p, 20) for p in SPACES]
    lines = [
        f"search-space points resolved, python {sys.version.split()[0]}; median of seeded random points "
        "(machine load not controlled)",
        f"{'space':44} {'load':>9} {'per point':>10} {'max':>9} {'re-parse':>9} {'ops':>5}",
    ]
    for r in rows:
        lines.append(
            f"{r['space']:44} {r['load_ms']:7.0f}ms {r['point_ms']:8.1f}ms {r['point_ms_max']:7.1f}ms "
            f"{r['reparse_ms']:7.0f}ms {r['ops']:5.0f}"
        )
    lines.append("re-parse: archdsl.load of the same point (parse + imports + resolve) each time, for comparison")
    text = "\n".join(lines) + "\n"
    OUT.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()

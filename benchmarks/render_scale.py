"""Speed of `archdsl render` on a net of 500 block instances.

Generates a spec of 10 stages, each a DC-AC followed by 49 bottleneck / conv_bn_act blocks (500
block instances, about 4,400 primitive ops), then times, separately:
  * loading (parse + resolve + shape check), for reference;
  * building the DOT text (the graphviz backend alone) at three settings: the default (blocks,
    identical repeats rolled up as ×N), blocks with every repeat expanded (500 boxes), and
    primitive ops expanded (every op a node);
  * Graphviz laying it out: `dot -Tsvg` on that DOT text (the real binary);
  * the whole command `archdsl render SPEC -o out.svg` as a user runs it (default settings).
Writes benchmarks/results/render_scale.txt. Run: python benchmarks/render_scale.py [--quick]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "render_scale.txt"


def generated_spec(stages: int = 10, per_stage: int = 49) -> str:
    """10 stages × (1 DC-AC + 49 blocks) = 500 block instances; widths vary so some do not roll up."""
    out = ["import std", "", "net scale500 {", "    input image [3, 224, 224]", "    stem = conv_bn_act(32, s = 2)"]
    for i in range(stages):
        c = 32 * (i + 1)
        down = " -> aads" if i in (2, 5, 8) else ""
        half = per_stage // 2
        out.append(
            f"    s{i} = dcac(groups = 4){down} -> bottleneck({c}, mid = {c // 2}, groups = 4) * {half}"
            f' -> conv_bn_act({c}, act = "silu") * {per_stage - half - 1} -> conv_bn_act({c + 16})'
        )
    out += ["    head = gap -> flatten -> linear(1000)", "}"]
    return "\n".join(out) + "\n"


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one repeat each, skip the ops-level layout")
    ap.add_argument("--output", type=Path, default=OUT)
    args = ap.parse_args()
    repeats = 1 if args.quick else 3

    from archdsl_backends.graphviz import RenderOptions, figure, render_dot

    import archdsl

    dot = shutil.which("dot")
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "scale500.arch"
        spec.write_text(generated_spec())
        t_load, graph = median_time(lambda: archdsl.load(spec), repeats)
        blocks = sum(1 for s in graph.scopes if s.kind == "block")
        rows = []
        settings = [
            ("blocks, rolled up (default)", RenderOptions()),
            ("blocks, --expand", RenderOptions(expand=True)),
            ("ops, --expand", RenderOptions(depth=3, expand=True)),
        ]
        for label, opts in settings:
            t_dot, text = median_time(lambda o=opts: render_dot(graph, o), repeats)
            fig = figure(graph, opts)
            n_boxes = sum(1 for _ in fig.boxes())
            n_clusters = sum(1 for _ in fig.clusters())
            t_layout = None
            if dot and not (args.quick and opts.depth == 3):
                t_layout, _ = median_time(
                    lambda t=text: subprocess.run([dot, "-Tsvg"], input=t.encode(), capture_output=True, check=True),
                    1 if opts.depth == 3 else repeats,
                )
            rows.append((label, n_boxes, n_clusters, len(fig.edges), t_dot, t_layout))

        cli = None
        if dot:
            out_svg = Path(tmp) / "out.svg"
            cmd = [sys.executable, "-m", "archdsl", "render", str(spec), "-o", str(out_svg), "-q"]
            cli, _ = median_time(lambda: subprocess.run(cmd, check=True, capture_output=True), repeats)

    dot_version = "absent"
    if dot:
        r = subprocess.run([dot, "-V"], capture_output=True, text=True)
        dot_version = (r.stderr or r.stdout).strip()
    lines = [
        f"# archdsl render on a generated net of {blocks} block instances, {len(graph.nodes)} ops",
        f"# {platform.processor() or platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {dot_version}; median of {repeats} (ops-level layout: 1 run)",
        "",
        f"load (parse + resolve + shapes): {t_load * 1000:8.1f} ms",
        "",
        f"{'setting':30} {'boxes':>6} {'clusters':>8} {'edges':>6} {'DOT ms':>8} {'dot -Tsvg ms':>13}",
    ]
    for label, nb, nc, ne, td, tl in rows:
        lay = f"{tl * 1000:13.1f}" if tl is not None else f"{'-':>13}"
        lines.append(f"{label:30} {nb:6d} {nc:8d} {ne:6d} {td * 1000:8.1f} {lay}")
    lines.append("")
    if cli is not None:
        lines.append(f"archdsl render SPEC -o out.svg (whole command, default settings): {cli * 1000:.0f} ms")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if not args.quick:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

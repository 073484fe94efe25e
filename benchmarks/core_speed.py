"""Speed of the language core: parse + resolve + analyse, its scaling, one design-space point,
and the start-up of `archdsl check`.

Compares, side by side in one run:
  * parse, resolve and summarise specs/attendnext.arch and a generated spec of about 5,000 lines;
  * the scaling series: generated specs of 1,000 / 5,000 / 20,000 lines, in process: parse,
    load + resolve (what `archdsl check` does), analyse, and lint (every rule, as `archdsl lint
    --isolated`); the microseconds per line show the slope (flat = linear). A 20,000-line spec has
    more tokens than a file may (E105, MAX_TOKENS): the limit is raised in this process only;
  * one point of a design space: AttendNeXt parsed and loaded once, then resolved again and again
    with new parameter values (`Resolver(program).resolve(net, overrides=...)`, the explorer's
    inner loop), median over the points;
  * the wall time of `archdsl check` against `python -c pass` (interpreter start-up), interleaved,
    so the ratio says what the tool adds.
Writes benchmarks/results/core_speed.txt and core_speed.json.
Run: python benchmarks/core_speed.py [--quick] [--repeats N] [--out NAME]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "core_speed.txt"
OUT_JSON = ROOT / "benchmarks" / "results" / "core_speed.json"
SCALING_LINES = (1_000, 5_000, 20_000)


def generated_spec(lines: int = 5000) -> str:
    """A valid spec of about `lines` lines: many blocks and a long net using them."""
    out = ["import std", ""]
    n_blocks = lines // 10
    for i in range(n_blocks):
        out += [
            f"# block {i}",
            f"block b{i}(c, k = 3) {{",
            "    a = conv(c, k = k) -> bn -> relu",
            "    b = a -> conv(c, k = 1) -> bn",
            "    add(a, b) -> relu",
            "}",
            "",
        ]
    out += ["net generated {", "    input image [16, 32, 32]"]
    for i in range(n_blocks):
        out.append(f"    s{i} = b{i}(16)")
    while len(out) < lines - 1:
        out.append(f"    t{len(out)} = conv(16) -> bn")
    out.append("}")
    return "\n".join(out) + "\n"


def time_pipeline(path: Path, repeats: int) -> dict[str, float]:
    from archdsl.analysis import summarize
    from archdsl.resolve import Resolver, default_net, load_program
    from archdsl.syntax import parse_text

    text = path.read_text()
    parse_t, resolve_t, analyse_t = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        parse_text(text, str(path))
        t1 = time.perf_counter()
        prog = load_program(path)
        g = Resolver(prog).resolve(default_net(prog, path.stem))
        t2 = time.perf_counter()
        summarize(g, depth=2)
        t3 = time.perf_counter()
        parse_t.append(t1 - t0)
        resolve_t.append(t2 - t1)
        analyse_t.append(t3 - t2)
    return {
        "lines": text.count("\n"),
        "ops": len(g.nodes),
        "parse_ms": 1e3 * statistics.median(parse_t),
        "load+resolve_ms": 1e3 * statistics.median(resolve_t),
        "analyse_ms": 1e3 * statistics.median(analyse_t),
    }


def _raise_token_limit(limit: int) -> None:
    """For the 20,000-line point only: the per-file and per-program token limits, in this process."""
    import archdsl.resolve.program as program
    import archdsl.syntax.parser as parser

    parser.MAX_TOKENS = limit
    program.MAX_PROGRAM_TOKENS = limit


def time_scaling(folder: Path, sizes: tuple[int, ...], repeats: int) -> list[dict]:
    """Parse, load + resolve (check), analyse and lint of generated specs of each size, in process."""
    from archdsl.analysis import summarize
    from archdsl.resolve import Resolver, default_net, load_program
    from archdsl.rules.engine import Linter
    from archdsl.syntax import parse_text
    from archdsl.syntax.parser import count_tokens

    rows = []
    for n in sizes:
        path = folder / f"gen{n}.arch"
        text = generated_spec(n)
        path.write_text(text)
        tokens, _ = count_tokens(text, 10**9)
        _raise_token_limit(max(50_000, tokens + 1))
        t = {"parse": [], "check": [], "analyse": [], "lint": []}
        for _ in range(repeats if n <= 5_000 else 1):
            t0 = time.perf_counter()
            parse_text(text, str(path))
            t1 = time.perf_counter()
            prog = load_program(path)
            g = Resolver(prog).resolve(default_net(prog, path.stem))
            t2 = time.perf_counter()
            summarize(g, depth=2)
            t3 = time.perf_counter()
            res = Linter(isolated=True).lint_paths([path])
            t4 = time.perf_counter()
            for k, a, b in (("parse", t0, t1), ("check", t1, t2), ("analyse", t2, t3), ("lint", t3, t4)):
                t[k].append(b - a)
        row = {"lines": text.count("\n"), "tokens": tokens, "ops": len(g.nodes)}
        row.update({f"{k}_ms": 1e3 * statistics.median(v) for k, v in t.items()})
        row["us_per_line"] = {k: 1e6 * statistics.median(v) / row["lines"] for k, v in t.items()}
        row["lint_findings"] = len(res.findings)
        rows.append(row)
    import archdsl.syntax.parser as parser

    _raise_token_limit(parser.MAX_TOKENS if parser.MAX_TOKENS == 50_000 else 50_000)
    return rows


def time_point(repeats: int) -> dict:
    """One design-space point: AttendNeXt re-resolved with new parameter values, program loaded once."""
    from archdsl.resolve import Resolver, load_program

    prog = load_program(ROOT / "specs" / "attendnext.arch")
    Resolver(prog).resolve("attendnext")  # warm: std library parsed, op validators built
    times = []
    for i in range(repeats):
        point = {"width": 0.5 + 0.5 * (i % 10) / 9, "depth": 1.0 if i % 2 else 0.75}
        t0 = time.perf_counter()
        g = Resolver(prog).resolve("attendnext", overrides=point)
        times.append(time.perf_counter() - t0)
    return {"points": repeats, "ops_last": len(g.nodes), "median_ms": 1e3 * statistics.median(times),
            "min_ms": 1e3 * min(times)}  # fmt: skip


def time_cmds(cmds: dict[str, list[str]], repeats: int) -> dict[str, float]:
    """Median wall ms of each command, run in interleaved rounds."""
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(repeats):
        for k, cmd in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            times[k].append(time.perf_counter() - t0)
    return {k: 1e3 * statistics.median(v) for k, v in times.items()}


def main() -> None:
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="no 20,000-line point")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each in-process measurement (median)")
    ap.add_argument("--out", default="core_speed", help="stem of the result files in benchmarks/results/")
    args = ap.parse_args()
    reps = args.repeats
    sizes = SCALING_LINES[:2] if args.quick else SCALING_LINES
    load0 = os.getloadavg()
    lines = []
    result: dict = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        gen = Path(tmp) / "generated.arch"
        gen.write_text(generated_spec())
        lines.append(f"{'spec':<22} {'lines':>6} {'ops':>6} {'parse ms':>9} {'load+resolve ms':>16} {'analyse ms':>11}")
        result["pipeline"] = {}
        for name, path, n in (
            ("attendnext.arch", ROOT / "specs" / "attendnext.arch", 20),
            ("generated (5k lines)", gen, reps),
        ):
            r = time_pipeline(path, n)
            result["pipeline"][name] = r
            lines.append(
                f"{name:<22} {r['lines']:>6} {r['ops']:>6} {r['parse_ms']:>9.1f} {r['load+resolve_ms']:>16.1f} "
                f"{r['analyse_ms']:>11.1f}"
            )
        scaling = time_scaling(Path(tmp), sizes, reps)
        result["scaling"] = scaling
        point = time_point(50)
        result["point"] = point
        script = Path(sys.executable).parent / "archdsl"  # the console script: the install's own code
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "archdsl"]
        base = time_cmds(
            {
                "python -c pass": [sys.executable, "-c", "pass"],
                "archdsl check specs/attendnext.arch": [*cmd, "check", "-q", "specs/attendnext.arch"],
                "archdsl check generated (5k lines)": [*cmd, "check", "-q", str(gen)],
            },
            reps,
        )
        result["commands_ms"] = base
    lines += ["", "scaling (in process; ms, and µs per line: flat = linear)"]
    lines.append(
        f"{'lines':>7} {'tokens':>7} {'ops':>6} {'parse':>8} {'check':>8} {'analyse':>8} {'lint':>8} | "
        f"{'µs/line: parse':>14} {'check':>6} {'lint':>6}"
    )
    for r in scaling:
        u = r["us_per_line"]
        lines.append(
            f"{r['lines']:>7} {r['tokens']:>7} {r['ops']:>6} {r['parse_ms']:>8.1f} {r['check_ms']:>8.1f} "
            f"{r['analyse_ms']:>8.1f} {r['lint_ms']:>8.1f} | {u['parse']:>14.1f} {u['check']:>6.1f} {u['lint']:>6.1f}"
        )
    lines += [
        "",
        f"design-space point (AttendNeXt, program loaded once, {point['points']} points with new width/depth)",
    ]
    lines.append(f"  resolve one point: median {point['median_ms']:.1f} ms, min {point['min_ms']:.1f} ms")
    lines.append("")
    lines.append(f"{'command':<46} {'median ms':>10} {'× python -c pass':>17}")
    for name, ms in base.items():
        lines.append(f"{name:<46} {ms:>10.1f} {ms / base['python -c pass']:>17.1f}")
    load1 = os.getloadavg()
    result["load_average"] = {"before": load0, "after": load1}
    lines.append("")
    lines.append(
        f"python {result['python']}, {result['cpus']} CPUs; load average before {load0[0]:.2f}, after {load1[0]:.2f}"
    )
    text = "\n".join(lines) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.with_name(f"{args.out}.txt").write_text(text)
    OUT_JSON.with_name(f"{args.out}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(text, end="")


if __name__ == "__main__":
    main()

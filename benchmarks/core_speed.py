"""Speed of the language core: parse + resolve + analyse, and the start-up of `archdsl check`.

Compares, side by side in one run:
  * parse, resolve and summarise specs/attendnext.arch and a generated spec of about 5,000 lines;
  * the wall time of `archdsl check specs/attendnext.arch` against `python -c pass` (interpreter
    start-up), so the ratio says what the tool adds.
Writes benchmarks/results/core_speed.txt. Run: python benchmarks/core_speed.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "core_speed.txt"


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


def time_cmd(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def main() -> None:
    import tempfile

    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        gen = Path(tmp) / "generated.arch"
        gen.write_text(generated_spec())
        lines.append(f"{'spec':<22} {'lines':>6} {'ops':>6} {'parse ms':>9} {'load+resolve ms':>16} {'analyse ms':>11}")
        for name, path, reps in (
            ("attendnext.arch", ROOT / "specs" / "attendnext.arch", 20),
            ("generated (5k lines)", gen, 3),
        ):
            r = time_pipeline(path, reps)
            lines.append(
                f"{name:<22} {r['lines']:>6} {r['ops']:>6} {r['parse_ms']:>9.1f} {r['load+resolve_ms']:>16.1f} "
                f"{r['analyse_ms']:>11.1f}"
            )
        base = time_cmd([sys.executable, "-c", "pass"], 10)
        check = time_cmd([sys.executable, "-m", "archdsl", "check", "-q", "specs/attendnext.arch"], 10)
        big = time_cmd([sys.executable, "-m", "archdsl", "check", "-q", str(gen)], 3)
    lines.append("")
    lines.append(f"{'command':<46} {'median ms':>10} {'× python -c pass':>17}")
    for name, ms in (
        ("python -c pass", base),
        ("archdsl check specs/attendnext.arch", check),
        ("archdsl check generated (5k lines)", big),
    ):
        lines.append(f"{name:<46} {ms:>10.1f} {ms / base:>17.1f}")
    text = "\n".join(lines) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()

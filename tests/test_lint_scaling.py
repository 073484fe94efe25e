"""Lint does work linear in the size of the spec: counted, not timed.

Each test lints a generated spec of size n and of size 4n and counts the Python lines executed in
the lint engine, its rules and the diagnostics renderer (``sys.settrace`` line events: the same
count on any machine, under any load). Linear work grows about 4x, quadratic work 16x; the bound
is 5x. The parser and the resolver are not counted (they are not lint's). C-level work that line
events cannot see (splitting a text) has its own probe. One generous wall-clock bound runs the
real command on a big spec, as a denial-of-service check.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import archdsl.diagnostics
import archdsl.rules
from archdsl.diagnostics import SourceMap, render_text
from archdsl.rules.engine import Linter
from archdsl.rules.reporting import render
from tests.conftest import ROOT

RULES_DIR = str(Path(archdsl.rules.__file__).resolve().parent)
DIAGNOSTICS = str(Path(archdsl.diagnostics.__file__).resolve())
GROWTH = 5.0  # allowed growth of the work for 4x the input (linear: about 4, quadratic: 16)


def _counted(filename: str) -> bool:
    return filename.startswith(RULES_DIR) or filename == DIAGNOSTICS


def line_events(fn: Callable[[], object]) -> int:
    """How many lines of lint code (archdsl/rules, archdsl/diagnostics.py) ``fn`` executes."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def global_(frame, event, arg):
        return local if _counted(frame.f_code.co_filename) else None

    old = sys.gettrace()
    sys.settrace(global_)
    try:
        fn()
    finally:
        sys.settrace(old)
    return count


def lint_work(tmp_path: Path, text: str, formats=("text",), name: str = "big.arch") -> int:
    """Line events of linting ``text`` (every rule, noqa applied) and rendering the report."""
    path = tmp_path / name
    path.write_text(text)

    def run():
        result = Linter(isolated=True).lint_paths([path])
        assert not result.spec_errors, result.spec_errors
        for fmt in formats:
            render(result, fmt)

    run()  # warm caches (the standard library's parse, imports) outside the count
    return line_events(run)


def assert_linear(tmp_path: Path, make: Callable[[int], str], n: int, formats=("text",)) -> None:
    small = lint_work(tmp_path, make(n), formats)
    big = lint_work(tmp_path, make(4 * n), formats)
    assert big <= GROWTH * small, f"4x the input cost {big / small:.1f}x the work ({small:,} -> {big:,} lines)"


# ---- generated specs ----------------------------------------------------------------------------


def many_blocks(n: int) -> str:
    """n block definitions, one used: n - 1 AS301 findings to merge, suppress, sort and render."""
    blocks = "\n".join(f"block b{i}(c) {{\n    conv(c, k = 3) -> bn -> relu\n}}" for i in range(n))
    return f"import std\n\n{blocks}\n\nnet big {{\n    input image [3, 32, 32]\n    stem = b0(16)\n}}\n"


def many_variants(n: int) -> str:
    """A base net and n variants of it (n nets in one extends family)."""
    variants = "\n".join(f"net v{i}(extra{i} = 1) extends base(width = {i % 3 + 1})" for i in range(n))
    base = (
        "net base(width = 1, unused = 2) {\n    input image [3, 16, 16]\n    meta { max_params = 10 }\n"
        "    stem = conv(8 * width, k = 3)\n}\n"
    )
    return base + variants + "\n"


def variant_chain(n: int) -> str:
    """n nets, each extending the one before: lookups along the extends chain."""
    lines = ["net v0(width = 1) {\n    input image [3, 16, 16]\n    meta { max_macs = 10 }\n    x = conv(8, k = 3)\n}"]
    lines += [f"net v{i} extends v{i - 1}" for i in range(1, n)]
    return "\n".join(lines) + "\n"


def many_stages(n: int) -> str:
    """One net of n stages (AD101 looks at every stage)."""
    stages = "\n".join(f"    s{i} = conv(8, k = 3) -> bn -> relu" for i in range(n))
    return f"net wide {{\n    input image [3, 32, 32]\n{stages}\n}}\n"


def noqa_heavy(n: int) -> str:
    """n findings, n file-level noqa directives and a line noqa with n codes."""
    codes = ", ".join(f"AR{200 + i % 800}" for i in range(n))
    head = "".join(f"# archdsl: noqa-file AD10{i % 5 + 1}\n" for i in range(n))
    blocks = "\n".join(f"block b{i}(c) {{  # archdsl: noqa {codes}\n    conv(c)\n}}" for i in range(2))
    more = "\n".join(f"block u{i}(c) {{\n    conv(c)\n}}" for i in range(n))
    return f"{head}{blocks}\n{more}\nnet n {{\n    input image [3, 8, 8]\n    stem = b0(8)\n}}\n"


def columns_then_trunk(n: int) -> str:
    """n columns that each downsample (AD103 asks whether each one persists), then a trunk of n ops."""
    trunk = " -> ".join(["conv(8, k = 3)"] * n)
    return (
        f'net cols {{\n    input image [3, 64, 64]\n    x = columns({n}, join = "concat") {{\n'
        f"        avgpool(2) -> conv(8, k = 1)\n    }}\n    y = x -> {trunk}\n}}\n"
    )


def dead_ladder(n: int) -> str:
    """n dead branches, each feeding a chain of adds that is dead as a whole (AR207 regions)."""
    lines = ["net dead {", "    input image [3, 16, 16]", "    stem = conv(8, k = 3)", "    s0 = stem -> conv(8)"]
    for i in range(1, n):
        lines += [f"    a{i} = stem -> conv(8)", f"    s{i} = add(s{i - 1}, a{i})"]
    lines += ["    head = stem -> gap -> flatten -> linear(10)", "}"]
    return "\n".join(lines) + "\n"


def transparent_fan(n: int) -> str:
    """A chain of n identity ops consumed by n activations (rules that skip pass-through ops)."""
    uses = "\n".join(f"    r{i} = t -> relu" for i in range(n))
    return (
        f"net fan {{\n    input image [3, 16, 16]\n    stem = gap\n    t = stem -> identity * {n}\n"
        f"{uses}\n    head = stem -> flatten -> linear(10)\n}}\n"
    )


@pytest.mark.parametrize(
    ("make", "n"),
    [
        (many_blocks, 150),
        (many_variants, 30),
        (variant_chain, 15),  # 4n = 60: nets extend each other at most 64 deep (E501)
        (many_stages, 60),
        (noqa_heavy, 100),
        (columns_then_trunk, 48),
        (dead_ladder, 40),
        (transparent_fan, 60),
    ],
    ids=lambda v: v.__name__ if callable(v) else str(v),
)
def test_lint_work_is_linear(tmp_path, make, n):
    assert_linear(tmp_path, make, n)


def test_every_report_format_is_linear_in_the_findings(tmp_path):
    assert_linear(tmp_path, many_blocks, 150, formats=("text", "json", "sarif", "github"))


class CountingText(str):
    """A text that counts how often it is split into lines."""

    splits = 0

    def splitlines(self, keepends=False):
        type(self).splits += 1
        return super().splitlines(keepends)


def test_rendering_splits_each_file_once():
    text = CountingText("".join(f"line {i}\n" for i in range(1000)))
    sources = SourceMap()
    sources.add("f.arch", text)
    from archdsl.diagnostics import Diagnostic, Span

    CountingText.splits = 0
    for i in range(1, 1001):
        out = render_text(Diagnostic("X001", "m", Span("f.arch", i, 1, i, 3)), sources)
        assert f"{i} | line {i - 1}" in out
    assert CountingText.splits <= 1, f"the text was split {CountingText.splits} times for 1000 diagnostics"
    sources.add("f.arch", CountingText("changed\n"))
    assert sources.line("f.arch", 1) == "changed", "a new text for a file replaces the old lines"


def test_the_largest_spec_lints_within_a_generous_bound(tmp_path):
    """Denial of service: as many block definitions as the 50,000-token limit of a spec file allows
    (issue 12: 10,000 blocks took 6.4 s, 100,000 over 5 minutes, quadratic).

    The bound is on the child's CPU time (wall time on a shared machine says more about the
    machine); most of it is the compiler's parse, not lint.
    """
    spec = tmp_path / "huge.arch"
    spec.write_text(many_blocks(2_500))  # about 48,000 tokens
    out = tmp_path / "out.txt"
    with out.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "archdsl", "lint", "--isolated", str(spec)], cwd=ROOT, stdout=fh, stderr=fh
        )
        deadline = time.monotonic() + 600
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("lint of 2,500 blocks ran for 10 minutes")
            time.sleep(0.1)
    cpu = usage.ru_utime + usage.ru_stime
    text = out.read_text()
    assert os.waitstatus_to_exitcode(status) == 1 and "2499  AS301  unused-block" in text, text[-2000:]
    assert cpu < 60, f"2,500 blocks took {cpu:.0f} s of CPU"

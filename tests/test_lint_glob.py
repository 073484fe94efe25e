"""per-file-ignores globs: linear-time matching, the same answers as the regular-expression matcher.

The globs used to be translated to a Python regular expression, which backtracks:
``"**a**a**a**a**a**a**a**a**b"`` took seconds on a 40-character name and far longer on a longer
one. :mod:`archdsl.rules.globmatch` runs a bit-parallel NFA instead. Its answers are checked
against that old translation (kept here as the reference) on random patterns and paths.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archdsl.rules import config as cfgmod
from archdsl.rules.config import ConfigError
from archdsl.rules.globmatch import MAX_GLOB_CHARS, Glob
from archdsl.rules.registry import build_registry
from tests.test_lint_scaling import line_events

REG = build_registry()


def reference_regex(pattern: str) -> re.Pattern[str]:
    """The translation lint used before (config.glob_to_regex): correct, but it backtracks."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


@pytest.mark.parametrize(
    ("glob", "path", "hit"),
    [
        ("specs/*.arch", "specs/a.arch", True),
        ("specs/*.arch", "specs/x/a.arch", False),
        ("specs/**/*.arch", "specs/a.arch", True),
        ("specs/**/*.arch", "specs/x/y/a.arch", True),
        ("specs/**/*.arch", "specsx/a.arch", False),
        ("specs/**", "specs/x/a.arch", True),
        ("specs/**", "other/x/a.arch", False),
        ("**", "", True),
        ("**/a.arch", "a.arch", True),
        ("**/a.arch", "x/y/a.arch", True),
        ("**/a.arch", "x/ya.arch", False),
        ("a?.arch", "ab.arch", True),
        ("a?.arch", "a/b.arch", False),
        ("a?.arch", "a.arch", False),
        ("*", "a/b", False),
        ("*/*", "a/b", True),
        ("[ab].arch", "[ab].arch", True),  # brackets are literal, as before
        ("[ab].arch", "a.arch", False),
        ("a\\b", "a\\b", True),
        ("legacy_*.arch", "legacy_c.arch", True),
        ("", "", True),
        ("", "a", False),
        ("a**/b", "ab", True),
        ("a**/b", "a/x/b", True),
        ("****/x", "abcx", True),  # ** then **/ : anything, as the regex read it
        ("***/x", "abcx", False),  # ** then * then "/x"
        ("***/x", "ab/c/x", True),
    ],
)
def test_glob_semantics(glob, path, hit):
    assert Glob.compile(glob).match(path) == hit
    assert bool(reference_regex(glob).match(path)) == hit


_PIECES = st.sampled_from(["a", "b", ".", "/", "*", "?", "**", "**/", "[", "\\", "é"])
_PATTERNS = st.lists(_PIECES, max_size=9).map("".join)
_PATHS = st.text(alphabet="ab./[\\é\t", max_size=14)


@settings(max_examples=3000, deadline=None)
@given(_PATTERNS, _PATHS)
def test_same_answers_as_the_regex(pattern, path):
    assert Glob.compile(pattern).match(path) == bool(reference_regex(pattern).match(path)), (pattern, path)


@settings(max_examples=500, deadline=None)
@given(_PATTERNS, st.lists(st.sampled_from(["a", "b", "ab", "x.arch"]), min_size=1, max_size=6))
def test_same_answers_on_paths_the_pattern_could_match(pattern, parts):
    """Paths built from folder names, so that matches (not only mismatches) are exercised."""
    path = "/".join(parts)
    assert Glob.compile(pattern).match(path) == bool(reference_regex(pattern).match(path)), (pattern, path)


ADVERSARIAL = [
    "**a**a**a**a**a**a**a**a**b",
    "*a*a*a*a*a*a*a*a*a*a*a*a*b",
    "**/" * 60 + "b",
    "?*" * 200 + "b",
    "a**" * 300 + "b",
    ("*" * 20 + "a") * 40,
    "**" * 500,
    "*?" * 300,
]


def dp_match(pattern: str, path: str) -> bool:
    """A second reference: dynamic programming over (token, position), O(len(pattern) * len(path))."""
    toks: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            toks.append(("dirs", ""))
            i += 3
        elif pattern.startswith("**", i):
            toks.append(("any", ""))
            i += 2
        else:
            c = pattern[i]
            toks.append(("star", "") if c == "*" else ("one", "") if c == "?" else ("lit", c))
            i += 1
    n = len(path)
    nxt = [False] * n + [True]  # the empty pattern matches the empty rest
    for kind, c in reversed(toks):
        cur = [False] * (n + 1)
        slash_end = False  # some k > j with path[k - 1] == "/" and nxt[k]
        for j in range(n, -1, -1):
            if j < n and path[j] == "/" and nxt[j + 1]:
                slash_end = True
            if kind == "lit":
                cur[j] = j < n and path[j] == c and nxt[j + 1]
            elif kind == "one":
                cur[j] = j < n and path[j] != "/" and nxt[j + 1]
            elif kind == "star":
                cur[j] = nxt[j] or (j < n and path[j] != "/" and cur[j + 1])
            elif kind == "any":
                cur[j] = nxt[j] or (j < n and cur[j + 1])
            else:
                cur[j] = nxt[j] or slash_end
        nxt = cur
    return nxt[0]


@pytest.mark.parametrize("pattern", ADVERSARIAL)
def test_adversarial_globs_are_right_and_linear_in_the_path(pattern):
    glob = Glob.compile(pattern)
    for name in ("a" * 40, "a" * 300, "a" * 299 + "b", "a/" * 150, ("a" * 29 + "/") * 10 + "b", "ab" * 150):
        assert glob.match(name) == dp_match(pattern, name), (pattern[:30], name[:30])
    small = line_events(lambda: glob.match("a" * 500))
    big = line_events(lambda: glob.match("a" * 2000))
    assert big <= 5 * small, f"4x the path cost {big / small:.1f}x the work"


def test_adversarial_globs_against_long_names_finish_quickly():
    """A generous bound (the regex took seconds for the first pattern on 40 characters)."""
    start = time.monotonic()
    for pattern in ADVERSARIAL:
        glob = Glob.compile(pattern)
        for name in ("a" * 40, "a" * 4000, ("a" * 39 + "/") * 100):
            assert glob.match(name + "/c") == (pattern == "**" * 500)
    assert time.monotonic() - start < 10


def test_lint_with_a_backtracking_glob_and_a_long_path(tmp_path):
    """End to end, in a subprocess with a timeout: the regex matcher never finished this."""
    folder = tmp_path / ("a" * 100)
    folder.mkdir()
    spec = folder / ("a" * 120 + ".arch")
    spec.write_text("net n {\n    input image [3, 32, 32]\n    x = conv(8, k = 1, s = 2)\n}\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.archdsl.lint]\npreset = "attendnext"\n'  # the AD rules are not in the default preset
        "[tool.archdsl.lint.per-file-ignores]\n"
        '"**a**a**a**a**a**a**a**a**b" = ["AD"]\n'  # no match: the regex backtracked for hours
        '"**a**a**a**a**a**a**a**a*" = ["AR"]\n'  # a match
    )
    res = subprocess.run(
        [sys.executable, "-m", "archdsl", "lint", str(spec), "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode in (0, 1), res.stderr
    codes = {f["code"] for f in json.loads(res.stdout)["findings"]}
    assert "AD102" in codes and not any(c.startswith("AR") for c in codes)


def test_glob_length_and_count_are_capped():
    with pytest.raises(ConfigError, match="above the limit of 1,024"):
        cfgmod.from_table({"per-file-ignores": {"a" * (MAX_GLOB_CHARS + 1): ["AD"]}}, Path("."), None)
    many = {f"d{i}/*.arch": ["AD"] for i in range(cfgmod.MAX_PER_FILE_IGNORES + 1)}
    with pytest.raises(ConfigError, match="entries, above the limit"):
        cfgmod.from_table({"per-file-ignores": many}, Path("."), None)
    ok = {f"d{i}/*.arch": ["AD"] for i in range(cfgmod.MAX_PER_FILE_IGNORES)}
    cfgmod.resolve(cfgmod.from_table({"per-file-ignores": ok}, Path("."), None), REG)

"""Properties of ``archdsl fmt`` over generated specs (hypothesis).

Three corpora: specs generated from the grammar (every construct, nested, with comments and
line breaks in every gap between tokens), the real specs with their layout scrambled (whitespace
and comments changed between tokens, so they still resolve), and the mutated specs of
tests/test_properties.py (which mostly do not parse: then the text is refused, never changed).

For every text that parses, ``format_text``:
- is idempotent: ``fmt(fmt(x)) == fmt(x)``;
- keeps the token stream (Lark's tokens, whitespace aside) and the comments, in order;
- keeps the AST (spans compared as token positions), so documentation comments too;
- resolves to the identical IR (graph JSON with every span compared as token positions, the
  source hash aside) when the text resolves.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from archdsl.diagnostics import DiagnosticError
from archdsl.fmt import format_text
from archdsl.syntax.concrete import parse_concrete
from tests.test_fmt import assert_same_program, assert_well_formed, comments_of, tokens_of
from tests.test_properties import mutated

ROOT = Path(__file__).resolve().parent.parent
REAL = [
    *sorted((ROOT / "specs").rglob("*.arch")),
    *sorted((ROOT / "tests" / "fixtures" / "valid").glob("*.arch")),
]

# ---- specs from the grammar ------------------------------------------------------------------

NL = "\n"  # a line break the grammar needs (statements and columns go one a line)
NAMES = ["x", "y", "conv", "bn", "relu", "stage1", "in", "gap", "a_long_name_for_a_block_or_tensor"]
NUMBERS = ["0", "3", "1e-5", "0.10", "1_000", "2.5e+3", ".5", "640", "07"]
STRINGS = ['"a"', '"x # not a comment"', '"add"', '"\\n"', '""']
COMMENTS = ["# c", "#", "# x -> y { } ( ,", "#tight", "# trailing spaces   ", "# " + "long " * 30]
SEPARATORS_NL = ["\n", "\n\n", "\n\n\n", "  # c\n", "\n# own\n", "\n\n    # own\n\n", " # a\n# b\n"]
SEPARATORS = [" ", "  ", "\n", "\t", " # c\n", "\n  # own\n", "\n\n"]


class _Gen:
    def __init__(self, draw):
        self.draw = draw

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def chance(self, p: float = 0.5) -> bool:
        return self.draw(st.floats(0, 1)) < p

    def some(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    # expressions, level by level as in the grammar
    def expr(self, d: int) -> list[str]:
        if d > 0 and self.chance(0.1):
            return [*self.or_test(d - 1), "if", *self.or_test(d - 1), "else", *self.expr(d - 1)]
        return self.or_test(d)

    def or_test(self, d: int) -> list[str]:
        out = self.and_test(d)
        while d > 0 and self.chance(0.15):
            out += ["or", *self.and_test(d - 1)]
        return out

    def and_test(self, d: int) -> list[str]:
        out = self.not_test(d)
        while d > 0 and self.chance(0.15):
            out += ["and", *self.not_test(d - 1)]
        return out

    def not_test(self, d: int) -> list[str]:
        if d > 0 and self.chance(0.1):
            return ["not", *self.not_test(d - 1)]
        out = self.sum(d)
        if d > 0 and self.chance(0.15):
            out += [self.pick(["==", "!=", "<=", ">=", "<", ">"]), *self.sum(d - 1)]
        return out

    def sum(self, d: int) -> list[str]:
        out = self.product(d)
        while d > 0 and self.chance(0.3):
            out += [self.pick(["+", "-"]), *self.product(d - 1)]
        return out

    def product(self, d: int) -> list[str]:
        out = self.unary(d)
        while d > 0 and self.chance(0.3):
            out += [self.pick(["*", "/", "//", "%"]), *self.unary(d - 1)]
        return out

    def unary(self, d: int) -> list[str]:
        if d > 0 and self.chance(0.15):
            return [self.pick(["+", "-"]), *self.unary(d - 1)]
        return self.atom(d)

    def atom(self, d: int) -> list[str]:
        kind = self.pick(["num", "num", "name", "name", "str", "const", "attr", "fcall", "paren"])
        if kind == "num":
            return [self.pick(NUMBERS)]
        if kind == "name":
            return [self.pick(NAMES)]
        if kind == "str":
            return [self.pick(STRINGS)]
        if kind == "const":
            return [self.pick(["true", "false", "none"])]
        if kind == "attr":
            return [self.pick(NAMES), ".", self.pick(["c", "h", "w"])]
        if kind == "fcall" and d > 0:
            return [self.pick(["make_divisible", "int", "max"]), *self.args(d - 1, kwargs=True)]
        if kind == "paren" and d > 0:
            return ["(", *self.expr(d - 1), ")"]
        return [self.pick(NUMBERS)]

    def args(self, d: int, kwargs: bool = True, params: bool = False) -> list[str]:
        items = []
        for _ in range(self.some(0, 3)):
            if params:
                item = [self.pick(NAMES[:-3])] + (["=", *self.expr(d)] if self.chance() else [])
            elif kwargs and self.chance(0.4):
                item = [self.pick(["k", "s", "groups", "act", "mid"]), "=", *self.expr(d)]
            else:
                item = self.expr(d)
            items.append(item)
        out = ["("]
        for i, item in enumerate(items):
            out += ([","] if i else []) + item
        if items and self.chance(0.15):
            out.append(",")
        return [*out, ")"]

    # pipelines
    def pipeline(self, d: int) -> list[str]:
        out = self.stage(d)
        for _ in range(self.some(0, 6 if d > 1 else 2)):
            out += ["->", *self.stage(d - 1 if self.chance() else d)]
        return out

    def stage(self, d: int) -> list[str]:
        out = self.element(d)
        if self.chance(0.15):
            out += ["*", self.pick(["2", "3", "depth"])]
            if self.chance(0.4):
                out += ["first", *self.args(0)]
        return out

    def element(self, d: int) -> list[str]:
        kind = self.pick(["call"] * 6 + ["group", "columns", "residual"]) if d > 0 else "call"
        if kind == "call":
            return [self.pick(NAMES)] + (self.args(min(d, 2)) if self.chance(0.7) else [])
        if kind == "group":
            return ["(", *self.pipeline(d - 1), *(["if", *self.expr(1)] if self.chance(0.3) else []), ")"]
        if kind == "columns":
            out = ["columns"] + (self.args(1) if self.chance(0.6) else []) + ["{"]
            for i in range(self.some(1, 3)):
                out += [NL] if i else []
                if self.chance(0.5):
                    out += [self.pick(["body", "skip", "proj"]), ":"]
                out += self.pipeline(d - 1)
                if self.chance(0.3):
                    out += ["if", *self.expr(1)]
            return [*out, "}"]
        out = ["residual"] + (self.args(1) if self.chance(0.3) else []) + ["{", *self.pipeline(d - 1), "}"]
        if self.chance(0.4):
            out += ["shortcut", "{", *self.pipeline(d - 1), "}"]
        return out

    # statements and definitions
    def statement(self, d: int) -> list[str]:
        kind = self.pick(["assign", "assign", "assign", "pipe", "input", "meta"])
        if kind == "assign":
            return [self.pick([*NAMES[:-3], "stem", "head"]), "=", *self.pipeline(d)]
        if kind == "pipe":
            return [self.pick(["conv", "bn"]), *self.args(1), *(["->", *self.pipeline(d)] if self.chance() else [])]
        if kind == "input":
            out = ["input", self.pick(["image", "x"]), "["]
            for i in range(self.some(1, 3)):
                out += ([","] if i else []) + self.expr(1)
            return [*out, "]"]
        out = ["meta", "{"]
        for i in range(self.some(0, 3)):
            out += ([NL] if i and self.chance(0.7) else []) + [self.pick(["top1", "note"]), "=", *self.expr(1)]
        return [*out, "}"]

    def body(self, d: int) -> list[str]:
        out = ["{"]
        for i in range(self.some(0, 3)):
            out += ([NL] if i else []) + self.statement(d)
        return [*out, "}"]

    def definition(self) -> list[str]:
        kind = self.pick(["block", "net", "net", "import"])
        d = self.some(1, 2)
        if kind == "import":
            return ["import", self.pick(["std", '"lib/blocks.arch"'])]
        if kind == "block":
            params = self.args(1, params=True) if self.chance(0.8) else []
            return ["block", self.pick(NAMES[1:3]), *params, *self.body(d)]
        out = ["net", self.pick(["n", "m"]), *(self.args(1, params=True) if self.chance(0.5) else [])]
        if self.chance(0.3):
            out += ["extends", "n", *(self.args(1) if self.chance() else [])]
        if self.chance(0.8) or len(out) < 3:
            out += self.body(d)
        return out

    def spec(self) -> list[str]:
        out: list[str] = []
        for i in range(self.some(1, 3)):
            out += ([NL] if i else []) + self.definition()
        return out


def _glued(a: str, b: str) -> bool:
    """Whether tokens a and b may touch without a space (they cannot merge into one token)."""
    punct = set("()[]{},")
    return a[-1] in punct or b[0] in punct


@st.composite
def generated(draw) -> str:
    """A spec from the grammar, every gap between tokens filled with whitespace or comments."""
    g = _Gen(draw)
    pieces = g.spec()
    out = [draw(st.sampled_from(["", "# header\n", "# a\n\n# b\n", "\n\n"]))]
    prev = None
    need_nl = False
    for p in pieces:
        if p == NL:
            need_nl = True
            continue
        if prev is not None:
            choices = SEPARATORS_NL if need_nl else SEPARATORS + ([""] if _glued(prev, p) else [])
            out.append(draw(st.sampled_from(choices)))
        out.append(p)
        prev, need_nl = p, False
    out.append(draw(st.sampled_from(["", "\n", "\n# footer\n", "  # last\n\n\n"])))
    return "".join(out)


@st.composite
def scrambled(draw) -> tuple[Path, str]:
    """A real spec with the whitespace between its tokens changed (line breaks where it had
    them, maybe more), comments added, trailing comments moved onto lines of their own."""
    path = draw(st.sampled_from(REAL))
    text = path.read_text(encoding="utf-8")
    rng = random.Random(draw(st.integers(0, 2**32)))
    parsed = parse_concrete(text)
    bounds = [0]
    for tok in parsed.tokens:
        bounds += [tok.start_pos, tok.end_pos]
    bounds.append(len(text))
    out = []
    for k, (lo, hi) in enumerate(zip(bounds[::2], bounds[1::2], strict=True)):
        if k:
            out.append(text[bounds[2 * k - 1] : lo])  # the token before this gap
        gap = text[lo:hi]
        pieces = re.split(r"(#[^\n]*)", gap)  # whitespace, comment, whitespace, ...
        for i in range(0, len(pieces), 2):
            ws = pieces[i]
            if "\n" in ws:
                ws = rng.choice(["\n", "\n\n", "\n\n\n", "\n   ", "\n\t", "  # added\n", "\n# added own\n"])
            elif 0 < k < len(bounds) // 2 - 1 and i + 1 == len(pieces):  # between tokens, no comment after
                ws = rng.choice([ws, ws, " ", "  ", "\n", "\n        ", "  # added\n", "\t"])
            elif i + 1 < len(pieces):  # before a trailing comment: maybe make it an own-line one
                ws = rng.choice([ws, " ", "\n"])
            pieces[i] = ws
        out.append("".join(pieces))
    return path, "".join(out)


# ---- the properties ------------------------------------------------------------------------


def check_format(text: str, file: str = "spec.arch") -> str | None:
    """Format ``text`` and check every property; None when the text does not parse."""
    try:
        out = format_text(text, file)
    except DiagnosticError as exc:
        assert exc.diagnostics and all(d.span is not None for d in exc.diagnostics)
        return None
    assert format_text(out, file) == out, "not idempotent"
    assert tokens_of(out) == tokens_of(text)
    assert comments_of(out) == comments_of(text)
    assert_well_formed(out)
    return out


SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(text=generated())
def test_generated_specs_format_idempotently_keeping_tokens_comments_and_ast(text):
    out = check_format(text)
    assume(out is not None)
    assert_same_program(text, out)


@SETTINGS
@given(case=scrambled())
def test_scrambled_real_specs_format_to_the_same_ir(case, tmp_path):
    path, text = case
    out = check_format(text, str(path))
    assert out is not None, "a scrambled real spec still parses"
    assert_same_program(text, out, path=path, resolve=True)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated())
def test_mutated_specs_are_formatted_or_refused(text):
    out = check_format(text, str(ROOT / "specs" / "fuzz.arch"))
    if out is not None:
        assert_same_program(text, out, path=ROOT / "specs" / "fuzz.arch", resolve=True)


def test_the_generator_makes_mostly_valid_specs():
    """The generated corpus is worth its name: most of it parses."""
    ok = 0

    @settings(max_examples=50, deadline=None, database=None)
    @given(text=generated())
    def count(text):
        nonlocal ok
        try:
            format_text(text)
            ok += 1
        except DiagnosticError:
            pass

    count()
    assert ok >= 35


@pytest.mark.parametrize("path", REAL, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_real_spec_with_its_layout_collapsed_comes_back_canonical(path):
    """All the layout of a real spec removed (one space between tokens, the line breaks that
    separate statements kept): fmt lays it out again, to the same program."""
    text = path.read_text(encoding="utf-8")
    squeezed = "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())
    out = check_format(squeezed, str(path))
    assert out is not None
    assert_same_program(text, out, path=path, resolve=True)
    json.dumps(out)  # plain text

"""``archdsl fmt``'s layout (archdsl/fmt/, docs/fmt.md) and its properties over every real spec.

The layout tests give an input and the one canonical output. The property tests check, for
every spec under specs/, the fixtures and the std library, that formatting is idempotent, keeps
the tokens, the comments and the AST, and resolves to the identical IR. The helpers here are
used by tests/test_fmt_properties.py (hypothesis corpora) as well.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import inspect
import json
import re
from pathlib import Path

import pytest
from lark import Lark, Token

import archdsl
from archdsl.diagnostics import DiagnosticError, Span
from archdsl.fmt import LINE_WIDTH, format_text
from archdsl.syntax import parse_text
from archdsl.syntax.concrete import parse_concrete

ROOT = Path(__file__).resolve().parent.parent
STD = ROOT / "archdsl" / "stdlib" / "std.arch"
SPECS = sorted((ROOT / "specs").rglob("*.arch"))
FIXTURES = sorted(p for sub in ("valid", "spaces") for p in (ROOT / "tests" / "fixtures" / sub).rglob("*.arch"))
ALL = [*SPECS, STD, *FIXTURES]


def _id(p: Path) -> str:
    return str(p.relative_to(ROOT))


# ---- helpers (also used by tests/test_fmt_properties.py) -----------------------------------


@functools.lru_cache(maxsize=1)
def _oracle() -> tuple[Lark, list]:
    """A parser of its own, built from the grammar, that collects comments through Lark's lexer
    callback: an account of the comments independent of archdsl/syntax/concrete.py."""
    from archdsl_grammars import grammar_text

    from archdsl.syntax.tables import PARSER_OPTIONS

    seen: list[Token] = []
    return Lark(grammar_text(), **PARSER_OPTIONS, lexer_callbacks={"COMMENT": seen.append}), seen


def tokens_of(text: str) -> list[tuple[str, str]]:
    """Lark's token stream of ``text``: every token the parser took, whitespace and comments aside."""
    return [(t.type, str(t)) for t in parse_concrete(text).tokens]


def comments_of(text: str) -> list[str]:
    """The comments of ``text`` in order (trailing whitespace aside), as Lark's lexer sees them."""
    parser, seen = _oracle()
    seen.clear()
    parser.parse(text)
    return [str(c).rstrip() for c in seen]


def assert_well_formed(out: str) -> None:
    """What any formatted text looks like: no trailing spaces, no tabs in the indentation, at
    most one blank line in a row and none at either end, one newline at the end."""
    if not out:
        return
    assert out.endswith("\n") and not out.endswith("\n\n")
    assert not out.startswith("\n")
    assert "\n\n\n" not in out
    for line in out.split("\n"):
        assert line == line.rstrip(), repr(line)
        assert not line[: len(line) - len(line.lstrip())].count("\t"), repr(line)


def _positions(text: str):
    """Maps a span to where it is in the token stream, so spans of two layouts compare."""
    parsed = parse_concrete(text)
    starts = [t.start_pos for t in parsed.tokens]
    ends = [t.end_pos for t in parsed.tokens]
    line_starts = [0] + [m.end() for m in re.finditer("\n", parsed.text)]

    def where(line: int, col: int, end: bool = False):
        pos = line_starts[line - 1] + col - 1 if 0 < line <= len(line_starts) else -1
        if end:  # the end of a token, even where the next one starts right there
            i = bisect.bisect_left(ends, pos)
            if i < len(ends) and ends[i] == pos:
                return ("end", i)
        i = bisect.bisect_right(starts, pos) - 1
        if i >= 0 and pos < ends[i]:
            return ("in", i, pos - starts[i])
        return ("after", i)

    return where


def _canonical(obj, file: str, where):
    """``obj`` (an AST node, the IR as JSON, diagnostics) with every position in ``file`` replaced
    by its token position."""
    if isinstance(obj, Span):
        obj = dataclasses.asdict(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _canonical(getattr(obj, f.name), file, where) for f in dataclasses.fields(obj)} | {
            "<type>": type(obj).__name__
        }
    if isinstance(obj, dict):
        if {"file", "line", "col", "end_line", "end_col"} <= set(obj):
            if obj["file"] != file or obj["line"] <= 0:
                return obj
            return ("span", where(obj["line"], obj["col"]), where(obj["end_line"], obj["end_col"], end=True))
        return {k: _canonical(v, file, where) for k, v in obj.items() if k != "source_hash"}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v, file, where) for v in obj]
    if isinstance(obj, str) and file in obj:  # "first defined at spec.arch:3:5" in a message
        return re.sub(re.escape(file) + r":(\d+):(\d+)", lambda m: repr(where(int(m.group(1)), int(m.group(2)))), obj)
    return obj


def _outcome(text: str, path: Path, resolve: bool):
    file = str(path)
    where = _positions(text)
    if not resolve:
        return _canonical(parse_text(text, file), file, where)
    from archdsl.resolve import Resolver, load_program

    try:
        prog = load_program(path, text=text)
        resolver = Resolver(prog)
        graphs = {}
        for name in resolver.net_names():
            try:
                graphs[name] = json.loads(resolver.resolve(name).to_json())
            except DiagnosticError as exc:
                graphs[name] = [d.to_json() for d in exc.diagnostics]
    except DiagnosticError as exc:
        graphs = [d.to_json() for d in exc.diagnostics]
    return _canonical(parse_text(text, file), file, where), _canonical(graphs, file, where)


def assert_same_program(before: str, after: str, path: Path | None = None, resolve: bool = False) -> None:
    """``after`` means what ``before`` means: the same AST, and (``resolve``) the same IR of
    every net, or the same diagnostics, spans compared as token positions."""
    path = path or Path("spec.arch")
    assert _outcome(after, path, resolve) == _outcome(before, path, resolve)


def fmt(text: str) -> str:
    return format_text(text, "t.arch")


# ---- the API -------------------------------------------------------------------------------


def test_format_text_signature_is_the_documented_one():
    sig = inspect.signature(format_text)
    assert list(sig.parameters) == ["text", "file"]
    assert sig.parameters["file"].default == "<stdin>"
    assert LINE_WIDTH == 100


def test_a_syntax_error_is_a_located_diagnostic():
    with pytest.raises(DiagnosticError) as exc:
        format_text("net x {\n    a = conv(3 +)\n}\n", "bad.arch")
    (d,) = exc.value.diagnostics
    assert d.code == "E100" and (d.span.file, d.span.line, d.span.col) == ("bad.arch", 2, 17)


def test_two_statements_on_a_line_are_refused_not_split():
    """E108 usually means a missing '->': formatting it away would hide the mistake."""
    with pytest.raises(DiagnosticError) as exc:
        format_text("net x {\n    a = conv(3) b = bn\n}\n")
    assert exc.value.diagnostics[0].code == "E108"


@pytest.mark.parametrize(
    "text,code",
    [("net x { a = conv(1234567890123456789) }", "E103"), ('net x { meta { a = "\\q" } }', "E104"), ("\x00", "E101")],
)
def test_what_check_refuses_fmt_refuses(text, code):
    with pytest.raises(DiagnosticError) as exc:
        format_text(text)
    assert exc.value.diagnostics[0].code == code


def test_deep_nesting_is_a_diagnostic_not_a_crash():
    text = "net x { a = " + "(" * 3000 + "conv" + ")" * 3000 + " }"
    with pytest.raises(DiagnosticError) as exc:
        format_text(text)
    assert exc.value.diagnostics[0].code == "E106"


# ---- the layout ----------------------------------------------------------------------------

CASES = {
    "spacing": (
        "net x{a=conv( 3 ,k=3,s  =2 )->bn ->relu*2 first( s=1 )\nb=f(in.c*-1,g( ))}",
        "net x {\n    a = conv(3, k = 3, s = 2) -> bn -> relu * 2 first(s = 1)\n    b = f(in.c * -1, g())\n}\n",
    ),
    "numbers and strings as written": (
        'net x { a = f(1e-5, 0.10, 1_000, .5, 07, "a  # b", 2.5E+3) }',
        'net x {\n    a = f(1e-5, 0.10, 1_000, .5, 07, "a  # b", 2.5E+3)\n}\n',
    ),
    "expressions": (
        "net x { a = f(k = not a and (b or c), s = 1 if x >= 2 else -3, t = (2 + 3) * 4 // 5 % 6) }",
        "net x {\n    a = f(k = not a and (b or c), s = 1 if x >= 2 else -3, t = (2 + 3) * 4 // 5 % 6)\n}\n",
    ),
    "definitions one blank line apart, imports together": (
        'import std\n\n\n\nimport "lib.arch"\nblock b(c, k=3) { conv(c) }\nnet n extends m(a=1)\n\n\n\nnet m {}\n',
        'import std\n\nimport "lib.arch"\n\nblock b(c, k = 3) {\n    conv(c)\n}\n\n'
        "net n extends m(a = 1)\n\nnet m {}\n",
    ),
    "blank lines in a body: one at most, none at its ends": (
        "net x {\n\n\n    a = conv(3)\n\n\n\n    b = bn\n    c = relu\n\n}\n",
        "net x {\n    a = conv(3)\n\n    b = bn\n    c = relu\n}\n",
    ),
    "a long pipeline breaks before '->' into even lines under its first element": (
        "net x {\n    stage = conv(mid) -> bn -> act -> conv(mid, k = 3, groups = groups) -> bn -> act"
        " -> conv(c) -> bn -> act\n}\n",
        "net x {\n    stage = conv(mid) -> bn -> act -> conv(mid, k = 3, groups = groups)\n"
        "            -> bn -> act -> conv(c) -> bn -> act\n}\n",
    ),
    "the author's breaks before '->' are kept, joined lines are not": (
        "net x {\n    a = conv(3)\n        -> bn -> relu\n    b = conv(3) ->\n        bn\n}\n",
        "net x {\n    a = conv(3)\n        -> bn -> relu\n    b = conv(3) -> bn\n}\n",
    ),
    "long arguments fill lines under the first argument": (
        'block inverted_residual(c, e = 6, k = 3, s = 1, act = "relu", se_ratio = 0.0, gate = "sigmoid",'
        " mid = make_divisible(in.c * e), skip = true) {\n    conv(c)\n}\n",
        'block inverted_residual(c, e = 6, k = 3, s = 1, act = "relu", se_ratio = 0.0, gate = "sigmoid",\n'
        "                        mid = make_divisible(in.c * e), skip = true) {\n    conv(c)\n}\n",
    ),
    "a trailing comma: one item a line": (
        "net x { a = conv(32, k = 3,) }\nblock b(c, k = 3,) { conv(c) }\n",
        "net x {\n    a = conv(\n        32,\n        k = 3,\n    )\n}\n\n"
        "block b(\n    c,\n    k = 3,\n) {\n    conv(c)\n}\n",
    ),
    "columns: one a line, the body under the start of the statement or stage": (
        'net x {\n    a = columns(join = "add") { p: conv(3)\n q: identity if in.c == 3 } -> relu\n'
        "    b = dcac(mid = 8) -> aads\n        -> columns(4, split = true) { conv(3)\n  conv(5) }\n        -> bn\n}\n",
        'net x {\n    a = columns(join = "add") {\n        p: conv(3)\n        q: identity if in.c == 3\n'
        "    } -> relu\n"
        "    b = dcac(mid = 8) -> aads\n        -> columns(4, split = true) {\n               conv(3)\n"
        "               conv(5)\n           }\n        -> bn\n}\n",
    ),
    "a body of one item stays on its line when it fits": (
        "net x {\n    y = residual {\n        layernorm -> mhsa(4)\n    } shortcut { conv(3) }\n"
        "    z = columns(2) {\n        conv(16)\n    }\n    meta {\n        top1 = 70.1\n    }\n}\n",
        "net x {\n    y = residual { layernorm -> mhsa(4) } shortcut { conv(3) }\n    z = columns(2) { conv(16) }\n"
        "    meta { top1 = 70.1 }\n}\n",
    ),
    "a block or net body is never on one line": (
        "block b { conv(3) }\nnet n { a = conv(3) }\n",
        "block b {\n    conv(3)\n}\n\nnet n {\n    a = conv(3)\n}\n",
    ),
    "meta entries one a line": (
        'net x { meta { a = 1  b = "two" } }',
        'net x {\n    meta {\n        a = 1\n        b = "two"\n    }\n}\n',
    ),
    "groups and conditions": (
        "block b { conv(3) -> ( se( 0.25 ) if r>0 ) -> ( act if pw ) }",
        "block b {\n    conv(3) -> (se(0.25) if r > 0) -> (act if pw)\n}\n",
    ),
    "a space: entries one a line, domains spaced like calls, never on one line": (
        "space s extends n(classes=10){width=choice( 0.75,1.0 )\n  depth=int(2,8,step=2)\n"
        'lr=float(1e-4,1e-1,log=true)\n meta{max_params=4000000 constraint="AD101"}}\nspace t extends n {}\n',
        "space s extends n(classes = 10) {\n    width = choice(0.75, 1.0)\n    depth = int(2, 8, step = 2)\n"
        "    lr = float(1e-4, 1e-1, log = true)\n"
        '    meta {\n        max_params = 4000000\n        constraint = "AD101"\n    }\n}\n\nspace t extends n {}\n',
    ),
    "input shapes": ("net x { input image [ 3,224 , 224 ] }", "net x {\n    input image [3, 224, 224]\n}\n"),
    "a keyword the lexer split off a name gets its space": ("importd\nnetx{}", "import d\n\nnet x {}\n"),
    "empty": ("", ""),
    "only whitespace": ("\n\n   \n", ""),
    "a BOM and CRLF line ends become plain UTF-8 with \\n": ("\ufeffnet x {}\r\n", "net x {}\n"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_layout(name):
    before, expected = CASES[name]
    assert fmt(before) == expected
    assert fmt(expected) == expected


COMMENT_CASES = {
    "trailing comments of a run of statements line up": (
        "net x {\n    stem = conv(3)  # 112\n\n    stage1 = conv_bn_act(16, k = 3) -> bn # 56\n"
        "    stage2 = x # 28\n    # a new run\n    stage3 = y   # 14\n}\n",
        "net x {\n    stem = conv(3)                         # 112\n\n"
        "    stage1 = conv_bn_act(16, k = 3) -> bn  # 56\n    stage2 = x                             # 28\n"
        "    # a new run\n    stage3 = y  # 14\n}\n",
    ),
    "own-line, detached and dangling comments keep their blank lines": (
        "# header\n\n# doc of b\nblock b {\n    # before a\n\n\n    # detached\n    a = conv(3)\n\n"
        "    # dangling\n}\n# the end\n",
        "# header\n\n# doc of b\nblock b {\n    # before a\n\n    # detached\n    a = conv(3)\n\n"
        "    # dangling\n}\n# the end\n",
    ),
    "a comment between definitions gets the blank line before it": (
        "net a {}\n# doc of b\nnet b {}\n",
        "net a {}\n\n# doc of b\nnet b {}\n",
    ),
    "comments inside arguments": (
        "net x {\n    v = conv(1,  # channels\n        # the kernel\n        k = 3, s = 2\n"
        "        # before the end\n    )\n}\n",
        "net x {\n    v = conv(1,  # channels\n             # the kernel\n             k = 3, s = 2\n"
        "             # before the end\n             )\n}\n",
    ),
    "comments inside columns and before '->'": (
        "net x {\n    a = columns {  # why\n        p: conv(3)  # left\n        # right:\n        q: conv(5)\n"
        "    }\n        # then\n        -> relu\n}\n",
        "net x {\n    a = columns {  # why\n        p: conv(3)  # left\n        # right:\n        q: conv(5)\n"
        "    }\n        # then\n        -> relu\n}\n",
    ),
    "a comment after a one-item body leaves it on its line": (
        "net x { y = residual { conv(3) }  # c\n z = columns(2) { conv(3) } -> relu  # d\n }",
        "net x {\n    y = residual { conv(3) }            # c\n    z = columns(2) { conv(3) } -> relu  # d\n}\n",
    ),
    "a comment inside a one-item body opens it": (
        "net x { y = residual { conv(3)  # c\n } }",
        "net x {\n    y = residual {\n        conv(3)  # c\n    }\n}\n",
    ),
    "a comment where no line could break yet": (
        "net x { a = f(in.  # what\n c) }",
        "net x {\n    a = f(in.  # what\n          c)\n}\n",
    ),
    "comment text is kept as written, trailing spaces aside": (
        "#!tight\n#   indented   \nnet x {}  #\n",
        "#!tight\n#   indented\nnet x {}  #\n",
    ),
    "comments in a space line up like a net's": (
        "# the doc\nspace s extends n {  # why\n    width = choice(0.5, 1.0) # a\n    k = choice(3, 5, 7)   # b\n"
        "    # before meta\n    meta { max_params = 10 }\n}\n",
        "# the doc\nspace s extends n {  # why\n    width = choice(0.5, 1.0)  # a\n    k = choice(3, 5, 7)       # b\n"
        "    # before meta\n    meta { max_params = 10 }\n}\n",
    ),
    "a file of comments": ("\n\n# one\n\n\n# two\n\n", "# one\n\n# two\n"),
}


@pytest.mark.parametrize("name", list(COMMENT_CASES))
def test_comment_layout(name):
    before, expected = COMMENT_CASES[name]
    assert fmt(before) == expected
    assert fmt(expected) == expected
    assert comments_of(expected) == comments_of(before)


def test_a_long_unbreakable_line_stays_whole():
    long = '"' + "x" * 150 + '"'
    out = fmt(f"net x {{ meta {{ source = {long} }} }}")
    assert f"source = {long}" in out


def test_lines_fit_the_width_where_they_can():
    args = ", ".join(f"a{i} = {i}" for i in range(40))
    out = fmt(f"net x {{ y = conv({args}) -> " + " -> ".join(f"block{i}(3)" for i in range(30)) + " }")
    assert max(len(line) for line in out.splitlines()) <= LINE_WIDTH
    assert fmt(out) == out


# ---- every real spec -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_real_specs_keep_tokens_comments_and_ast(path):
    text = path.read_text(encoding="utf-8")
    out = format_text(text, str(path))
    assert format_text(out, str(path)) == out
    assert tokens_of(out) == tokens_of(text)
    assert comments_of(out) == comments_of(text)
    assert_well_formed(out)
    assert_same_program(text, out, path=path)


@pytest.mark.parametrize("path", [*SPECS, *FIXTURES[:0]], ids=_id)
def test_real_specs_resolve_to_the_same_ir(path):
    text = path.read_text(encoding="utf-8")
    assert_same_program(text, format_text(text, str(path)), path=path, resolve=True)


@pytest.mark.parametrize("path", [*SPECS, STD], ids=_id)
def test_the_committed_specs_and_std_library_are_formatted(path):
    """What CI's ``archdsl fmt --check specs/ archdsl/stdlib/std.arch`` checks."""
    text = path.read_text(encoding="utf-8")
    assert format_text(text, str(path)) == text


def test_the_formatted_std_library_builds_the_same_ir_for_every_spec(monkeypatch):
    from archdsl.resolve import program
    from archdsl.resolve.program import STD_PREFIX

    original = program.library_text("std")
    formatted = format_text(original, "std.arch")
    label = STD_PREFIX + program.LIBRARIES["std"]
    results = []
    for text in (original, formatted):
        monkeypatch.setattr(program, "library_text", lambda name, text=text: text)
        monkeypatch.setattr(program, "_STD_CACHE", {})
        where = _positions(text)
        outs = {}
        for path in SPECS:
            graph = json.loads(archdsl.load(path).to_json())  # a space: its default point
            outs[_id(path)] = _canonical(graph, label, where)
        results.append(outs)
    assert results[0] == results[1]


def test_the_example_of_docs_fmt_md_is_what_fmt_prints():
    doc = (ROOT / "docs" / "fmt.md").read_text()
    before, after = re.findall(r"```arch\n(.*?)```", doc, flags=re.S)[:2]
    assert fmt(before) == after


# ---- lint sees the same spec ------------------------------------------------------------------

LINT_FIXTURES = sorted((ROOT / "tests" / "fixtures" / "lint").glob("*.arch"))
NOQA_SPEC = """import std

net n {
    input image [3, 32, 32]
    stem = conv(16, k = 1, s = 2) -> bn -> relu -> conv_bn_act(16, k = 3, s = 1, groups = 1, act = "relu")  # archdsl: noqa AD102 --
    s2 = conv(16,
        k = 1, s = 2) -> bn  # archdsl: noqa AD102
    s3 = conv(16, k = 3) ->
        conv(16, k = 1, s = 2)  # archdsl: noqa AD102
    s4 = conv(16, k = 3)
         -> conv(16, k = 1, s = 2) -> columns(2) { conv(8) }  # archdsl: noqa AD102, AD101 -- a comment
    head = gap -> flatten -> linear(10)
}
"""  # noqa: E501 (lines too long for fmt on purpose)


def _findings(path: Path, text: str):
    from archdsl.rules.config import LintConfig
    from archdsl.rules.engine import Linter

    res = Linter(config=LintConfig(select=("ALL",), root=ROOT)).lint_file(path, text=text)
    where = _positions(text)
    return sorted(str(_canonical(dataclasses.asdict(f), str(path), where)) for f in res.findings), res.suppressed


@pytest.mark.parametrize("name", [*[p.name for p in LINT_FIXTURES], "noqa.arch"])
def test_lint_finds_and_suppresses_the_same_after_fmt(name):
    """``# archdsl: noqa`` works by line: fmt keeps such a line whole and on its own, so the same
    findings are reported and the same ones suppressed (spans compared by the tokens they point at)."""
    path = ROOT / "tests" / "fixtures" / "lint" / name
    text = NOQA_SPEC if name == "noqa.arch" else path.read_text(encoding="utf-8")
    out = format_text(text, str(path))
    assert _findings(path, out) == _findings(path, text)
    if name == "noqa.arch":
        assert _findings(path, text)[1] == 3
        s3 = r"\n    s3 = conv\(16, k = 3\)\n         -> conv\(16, k = 1, s = 2\) +# archdsl: noqa AD102\n"
        assert re.search(s3, out)
        assert re.search(r"-> columns\(2\) \{ conv\(8\) \} +# archdsl: noqa AD102, AD101", out)


def test_the_noqa_pattern_follows_lint():
    from archdsl.fmt.layout import NOQA_RE
    from archdsl.rules.noqa import DIRECTIVE_RE

    for comment in [
        "# archdsl: noqa",
        "# archdsl:noqa AD102",
        "#ARCHDSL : NOQA: AR2",
        "# why -- archdsl: noqa AD",
        "# why -- # archdsl: noqa AD",
        "# archdsl: noqa-file AD102",
        "# noqa",
        "# archdsl noqa",
        "# archdsl: noqaX",
    ]:
        m = DIRECTIVE_RE.search(comment)
        assert bool(NOQA_RE.search(comment)) == bool(m and not m["file"]), comment

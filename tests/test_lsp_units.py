"""The language server's parts, in process: positions, incremental parsing, views of old analyses,
the cursor context, code actions and formatting."""

from __future__ import annotations

import sys
import types as pytypes
from pathlib import Path

import pytest

pytest.importorskip("pygls")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types

from archdsl.diagnostics import DiagnosticError, Span
from archdsl.lsp.analysis import analyze
from archdsl.lsp.documents import Document, View
from archdsl.lsp.features import code_actions, formatting
from archdsl.lsp.features.context import scan
from archdsl.lsp.features.diagnostics import diagnostics
from archdsl.lsp.incremental import IncrementalParser, split_chunks
from archdsl.lsp.positions import UTF8, UTF16, UTF32, LineIndex, apply_change
from archdsl.syntax import parse_text
from tests.conftest import ROOT, SPECS

STD = ROOT / "archdsl" / "stdlib" / "std.arch"
ATTENDNEXT = ROOT / "specs" / "attendnext.arch"


# ---- positions ---------------------------------------------------------------------------


def test_span_to_range_counts_utf16_units_and_round_trips():
    text = 'a = "😀é" -> x\r\nsecond\rthird\n'
    idx = LineIndex(text, UTF16)
    # archdsl's span of 'x' on line 1: code points, 1-based: a(1) ' '(2) =(3) ' '(4) "(5) 😀(6) é(7) "(8) ...
    col = 'a = "😀é" -> x'.index("x") + 1
    rng = idx.range(Span("f", 1, col, 1, col + 1))
    assert rng.start == types.Position(line=0, character=col - 1 + 1)  # the emoji is two UTF-16 units
    assert idx.point(rng.start) == (1, col)
    assert idx.range(Span("f", 3, 1, 3, 6)).start == types.Position(line=2, character=0)  # '\r' ends a line
    for enc, extra in ((UTF8, 3 + 1), (UTF32, 0)):  # 😀 is 4 bytes (3 more), é 2 (1 more); UTF-32 one each
        other = LineIndex(text, enc)
        assert other.range(Span("f", 1, col, 1, col + 1)).start.character == col - 1 + extra
        assert other.point(other.range(Span("f", 1, col, 1, col + 1)).start) == (1, col)


def test_line_separators_other_than_lsp_line_ends_do_not_split_lines():
    text = "a\u2028b\x0cc\nd"
    idx = LineIndex(text)
    assert idx.line_count == 2 and idx.line(0) == "a\u2028b\x0cc"


def test_a_bom_shifts_the_first_line_only():
    text = "\ufeffnet x\nnet y\n"
    idx = LineIndex(text)
    assert idx.range(Span("f", 1, 5, 1, 6)).start.character == 5  # the BOM is in the client's text
    assert idx.range(Span("f", 2, 5, 2, 6)).start.character == 4
    assert idx.point(types.Position(line=0, character=5)) == (1, 5)


def test_incremental_changes_apply_with_lsp_line_ends():
    text = "one\r\ntwo 😀 x\nthree"
    change = types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(line=1, character=7), end=types.Position(line=1, character=8)),
        text="y",
    )
    assert apply_change(text, change) == "one\r\ntwo 😀 y\nthree"
    whole = types.TextDocumentContentChangeWholeDocument(text="new")
    assert apply_change(text, whole) == "new"
    past_end = types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(line=9, character=0), end=types.Position(line=9, character=0)),
        text="!",
    )
    assert apply_change(text, past_end) == text + "!"


# ---- incremental parsing -------------------------------------------------------------------

ALL_SPECS = [*SPECS, STD]


@pytest.fixture(params=["as shipped", "small pieces"])
def pieces(request, monkeypatch):
    """Run a test with the shipped piece sizes, and with tiny ones (every definition in pieces)."""
    from archdsl.lsp import incremental

    if request.param == "small pieces":
        monkeypatch.setattr(incremental, "BIG_DEF_LINES", 4)
        monkeypatch.setattr(incremental, "PIECE_LINES", 2)
    return request.param


def _outcome(fn, text):
    try:
        return ("ok", fn(text, "f.arch"))
    except DiagnosticError as exc:
        return ("error", [(d.code, d.message, d.span, d.help, d.notes) for d in exc.diagnostics])


@pytest.mark.parametrize("path", ALL_SPECS, ids=lambda p: p.name)
def test_chunked_parse_is_the_whole_parse(path, pieces):
    text = path.read_text()
    parser = IncrementalParser()
    assert _outcome(parser, text) == _outcome(parse_text, text)
    assert len(split_chunks(text)) >= 1
    # again, from the cache, after lines were added at the top (every chunk shifted)
    moved = "\n\n# moved\n" + text
    assert _outcome(parser, moved) == _outcome(parse_text, moved)
    assert parser.results["f.arch"].parsed <= 1
    # a line added in the middle of the longest definition: the other pieces come from the cache
    lines = text.split("\n")
    mid = len(lines) // 2
    inserted = "\n".join([*lines[:mid], "", *lines[mid:]])
    assert _outcome(parser, inserted) == _outcome(parse_text, inserted)


def test_the_token_limit_is_the_whole_parse_s_even_from_the_cache():
    body = "\n".join(f"    s{i} = conv(8) -> bn -> relu -> bn" for i in range(5200))
    over = f"net many {{\n    input image [3, 8, 8]\n{body}\n}}\n"
    under = over.replace("-> bn -> relu -> bn", "")
    parser = IncrementalParser()
    assert _outcome(parser, under) == _outcome(parse_text, under)
    assert _outcome(parser, over) == _outcome(parse_text, over)
    assert _outcome(parser, over)[1][0][0] == "E105"


def test_a_long_net_is_parsed_in_pieces_and_an_edit_reparses_one(monkeypatch):
    from archdsl.lsp import incremental

    body = "\n".join(f"    s{i} = conv(16) -> bn" for i in range(400))
    text = f"net big {{\n    input image [16, 8, 8]\n{body}\n    head = gap\n}}\n"
    calls: list[int] = []
    real = incremental.parse_text

    def counting(t, label):
        calls.append(sum(1 for line in t.split("\n") if line.strip()))  # the lines really parsed
        return real(t, label)

    monkeypatch.setattr(incremental, "parse_text", counting)
    parser = IncrementalParser()
    assert parser(text, "f.arch") == parse_text(text, "f.arch")
    assert len(calls) > 5  # pieces
    calls.clear()
    edited = text.replace("s200 = conv(16)", "s200 = conv(32)")
    assert parser(edited, "f.arch") == parse_text(edited, "f.arch")
    assert len(calls) == 1 and calls[0] <= 4 * incremental.PIECE_LINES + 2
    calls.clear()
    moved = text.replace("    s100 = conv(16) -> bn\n", "    s100 = conv(16) -> bn\n\n")
    assert parser(moved, "f.arch") == parse_text(moved, "f.arch")
    assert sum(calls) <= 8 * incremental.PIECE_LINES + 10  # the pieces around the edit, the definition's own part


_PIECES = st.sampled_from(
    [
        "(", ")", "{", "}", "[", "]", ",", "=", "->", "*", '"', "#", "\n", " ", "net", "block", "import", "x",
        "conv(8)", "block b(c) {", "net n {", "}\n", "\x00", "😀", "1e99", "first(s = 2)", "columns {", "in.c",
        "block b\n", "import\n", "net x extends\n", "net y\n", "block\n",  # definitions cut short at a line end
    ]
)  # fmt: skip


@st.composite
def _edits(draw):
    text = draw(st.sampled_from(ALL_SPECS)).read_text()
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):  # at a line start: where definitions begin
            at = text.rfind("\n", 0, at) + 1
        cut = draw(st.integers(0, 30))
        text = text[:at] + "".join(draw(st.lists(_PIECES, max_size=3))) + text[at + cut :]
    return text


@pytest.mark.parametrize("cut", ["block b\n", "import\n", "net x extends\n", "net x(a = 1)\nextends\n", "block b(c)\n"])
def test_a_definition_cut_short_before_the_next_one_reports_the_whole_parse_error(cut, pieces):
    text = ATTENDNEXT.read_text().replace("import std\n", "import std\n" + cut)
    parser = IncrementalParser()
    assert _outcome(parser, text) == _outcome(parse_text, text)
    assert _outcome(parser, text)[0] == "error"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(text=_edits())
def test_chunked_parse_matches_the_whole_parse_on_mutated_specs(text, pieces):
    parser = IncrementalParser()
    assert _outcome(parser, text) == _outcome(parse_text, text)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(_edits(), min_size=2, max_size=4))
def test_chunked_parse_with_a_warm_cache_matches_on_edit_sequences(texts, pieces):
    parser = IncrementalParser()
    for text in texts:
        assert _outcome(parser, text) == _outcome(parse_text, text)


# ---- views of older analyses ------------------------------------------------------------


def test_a_view_maps_unchanged_lines_both_ways_and_drops_changed_ones():
    from archdsl.lsp.analysis import Analysis

    old = "a\nb\nc\nd\ne\nf\n"
    new = "A\na\nb\nC\nd\ne\nF\nf\n"
    v = View(Analysis(text=old, version=1, label="f", path=Path("f")), new, LineIndex(new))
    assert [v.to_old(n) for n in range(1, 10)] == [None, 1, 2, None, 4, 5, None, 6, 7]
    assert [v.to_new(n) for n in range(1, 8)] == [2, 3, None, 5, 6, 8, 9]
    assert v.range(Span("f", 3, 1, 3, 2)) is None
    assert v.range(Span("f", 4, 1, 4, 2)).start == types.Position(line=4, character=0)


# ---- the cursor's context ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, top, callee, prev, given",
    [
        ("net n {\n  x = conv(", "(", "conv", "(", set()),
        ("net n {\n  x = conv(16, k = 3, ", "(", "conv", ",", {"k"}),
        ('net n {\n  x = upsample(mode = "', "(", "upsample", '"', {"mode"}),
        ("net n {\n  x = conv(8) -> ", "{", "body", "->", set()),
        ("block b(c, k = 3) {\n  columns(2) {\n    ", "{", "columns", "{", set()),
        ("net n(w = 1.0) extends m(", "(", "m", "(", set()),
        ("net n {\n  x = conv(8)  # a ( comment {\n  y = ", "{", "body", "=", set()),
    ],
)
def test_scan_finds_the_open_call_and_the_keywords_given(text, top, callee, prev, given):
    ctx = scan(text, len(text))
    assert ctx.top.char == top and ctx.top.callee == callee and ctx.prev == prev
    assert ctx.top.kwargs == given


def test_scan_collects_the_names_bound_so_far():
    text = "import std\n\nblock b(c, k = 3) {\n  a = conv(c)\n  g = a -> relu\n  mul(a, "
    ctx = scan(text, len(text))
    assert ctx.definition == "block" and ctx.def_name == "b"
    assert ctx.params == ["c", "k"] and ctx.tensors == ["a", "g"]
    assert ctx.top.callee == "mul" and ctx.top.positional == 1


# ---- code actions and formatting ---------------------------------------------------------


def _doc(text: str, tmp_path: Path) -> Document:
    path = tmp_path / "spec.arch"
    path.write_text(text)
    doc = Document(path.as_uri(), text, 1, path)
    doc.record(analyze(text, path, doc.parser, 1, isolated=True))
    return doc


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    idx = LineIndex(text)
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: idx.offset(e.range.start)] + e.new_text + text[idx.offset(e.range.end) :]
        idx = LineIndex(text)
    return text


def _actions(doc: Document, code: str) -> list[types.CodeAction]:
    diags = [d for d in diagnostics(doc.latest, doc.lines(), None) if d.code == code]
    assert diags, f"no {code} in {[d.code for d in diagnostics(doc.latest, doc.lines(), None)]}"
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=doc.uri),
        range=diags[0].range,
        context=types.CodeActionContext(diagnostics=diags[:1]),
    )
    return code_actions.code_actions(doc, params, UTF16)


NET = """net example {{
    input image [3, 32, 32]
    meta {{ imagenet_top1 = 76.0  family = "attendnext" }}  # the paper's AD rules apply
{body}
    head = gap -> flatten -> linear(10)
}}
"""


def _codes_after(text: str, tmp_path: Path) -> set[str]:
    doc = _doc(text, tmp_path)
    return {d.code for d in doc.latest.errors} | {f.code for f in doc.latest.findings}


def test_fix_drops_a_bias_that_batch_norm_cancels(tmp_path):
    text = NET.format(body="    stem = conv(16, k = 3, bias = true) -> bn -> relu")
    doc = _doc(text, tmp_path)
    (fix,) = [a for a in _actions(doc, "AR208") if a.title.startswith("Drop")]
    fixed = _apply(text, fix.edit.changes[doc.uri])
    assert "stem = conv(16, k = 3) -> bn -> relu" in fixed
    assert "AR208" not in _codes_after(fixed, tmp_path)


def test_fix_removes_a_stale_noqa(tmp_path):
    text = NET.format(body="    stem = conv(16, k = 3) -> bn -> relu  # archdsl: noqa AD102")
    doc = _doc(text, tmp_path)
    (fix,) = _actions(doc, "AQ001")
    fixed = _apply(text, fix.edit.changes[doc.uri])
    assert "    stem = conv(16, k = 3) -> bn -> relu\n" in fixed
    assert "AQ001" not in _codes_after(fixed, tmp_path)
    partly = NET.format(body="    stem = conv(16, k = 3, s = 2) -> bn -> relu  # archdsl: noqa AD103, AD102")
    doc = _doc(partly, tmp_path)
    (fix,) = _actions(doc, "AQ001")
    assert "# archdsl: noqa AD103\n" in _apply(partly, fix.edit.changes[doc.uri])


def test_fix_deletes_an_unused_block_with_its_comment(tmp_path):
    text = "# a helper\n# nobody uses\nblock helper(c) {\n    conv(c)\n}\n\n" + NET.format(body="    stem = conv(16)")
    doc = _doc(text, tmp_path)
    (fix,) = [a for a in _actions(doc, "AS301") if a.title.startswith("Delete")]
    fixed = _apply(text, fix.edit.changes[doc.uri])
    assert fixed == NET.format(body="    stem = conv(16)")


def test_noqa_joins_an_existing_directive(tmp_path):
    text = NET.format(body="    stem = conv(16, k = 1, s = 2) -> bn -> relu  # archdsl: noqa AD103")
    doc = _doc(text, tmp_path)
    fix = next(a for a in _actions(doc, "AD102") if "on this line" in a.title)
    assert "# archdsl: noqa AD103, AD102" in _apply(text, fix.edit.changes[doc.uri])


def test_formatting_goes_through_archdsl_fmt(tmp_path, monkeypatch):
    calls = []

    def format_text(text: str, file: str = "<stdin>") -> str:
        calls.append(file)
        if "(((" in text:
            raise DiagnosticError([])
        return text.replace("  ->  ", " -> ")

    monkeypatch.setitem(sys.modules, "archdsl.fmt", pytypes.SimpleNamespace(format_text=format_text))
    text = NET.format(body="    stem = conv(16)  ->  bn")
    doc = _doc(text, tmp_path)
    (edit,) = formatting.formatting(doc, UTF16)
    assert edit.new_text == text.replace("  ->  ", " -> ") and calls == [str(doc.path)]
    assert edit.range.start == types.Position(line=0, character=0)
    assert edit.range.end == doc.lines().position(len(text))
    doc.set_text(text.replace("  ->  ", " -> "), 2)
    assert formatting.formatting(doc, UTF16) == []
    doc.set_text("(((", 3)
    assert formatting.formatting(doc, UTF16) is None


def test_formatting_without_the_formatter_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "archdsl.fmt", None)  # import archdsl.fmt raises ImportError
    doc = _doc(NET.format(body="    stem = conv(16)"), tmp_path)
    with pytest.raises(formatting.FormatterMissing):
        formatting.formatting(doc, UTF16)


def test_archdsl_lsp_without_pygls_exits_3_and_says_how_to_install_it():
    import subprocess

    blocker = (
        "import sys\n"
        "class B:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'pygls', 'lsprotocol'}:\n"
        "            raise ImportError('blocked: ' + name, name=name)\n"
        "sys.meta_path.insert(0, B())\n"
        "sys.argv = ['archdsl', 'lsp']\n"
        "from archdsl.cli import main\n"
        "main()\n"
    )
    res = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 3, res.stderr
    assert "the language server needs pygls" in res.stderr and "pip install 'archdsl[lsp]'" in res.stderr
    assert "Traceback" not in res.stderr


# ---- the same diagnostics as archdsl check and archdsl lint --------------------------------

BROKEN = {
    "typo": ("dcac(mid = 8", "dcax(mid = 8"),
    "keyword": ("conv(32, k = 3)", "conv(32, kernel = 3)"),
    "name": ("10 * width", "10 * widht"),
    "shape": ("conv(32, k = 3, groups = 4)", "conv(30, k = 3, groups = 4)"),
    "syntax": ("linear(classes)", "linear(classes"),
}


@pytest.mark.parametrize("case", [None, *BROKEN], ids=lambda c: c or "clean")
def test_diagnostics_are_those_of_check_and_lint(case, tmp_path):
    import json
    import subprocess

    text = ATTENDNEXT.read_text()
    if case is not None:
        text = text.replace(*BROKEN[case])
    spec = tmp_path / "attendnext.arch"
    spec.write_text(text)
    analysis = analyze(text, spec, IncrementalParser(), 1)

    def cli(*args):
        res = subprocess.run(
            [sys.executable, "-m", "archdsl", *args], capture_output=True, text=True, cwd=tmp_path, timeout=120
        )
        return res

    check = json.loads(cli("check", "--format", "json", str(spec)).stdout or "[]")
    ours = [d.to_json() for d in analysis.errors]
    assert ours == check
    if case is None:
        lint = json.loads(cli("lint", "--format", "json", "--isolated", str(spec)).stdout)["findings"]
        # the lint configuration of the checkout applies to both (the spec is outside it: the defaults)
        assert [f.to_json() for f in analysis.findings] == lint
        assert lint  # attendnext has AR203 infos
    else:
        assert analysis.findings == []  # a spec that does not compile is not linted (lint's exit 4)


def test_analysis_reports_the_errors_of_a_space_definition(tmp_path):
    text = (
        "import std\nnet n(width = 1.0) {\n    input image [3, 8, 8]\n    y = conv(make_divisible(8 * width, 8))\n}\n"
        "space s extends n {\n    width = choice()\n    widht = 1.0\n}\n"
    )
    path = tmp_path / "s.arch"
    analysis = analyze(text, path, IncrementalParser(), 1, lint=False)
    assert [(d.code, d.span.line) for d in analysis.errors] == [("E341", 7), ("E302", 8)]

"""archdsl's own LALR driver and contextual lexer (archdsl/syntax/lalr.py) against Lark's.

``parse_text`` no longer runs Lark; Lark is the reference. The two must lex the same tokens (types,
text, every position), and on any text (the specs of the repository, and those specs mutated: text
deleted, duplicated, characters and tokens inserted) give the same AST or the same diagnostics.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark.exceptions import UnexpectedInput

from archdsl.diagnostics import DiagnosticError, normalize_source
from archdsl.syntax import parse_text
from archdsl.syntax.parser import _fast_parser, _parser, _ToAst
from tests.conftest import ROOT
from tests.test_parser_fast import _old as _lark  # parse_text as Lark does it: its parser, its tree, the walk

FILES = sorted(p for p in ROOT.rglob("*.arch") if ".venv" not in p.parts and "build" not in p.parts)
SPECS = [*[p for p in FILES if "hostile" not in p.parts][:60], ROOT / "archdsl" / "stdlib" / "std.arch"]


def _outcome(fn, text: str, file: str):
    try:
        return "ast", fn(text, file)
    except DiagnosticError as exc:
        return "diags", [(d.code, d.message, d.span, d.help, d.notes) for d in exc.diagnostics]


def _same(text: str, file: str = "m.arch"):
    assert _outcome(parse_text, text, file) == _outcome(_lark, text, file)


def _lark_tokens(text: str) -> list[tuple]:
    session = _parser().parse_interactive(text)
    toks = list(session.iter_parse())
    session.feed_eof(toks[-1] if toks else None)
    return [(t.type, str(t), t.start_pos, t.line, t.column, t.end_line, t.end_column, t.end_pos) for t in toks]


def _our_tokens(text: str) -> list[tuple]:
    toks: list = []
    _fast_parser().parse(text, _ToAst("t.arch", text), toks.append)
    return [(t.type, t.value, t.start_pos, t.line, t.column, t.end_line, t.end_column, t.end_pos) for t in toks]


@pytest.mark.parametrize("path", SPECS, ids=[str(p.relative_to(ROOT)) for p in SPECS])
def test_the_same_tokens_as_lark(path):
    text = normalize_source(path.read_text(encoding="utf-8"))
    try:
        expected = _lark_tokens(text)
    except UnexpectedInput:
        pytest.skip("not a valid spec")
    assert _our_tokens(text) == expected


TOKENS_TEXT = (
    'net n {\n  input x [3, 8, 8]\n  # c\n  y = conv(4, k = 3) -> bn * 2 first(s = 2)\n  meta { d = "a\\"b" }\n'
    "  z = columns(2) {\n a: conv(1) if 1 <= 2 ** -3 and not true\n b: residual { bn } shortcut { relu }\n }\n}\n"
)


def test_keywords_operators_strings_and_comments_lex_alike():
    assert _our_tokens(TOKENS_TEXT) == _lark_tokens(TOKENS_TEXT)


_INSERTS = [
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    "=",
    "->",
    "*",
    "**",
    "'",
    "@",
    '"',
    "#",
    "\n",
    " ",
    "1e99",
    "1234567890123456789012",
    '"\\q"',
    "net",
    "block",
    "first",
    "if",
    "else",
    "meta",
    "columns",
    "x",
    ":",
    ".",
    "==",
    "\t",
    "$",
    "\u00e9",
]


def _mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        if not text:
            return rng.choice(_INSERTS)
        i = rng.randrange(len(text) + 1)
        kind = rng.randrange(4)
        if kind == 0:  # delete a stretch
            text = text[:i] + text[i + rng.randint(1, 12) :]
        elif kind == 1:  # insert a token or a character
            text = text[:i] + rng.choice(_INSERTS) + text[i:]
        elif kind == 2:  # duplicate a stretch
            j = min(len(text), i + rng.randint(1, 30))
            text = text[:j] + text[i:j] + text[j:]
        else:  # cut the file short
            text = text[:i]
    return text


def test_mutated_specs_give_the_same_ast_or_the_same_diagnostics():
    rng = random.Random(16)
    texts = [p.read_text(encoding="utf-8") for p in SPECS]
    for _ in range(1500):
        _same(_mutate(rng.choice(texts), rng))


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_mutations_chosen_by_hypothesis(data):
    path = data.draw(st.sampled_from(SPECS[:20]))
    text = path.read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            text = text[:i] + data.draw(st.sampled_from(_INSERTS) | st.text(max_size=3)) + text[i:]
        else:
            text = text[:i] + text[i + data.draw(st.integers(1, 20)) :]
    _same(text)


def test_tokens_of_small_texts_chosen_by_hypothesis():
    """Short texts of the language's characters: the same outcome, and when they parse, the same tokens."""

    @settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from([*_INSERTS, "block b {", "net n {", "y = a", "}"]), max_size=12))
    def check(parts):
        text = " ".join(parts)
        _same(text)
        try:
            expected = _lark_tokens(normalize_source(text))
        except UnexpectedInput:
            return
        assert _our_tokens(normalize_source(text)) == expected

    check()


def test_parse_text_does_not_import_lark():
    code = (
        "import sys, json\n"
        "from archdsl.syntax import parse_text\n"
        "from archdsl.diagnostics import DiagnosticError\n"
        "parse_text(open('specs/attendnext.arch').read())\n"
        "try:\n    parse_text('net n {\\n  y = = 1\\n}\\n')\nexcept DiagnosticError:\n    pass\n"
        "try:\n    parse_text(\"net n { y = 'a' }\")\nexcept DiagnosticError:\n    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'lark')))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []


def test_tables_made_for_another_grammar_are_read_off_a_built_parser(monkeypatch):
    """An edited grammar (tables not regenerated): the runtime comes from Lark's parser in memory."""
    import archdsl_grammars

    from archdsl.syntax import lalr

    text = archdsl_grammars.grammar_text() + "\n// changed\n"
    monkeypatch.setattr(archdsl_grammars, "grammar_text", lambda name="arch.lark": text)
    runtime = lalr.load_runtime()
    shipped = json.loads(archdsl_grammars.read_text(lalr.RUNTIME_FILE))["runtime"]
    assert runtime.rules == shipped["rules"] and len(runtime.states) == len(shipped["states"])
    spec = (ROOT / "specs" / "attendnext.arch").read_text(encoding="utf-8")
    ast_new = _fast_parser().parse(spec, _ToAst("a.arch", spec))
    from archdsl.syntax.fastbuild import FastParser

    assert FastParser(runtime).parse(spec, _ToAst("a.arch", spec)) == ast_new


def test_the_shipped_runtime_tables_are_those_of_the_grammar():
    """Stale runtime tables fail here: regenerate them with scripts/gen_parser_tables.py."""
    from archdsl_grammars import grammar_text

    from archdsl.syntax.lalr import RUNTIME_FILE
    from archdsl.syntax.tables import runtime_json

    assert runtime_json(grammar_text()) == (ROOT / "grammars" / RUNTIME_FILE).read_text(encoding="utf-8")


def test_damaged_runtime_tables_are_read_off_a_built_parser(monkeypatch):
    import archdsl_grammars

    from archdsl.syntax import lalr

    original = archdsl_grammars.read_text
    monkeypatch.setattr(archdsl_grammars, "read_text", lambda n: "{" if n == lalr.RUNTIME_FILE else original(n))
    runtime = lalr.load_runtime()
    assert runtime.rules == _fast_parser().runtime.rules

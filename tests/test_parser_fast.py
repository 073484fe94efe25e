"""The AST built while parsing (archdsl/syntax/fastbuild.py) is the AST of Lark's tree walked after.

``parse_text`` drives Lark's LALR parser with fused callbacks; ``build_ast(parse_tree(...))`` is the
old path (Lark's tree, then the walk), still what the formatter uses. Both must accept, refuse and
locate exactly alike: the same AST (spans included) or the same diagnostics, on every spec of the
repository, the hostile corpus, generated specs and the nesting and error-order corner cases.
"""

from __future__ import annotations

import pytest
from lark.exceptions import UnexpectedInput

from archdsl.diagnostics import DiagnosticError, normalize_source
from archdsl.syntax import parse_text
from archdsl.syntax.errors import syntax_diagnostic
from archdsl.syntax.parser import _parser, build_ast, check_source, parse_tree
from tests.conftest import ROOT

FILES = sorted(p for p in ROOT.rglob("*.arch") if ".venv" not in p.parts and "build" not in p.parts)


def _outcome(fn, text: str, file: str):
    try:
        return "ast", fn(text, file)
    except DiagnosticError as exc:
        return "diags", [(d.code, d.message, d.span, d.help) for d in exc.diagnostics]


def _old(text: str, file: str):
    """parse_text as it was: Lark's tree first, the walk after."""
    text = normalize_source(text)
    check_source(text, file)
    try:
        tree = parse_tree(text)
    except UnexpectedInput as exc:
        raise DiagnosticError(syntax_diagnostic(exc, text, file, _parser().terminals)) from None
    return build_ast(tree, text, file)


def _same(text: str, file: str = "x.arch"):
    new, old = _outcome(parse_text, text, file), _outcome(_old, text, file)
    assert new == old


def test_the_corpus_is_there():
    assert len(FILES) > 100


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_every_spec_of_the_repository(path):
    _same(path.read_text(encoding="utf-8", errors="replace"), str(path))


CASES = {
    "empty": "",
    "comments only": "# a\n# b\n",
    "doc comments": "# the block\nblock b(c) {\n    conv(c)\n}\n# net\nnet n {\n    input x [3, 8, 8]\n"
    "    y = b(4)\n}\n",
    "parens": "net n {\n    input x [3, 8, 8]\n    y = conv(((4 + 2)) * (3))\n}\n",
    "bad number then syntax error": "net n {\n    y = conv(1234567890123456789012)\n    z = = \n}\n",
    "two bad numbers": "net n {\n    y = conv(1234567890123456789012)\n    z = conv(99999999999999999999999)\n}\n",
    "bad escape": 'net n {\n    meta { a = "\\q" }\n}\n',
    "two on a line": "net n {\n    input x [3, 8, 8]\n    a = conv(4) b = conv(4)\n}\n",
    "deep parens": "net x { a = " + "(" * 3000 + "conv" + ")" * 3000 + " }",
    "deep columns": "net n {\n    y = " + "columns(2) { " * 150 + "conv(4)" + " }" * 150 + "\n}\n",
    "moderately deep": "net n {\n    y = conv(" + "(" * 60 + "1" + ")" * 60 + ")\n}\n",
    "unclosed": "net n {\n    y = conv(4\n",
}


@pytest.mark.parametrize("name", list(CASES))
def test_corner_cases(name):
    _same(CASES[name])


def test_a_generated_spec():
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from core_speed import generated_spec
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    _same(generated_spec(1000), "gen.arch")


def test_trusted_node_is_model_construct():
    """The resolver's fast Node constructor makes the object ``Node.model_construct`` makes."""
    from archdsl.diagnostics import Span
    from archdsl.ir import Node, trusted_node
    from archdsl.ops import OPS, TensorType

    args = OPS["relu"].args()
    fields = dict(
        id="s.relu", op="relu", args=args, inputs=("x",), out=TensorType(shape=(3, 8, 8)), params=0, macs=192,
        span=Span("f.arch", 1, 2, 1, 6),
    )  # fmt: skip
    fast, slow = trusted_node(**fields), Node.model_construct(**fields)
    assert fast == slow
    assert fast.__dict__ == slow.__dict__ and list(fast.__dict__) == list(slow.__dict__)
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump(mode="json") == slow.model_dump(mode="json")
    assert Node.model_validate(fast.model_dump()) == fast

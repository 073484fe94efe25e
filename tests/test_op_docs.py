"""The op tables of docs/language.md and docs/ir.md are generated from the op registry
(scripts/gen_op_docs.py) and must be up to date; an op added to the registry shows up in them."""

from __future__ import annotations

import dataclasses
import importlib.util
import re

import pytest

from archdsl.ops import OPS, Traits
from tests.conftest import ROOT


def _gen():
    spec = importlib.util.spec_from_file_location("gen_op_docs", ROOT / "scripts" / "gen_op_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = _gen()


def _between(text: str, marker: str) -> str:
    return text.split(f"<!-- {marker}:begin -->", 1)[1].split(f"<!-- {marker}:end -->", 1)[0]


def test_generated_op_tables_are_up_to_date():
    assert GEN.stale() == [], "run: python scripts/gen_op_docs.py"


def test_every_op_has_a_row_in_each_table():
    language = _between((ROOT / "docs" / "language.md").read_text(), "ops")
    ir = (ROOT / "docs" / "ir.md").read_text()
    semantics, weights = _between(ir, "op-semantics"), _between(ir, "op-weights")
    for name, spec in OPS.items():
        assert re.search(rf"^\| `{name}` \|", language, re.M), name
        assert re.search(rf"^\| `{name}[(`]", semantics, re.M), name
        node, ins = GEN.example_node(spec)
        has_weights = bool(spec.weights(node.args, ins, node.out))
        assert bool(re.search(rf"^\| `{name}` \|", weights, re.M)) == has_weights, name


def test_rows_come_from_the_schema_and_the_weights():
    language = _between((ROOT / "docs" / "language.md").read_text(), "ops")
    conv = next(ln for ln in language.splitlines() if ln.startswith("| `conv` |"))
    assert "| `c, k, s` | `k = 1, s = 1, p = none, d = 1, groups = 1, bias = false` |" in conv
    assert OPS["conv"].doc in conv
    ir = (ROOT / "docs" / "ir.md").read_text()
    assert "| `conv(c, k, s, p, d, groups, bias)` |" in _between(ir, "op-semantics")
    bn = next(ln for ln in _between(ir, "op-weights").splitlines() if ln.startswith("| `bn` |"))
    assert "`ID.running_var` `[8]` buffer" in bn and "`ID.weight` `[8]` ones" in bn


def test_a_registered_op_appears_in_the_generated_tables(monkeypatch):
    spec = dataclasses.replace(
        OPS["layernorm"],
        name="xnorm",
        traits=Traits(norm=True, per_pixel=True),
        doc="a norm registered by the test",
        semantics="what the test says",
    )
    monkeypatch.setitem(OPS, "xnorm", spec)
    docs = GEN.generate()
    assert "| `xnorm` | | `eps = 1e-5` | a norm registered by the test |" in docs["language.md"]
    assert "| `xnorm(eps)` | what the test says |" in docs["ir.md"]
    assert re.search(r"^\| `xnorm` \| `xnorm` on `\[8, 16, 16\]` \| `ID.weight` `\[8\]` ones", docs["ir.md"], re.M)
    assert sorted(GEN.stale()) == ["editors/vscode/syntaxes/archdsl.tmLanguage.json", "ir.md", "language.md"]
    assert "|xnorm)" in GEN.editor_grammar(GEN.EDITOR_GRAMMAR.read_text())


def test_an_op_in_an_unknown_category_is_refused(monkeypatch):
    monkeypatch.setitem(OPS, "xnorm", dataclasses.replace(OPS["layernorm"], name="xnorm", category="fancy"))
    with pytest.raises(GEN.DocsError, match="fancy"):
        GEN.generate()


def test_markers_are_required(tmp_path):
    for name in GEN.TARGETS:
        (tmp_path / name).write_text("# no markers\n")
    with pytest.raises(GEN.DocsError, match="ops:begin"):
        GEN.generate(tmp_path)


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "none"), (True, "true"), (1e-5, "1e-5"), (0.1, "0.1"), (1.0, "1.0"), ("nearest", '"nearest"'), (3, "3")],
)
def test_defaults_are_written_as_the_language_writes_them(value, text):
    assert GEN.literal(value) == text


def test_the_check_mode_exits_non_zero_when_stale(monkeypatch, capsys):
    assert GEN.main(["--check"]) == 0
    monkeypatch.setitem(OPS, "xnorm", dataclasses.replace(OPS["layernorm"], name="xnorm"))
    assert GEN.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err

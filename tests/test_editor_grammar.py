"""The editor packages: the TextMate grammar's keywords are the Lark grammar's, its op names the op
registry's, its functions the expression builtins; the VS Code package is complete and starts
``archdsl lsp``."""

from __future__ import annotations

import json
import re

import pytest

from archdsl.ops import OPS
from archdsl.resolve.functions import FUNCTIONS as BUILTINS
from tests.conftest import ROOT

VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = VSCODE / "syntaxes" / "archdsl.tmLanguage.json"
KEYWORD_RULES = (
    "keyword-definition",
    "keyword-statement",
    "keyword-construct",
    "keyword-control",
    "keyword-logical",
    "constant",
)


def lark_keywords() -> set[str]:
    """The words among the Lark grammar's string literals ("import", "block" ...)."""
    text = (ROOT / "grammars" / "arch.lark").read_text()
    text = "\n".join(line.split("//", 1)[0] for line in text.splitlines())  # drop comments
    return {w for w in re.findall(r'"([^"\\]*)"', text) if re.fullmatch(r"[A-Za-z_]+", w)}


def alternatives(pattern: str) -> list[str]:
    """The words of a ``\\b(?:a|b|c)\\b`` pattern."""
    m = re.search(r"\(\?:([A-Za-z0-9_|]+)\)", pattern)
    assert m, pattern
    return m.group(1).split("|")


@pytest.fixture(scope="module")
def grammar() -> dict:
    return json.loads(GRAMMAR.read_text())


def test_textmate_keywords_are_the_lark_keywords(grammar):
    words: list[str] = []
    for rule in KEYWORD_RULES:
        words += alternatives(grammar["repository"][rule]["match"])
    keywords = lark_keywords()
    assert keywords  # the grammar has keywords at all: the parse above works
    assert sorted(set(words)) == sorted(keywords)
    # storage.type repeats none of the others; each keyword has one colour
    assert len(words) == len(set(words))


def test_textmate_ops_and_functions_are_the_registries(grammar):
    assert sorted(alternatives(grammar["repository"]["op"]["match"])) == sorted(OPS)
    assert sorted(alternatives(grammar["repository"]["function"]["match"])) == sorted(BUILTINS)


def test_every_rule_is_included_and_every_regex_compiles(grammar):
    repo = grammar["repository"]
    included = {p["include"].lstrip("#") for p in grammar["patterns"]}
    assert included == set(repo)

    def regexes(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("match", "begin", "end") and isinstance(v, str):
                    yield v
                else:
                    yield from regexes(v)
        elif isinstance(node, list):
            for v in node:
                yield from regexes(v)

    for rx in regexes(grammar):
        re.compile(rx)  # the patterns keep to what Python's re and Oniguruma share


def _scopes(grammar, line: str) -> dict[str, str]:
    """A crude TextMate run (first match wins at each position) → word → scope name."""
    repo = grammar["repository"]
    order = [p["include"].lstrip("#") for p in grammar["patterns"]]
    out: dict[str, str] = {}
    pos = 0
    while pos < len(line):
        best = None
        for name in order:
            rule = repo[name]
            rx = rule.get("match") or rule.get("begin")
            if rx is None:
                subs = [(p["match"], p["name"]) for p in rule["patterns"]]
            else:
                subs = [(rx, rule.get("name"))]
            for rx, scope in subs:
                m = re.compile(rx).search(line, pos)
                if m and (best is None or m.start() < best[0].start()):
                    best = (m, scope, rule)
        if best is None:
            break
        m, scope, rule = best
        if "captures" in rule:
            for i, cap in rule["captures"].items():
                if m.group(int(i)):
                    out[m.group(int(i)).strip()] = cap["name"]
        elif rule.get("begin"):
            end = re.compile(rule["end"]).search(line, m.end())
            stop = end.end() if end else len(line)
            out[line[m.start() : stop]] = scope
            pos = stop
            continue
        else:
            out[m.group()] = scope
        pos = max(m.end(), pos + 1)
    return out


def test_a_line_of_a_spec_gets_the_expected_colours(grammar):
    got = _scopes(grammar, '    stem = conv(32, k = 3, groups = in.c) -> bn -> se(act = "silu") * 2 if true')
    assert got["stem"] == "variable.other.definition.archdsl"
    assert got["conv"] == "support.function.op.archdsl"
    assert got["k"] == "variable.parameter.archdsl"
    assert got["in"] == "variable.language.block-input.archdsl"
    assert got["->"] == "keyword.operator.pipeline.archdsl"
    assert got['"silu"'] == "string.quoted.double.archdsl"
    assert got["32"] == "constant.numeric.archdsl"
    assert got["if"] == "keyword.control.conditional.archdsl"
    assert got["true"] == "constant.language.archdsl"
    assert _scopes(grammar, "block dcac(r = 2) {")["dcac"] == "entity.name.function.archdsl"
    assert _scopes(grammar, "    x = y  # archdsl: noqa AD102")["# archdsl: noqa AD102"].startswith("comment.line")


def test_the_vscode_package_is_complete_and_starts_archdsl_lsp():
    pkg = json.loads((VSCODE / "package.json").read_text())
    (lang,) = pkg["contributes"]["languages"]
    assert lang["id"] == "archdsl" and lang["extensions"] == [".arch"]
    assert (VSCODE / lang["configuration"]).is_file()
    (gram,) = pkg["contributes"]["grammars"]
    assert gram["language"] == "archdsl" and (VSCODE / gram["path"]).resolve() == GRAMMAR.resolve()
    assert gram["scopeName"] == json.loads(GRAMMAR.read_text())["scopeName"]
    assert (VSCODE / pkg["main"]).is_file()
    props = pkg["contributes"]["configuration"]["properties"]
    assert props["archdsl.server.command"]["default"] == ["archdsl", "lsp"]
    entry = (VSCODE / pkg["main"]).read_text()
    assert 'config.get("server.command", ["archdsl", "lsp"])' in entry
    for option in ("debounceMs", "lint", "docsUrl"):  # the server's initialisation options
        assert f"{option}:" in entry
        assert option in (ROOT / "archdsl" / "lsp" / "server.py").read_text()
    conf = json.loads((VSCODE / lang["configuration"]).read_text())
    assert conf["comments"] == {"lineComment": "#"}
    assert ["(", ")"] in conf["brackets"] and ["{", "}"] in conf["brackets"] and ["[", "]"] in conf["brackets"]

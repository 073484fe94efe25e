"""Every example in docs/language.md is a complete spec that checks clean."""

from __future__ import annotations

import re

import pytest

from archdsl.resolve import Resolver, load_program
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "language.md").read_text()
EXAMPLES = re.findall(r"```arch\n(.*?)```", DOC, flags=re.S)


def test_the_reference_has_examples_for_every_section():
    sections = re.findall(r"^## (.+)$", DOC, flags=re.M)
    assert len(EXAMPLES) >= 14, len(EXAMPLES)
    assert len(sections) >= 18


@pytest.mark.parametrize("text", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_example_resolves(text, tmp_path):
    path = tmp_path / "example.arch"
    path.write_text(text)
    prog = load_program(path)
    resolver = Resolver(prog)
    assert resolver.net_names(), "each example defines a net"
    for name in resolver.net_names():
        g = resolver.resolve(name)
        assert g.nodes
    for sdef in prog.root.spaces:  # a search space: its definition and the points check resolves
        from archdsl.space import check_space, load_space

        assert check_space(load_space(path, name=sdef.name))[1] == []


def test_every_standard_block_is_listed_and_documented():
    std = (ROOT / "archdsl" / "stdlib" / "std.arch").read_text()
    lines = std.splitlines()
    names = re.findall(r"^block (\w+)", std, flags=re.M)
    assert names
    for name in names:
        assert f"`{name}`" in DOC, f"std block {name} is missing from docs/language.md"
        idx = next(i for i, ln in enumerate(lines) if ln.startswith(f"block {name}("))
        assert lines[idx - 1].startswith("#"), f"std block {name} has no documentation comment"

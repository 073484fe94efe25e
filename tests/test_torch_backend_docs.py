"""docs/backends.md stays true: its worked example of a third-party backend runs as written.

The example's code block is written to a file and imported from there (as an installed package
would be), then driven through the hook's protocol the way ``archdsl compile`` drives a backend.
"""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest

import archdsl
from archdsl.backend import GROUP, Backend, CompileRequest
from archdsl.diagnostics import DiagnosticError
from tests.conftest import ROOT

DOC = ROOT / "docs" / "backends.md"


def _blocks(lang: str) -> list[str]:
    text = DOC.read_text()
    section = text.split("## A worked example", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", section, flags=re.S)


@pytest.fixture(scope="module")
def mermaid(tmp_path_factory):
    (code,) = _blocks("python")
    path = tmp_path_factory.mktemp("plugin") / "archdsl_mermaid.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("archdsl_mermaid", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["archdsl_mermaid"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop("archdsl_mermaid", None)
    return module.BACKEND


def test_entry_point_snippet_uses_the_hook_group():
    (toml,) = _blocks("toml")
    assert f'[project.entry-points."{GROUP}"]' in toml
    assert 'mermaid = "archdsl_mermaid:BACKEND"' in toml


def test_example_backend_compiles(mermaid, tmp_path):
    assert isinstance(mermaid, Backend)
    graph = archdsl.load(ROOT / "specs" / "attendnext.arch")
    assert mermaid.unsupported(graph) == []
    out = tmp_path / "attendnext.mmd"
    result = mermaid.compile(graph, CompileRequest(output=out, options={"direction": "LR"}))
    assert result.artefacts == [out]
    text = out.read_text()
    assert text.startswith("flowchart LR\n")
    assert text.count("-->") == sum(len(n.inputs) for n in graph.nodes)


def test_example_backend_reports_unsupported_ops(mermaid):
    graph = archdsl.load(ROOT / "specs" / "baselines" / "mobilevit_xs.arch")
    diags = mermaid.unsupported(graph)
    assert diags and {d.code for d in diags} == {"B001"}
    assert "mermaid backend" in diags[0].message and diags[0].span is not None


def test_example_backend_rejects_bad_options(mermaid, tmp_path):
    graph = archdsl.load(ROOT / "specs" / "attendnext.arch")
    with pytest.raises(DiagnosticError):
        mermaid.compile(graph, CompileRequest(output=tmp_path / "x.mmd", options={"direction": "up"}))

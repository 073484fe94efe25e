"""The worked example of docs/evaluators.md: a third-party evaluator, installed as a distribution
with an entry point in the group archdsl.evaluators, is found by load_evaluator and scores a net."""

from __future__ import annotations

import re
import sys

import pytest

import archdsl
import archdsl.evaluators as evaluators
from archdsl.diagnostics import DiagnosticError
from tests.conftest import ROOT

PAGE = ROOT / "docs" / "evaluators.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", PAGE.read_text(), flags=re.S)


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """The page's module and entry point, as an installed distribution on sys.path."""
    (code,) = [b for b in blocks("python") if "EVALUATOR = " in b]
    (toml,) = [b for b in blocks("toml") if "archdsl.evaluators" in b]
    (tmp_path / "archdsl_params_proxy.py").write_text(code)
    name, target = re.search(r"^(\w+) = \"([^\"]+)\"$", toml.split("archdsl.evaluators")[1], flags=re.M).groups()
    dist = tmp_path / "archdsl_params_proxy-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: archdsl-params-proxy\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(f"[archdsl.evaluators]\n{name} = {target}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    evaluators._entry_points.cache_clear()
    yield name
    evaluators._entry_points.cache_clear()
    evaluators._LOADED.pop(name, None)
    sys.modules.pop("archdsl_params_proxy", None)


def test_the_documented_third_party_evaluator_is_found_and_evaluates(installed):
    assert installed == "params"
    assert "params" in evaluators.available()
    ev = evaluators.load_evaluator("params")
    assert isinstance(ev, evaluators.Evaluator) and not ev.needs_torch and ev.kind == "proxy"
    g = archdsl.load(ROOT / "specs" / "baselines" / "resnet18.arch")
    assert ev.evaluate(g) == pytest.approx(11.689512)  # timm's count, in millions
    with pytest.raises(DiagnosticError) as exc:
        ev.evaluate(g, options={"max_milions": 1})
    assert exc.value.diagnostics[0].code == "B503" and "max_millions" in exc.value.diagnostics[0].help
    with pytest.raises(DiagnosticError) as exc:
        ev.evaluate(g, options={"max_millions": 1})
    assert exc.value.diagnostics[0].code == "B505" and "resnet18" in exc.value.diagnostics[0].message

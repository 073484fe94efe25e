"""Lint presets: the default selection holds for well-known, good architectures; the AttendNeXt
design constraints (AD) are a preset that a project, a spec or a run opts into."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from archdsl.rules.config import LintConfig
from archdsl.rules.engine import Linter, LintUsageError, Overrides, lint_text
from tests.conftest import ROOT, run_cli

PRESET_SPECS = sorted((ROOT / "tests" / "fixtures" / "lint_presets").glob("*.arch"))
BASELINES = sorted((ROOT / "specs" / "baselines").glob("*.arch"))

SMALL = """\
import std
net small(classes = 10) {{
    input image [3, 32, 32]
{meta}
    stem = conv(16, k = 3, s = 2) -> bn -> relu
    body = conv(32, k = 1, s = 2) -> bn -> relu
    head = gap -> flatten -> linear(classes)
}}
"""


def _codes(result) -> set[str]:
    return {f.code for f in result.findings}


def _lint(path: Path, **overrides):
    return Linter(isolated=True, overrides=Overrides(**overrides)).lint_file(path)


def test_the_fixtures_are_the_five_families():
    assert {p.stem for p in PRESET_SPECS} == {
        "resnet50",
        "mobilenetv2",
        "efficientnet_b0",
        "convnext_tiny",
        "densenet121",
    }


@pytest.mark.parametrize("path", PRESET_SPECS + BASELINES, ids=lambda p: p.stem)
def test_good_architectures_pass_the_default_selection(path):
    result = _lint(path)
    assert not result.spec_errors
    assert not result.failing, [f"{f.code} {f.message}" for f in result.findings]
    assert not _codes(result) & {"AD101", "AD102", "AD103", "AD104", "AD105"}


@pytest.mark.parametrize("path", PRESET_SPECS + BASELINES, ids=lambda p: p.stem)
def test_the_attendnext_preset_still_flags_them(path):
    codes = _codes(_lint(path, preset="attendnext"))
    assert {"AD101", "AD103"} <= codes
    assert _codes(_lint(path, select=("AD",))) == {c for c in codes if c.startswith("AD")}


def test_resnet50s_strided_shortcut_is_an_ad_error_only():
    path = next(p for p in PRESET_SPECS if p.stem == "resnet50")
    assert "AD102" not in _codes(_lint(path))
    assert "AD102" in _codes(_lint(path, preset="attendnext"))


@pytest.mark.parametrize(
    "meta, expect_ad",
    [
        ("", False),
        ('    meta { family = "attendnext" }', True),
        ('    meta { lint = "attendnext" }', True),
        ('    meta { family = "attendnext"\n lint = "default" }', False),
        ('    meta { family = "resnet" }', False),
    ],
)
def test_a_spec_opts_into_the_preset_with_meta(meta, expect_ad):
    result = lint_text(SMALL.format(meta=meta), file="small.arch")
    assert ("AD102" in _codes(result)) is expect_ad


def test_an_explicit_selection_wins_over_meta():
    text = SMALL.format(meta='    meta { family = "attendnext" }')
    assert "AD102" not in _codes(lint_text(text, file="small.arch", select=["AR"]))
    cfg = LintConfig(select=("AS",))
    assert not _codes(lint_text(text, file="small.arch", config=cfg)) & {"AD102"}


def test_an_unknown_preset_in_meta_is_a_usage_error():
    with pytest.raises(LintUsageError, match=r"names no lint preset.*attendnext"):
        lint_text(SMALL.format(meta='    meta { lint = "attendnxt" }'), file="small.arch")


def test_project_preset_in_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.archdsl.lint]\npreset = "attendnext"\n')
    spec = tmp_path / "small.arch"
    spec.write_text(SMALL.format(meta=""))
    r = run_cli("lint", "--format", "json", str(spec), cwd=tmp_path)
    assert r.returncode == 1 and '"AD102"' in r.stdout
    (tmp_path / "pyproject.toml").write_text('[tool.archdsl.lint]\npreset = "attendnxt"\n')
    r = run_cli("lint", str(spec), cwd=tmp_path)
    assert r.returncode == 2 and "preset" in r.stderr and "attendnext" in r.stderr


def test_cli_preset_and_bad_preset(tmp_path):
    spec = tmp_path / "small.arch"
    spec.write_text(SMALL.format(meta=""))
    assert run_cli("lint", "--isolated", str(spec)).returncode == 0
    r = run_cli("lint", "--isolated", "--preset", "attendnext", str(spec))
    assert r.returncode == 1 and "AD102" in r.stdout
    r = run_cli("lint", "--preset", "nope", str(spec))
    assert r.returncode == 2 and "--preset must be one of default, attendnext" in r.stderr


def test_this_repository_lints_clean_and_the_baselines_keep_their_ad_findings():
    r = run_cli("lint", "specs/")
    assert r.returncode == 0, r.stdout[-2000:]
    r = run_cli("lint", "--select", "AD", "specs/baselines/")
    assert r.returncode == 1
    for code in ("AD101", "AD102", "AD103", "AD104"):
        assert code in r.stdout


def test_the_preset_table_documents_itself():
    from archdsl.rules.registry import PRESET_HELP, PRESETS, default_registry

    reg = default_registry()
    assert set(PRESETS) == set(PRESET_HELP)
    assert reg.preset("attendnext") - reg.preset("default") == {r.code for r in reg.expand("AD")}
    assert reg.preset("nope") is None
    doc = (ROOT / "docs" / "lint.md").read_text()
    assert textwrap.dedent('preset = "attendnext"') in doc

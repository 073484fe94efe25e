"""Lint configuration ([tool.archdsl.lint]), selection, severities, options, and noqa comments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archdsl.diagnostics import Severity
from archdsl.rules import config as cfgmod
from archdsl.rules.config import ConfigError, LintConfig
from archdsl.rules.engine import Linter, LintUsageError, Overrides, lint_text
from archdsl.rules.globmatch import Glob
from archdsl.rules.noqa import parse_directives
from archdsl.rules.registry import build_registry

REG = build_registry()

SPEC = """\
import std

net example {
    input image [3, 64, 64]
    meta { imagenet_top1 = 75.0 }
    stem = conv(20, k = 3, s = 2) -> bn -> relu
    stage1 = conv_bn_act(32) * 2
    down = conv(32, k = 1, s = 2) -> bn -> relu
    head = gap -> flatten -> linear(10)
}
"""


def codes(result) -> list[str]:
    return sorted({f.code for f in result.findings})


def write_project(tmp_path: Path, lint_table: str, spec: str = SPEC, name: str = "specs/net.arch") -> Path:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n[tool.archdsl.lint]\n{lint_table}\n')
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec)
    return path


# ---- selection ----------------------------------------------------------------------------------


def test_default_preset_leaves_out_ad_and_all_selects_every_rule():
    assert codes(lint_text(SPEC)) == ["AR203"]
    assert codes(lint_text(SPEC, select=["ALL"])) == ["AD101", "AD102", "AD103", "AD104", "AR203"]


def test_select_ignore_and_prefixes():
    assert codes(lint_text(SPEC, select=["AD"])) == ["AD101", "AD102", "AD103", "AD104"]
    cfg = LintConfig(select=("AD", "AR203"), ignore=("AD10",), extend_select=("AS",))
    assert codes(lint_text(SPEC, config=cfg)) == ["AR203"]
    cfg = LintConfig(select=("aliased-downsampling",))
    assert codes(lint_text(SPEC, config=cfg)) == ["AD103"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"select": ["AD1O1"]}, "select 'AD1O1' matches no rule"),
        ({"ignore": ["ZZ"]}, "ignore 'ZZ' matches no rule"),
        ({"fail-on": "warn"}, "'fail-on' must be one of"),
        ({"severity": {"AD101": "fatal"}}, "severity of AD101"),
        ({"selct": ["AD"]}, r"unknown key 'selct' in \[tool.archdsl.lint\]; did you mean 'select'"),
        ({"rules": {"AD101": {"min-colums": 3}}}, "min-colums"),
        ({"rules": {"AD101": {"min-columns": "many"}}}, "min-columns"),
        ({"rules": {"AD999": {}}}, "no rule has this code or name"),
        ({"per-file-ignores": {"*.arch": ["nope"]}}, "per-file-ignores"),
    ],
)
def test_invalid_configuration_is_a_usage_error(table, message):
    with pytest.raises(ConfigError, match=message):
        cfgmod.resolve(cfgmod.from_table(table, Path("."), None), REG)


def test_severity_override_and_fail_on():
    cfg = LintConfig(select=("AR203",), severity={"channels-not-divisible": Severity.ERROR})
    res = lint_text(SPEC, config=cfg)
    assert [f.severity for f in res.findings] == [Severity.ERROR] and res.failing
    info = lint_text(SPEC, select=["AR203"])
    assert info.findings and not info.failing  # info does not fail at the default fail-on = warning
    cfg = LintConfig(select=("AR203",), fail_on="info")
    assert lint_text(SPEC, config=cfg).failing
    cfg = LintConfig(select=("AD",), fail_on="never")
    assert not lint_text(SPEC, config=cfg).failing


# ---- files ----------------------------------------------------------------------------------------


def test_nearest_pyproject_with_a_tool_archdsl_table(tmp_path):
    spec = write_project(tmp_path, 'select = ["AD102"]')
    # a pyproject.toml without [tool.archdsl] in between is passed over
    (spec.parent / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    res = Linter().lint_paths([spec])
    assert codes(res) == ["AD102"]
    # --isolated ignores it
    assert "AR203" in codes(Linter(isolated=True).lint_paths([spec]))


def test_config_file_given_explicitly(tmp_path):
    spec = write_project(tmp_path, 'select = ["AD102"]')
    standalone = tmp_path / "lint.toml"
    standalone.write_text('select = ["AD103"]\n')
    assert codes(Linter(config=cfgmod.load_file(standalone)).lint_paths([spec])) == ["AD103"]
    assert codes(Linter(config=cfgmod.load_file(tmp_path / "pyproject.toml")).lint_paths([spec])) == ["AD102"]
    with pytest.raises(ConfigError, match="not found"):
        cfgmod.load_file(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("select = [\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        cfgmod.load_file(bad)


def test_per_file_ignores(tmp_path):
    write_project(
        tmp_path,
        'select = ["AD102", "AD103"]\n[tool.archdsl.lint.per-file-ignores]\n'
        '"specs/baselines/**" = ["AD103"]\n"legacy_*.arch" = ["AD"]\n',
    )
    for name in ("specs/baselines/deep/a.arch", "specs/b.arch", "other/legacy_c.arch"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(SPEC)
    res = Linter().lint_paths([tmp_path / "specs", tmp_path / "other"])
    by_file = {
        Path(fr.file).relative_to(tmp_path).as_posix(): sorted({f.code for f in fr.findings}) for fr in res.files
    }
    assert by_file == {
        "specs/baselines/deep/a.arch": ["AD102"],
        "specs/b.arch": ["AD102", "AD103"],
        "specs/net.arch": ["AD102", "AD103"],
        "other/legacy_c.arch": [],
    }


@pytest.mark.parametrize(
    ("glob", "path", "hit"),
    [
        ("specs/*.arch", "specs/a.arch", True),
        ("specs/*.arch", "specs/x/a.arch", False),
        ("specs/**/*.arch", "specs/a.arch", True),
        ("specs/**/*.arch", "specs/x/y/a.arch", True),
        ("specs/**", "specs/x/a.arch", True),
        ("a?.arch", "ab.arch", True),
        ("a?.arch", "a/b.arch", False),
    ],
)
def test_glob(glob, path, hit):
    assert Glob.compile(glob).match(path) == hit


def test_cli_overrides_apply_on_top_of_the_file(tmp_path):
    spec = write_project(tmp_path, 'select = ["AD102"]\nfail-on = "never"')
    over = Overrides(select=None, extend_select=("AD103",), ignore=("AD102",), fail_on="warning")
    res = Linter(overrides=over).lint_paths([spec])
    assert codes(res) == ["AD103"] and res.failed


# ---- rule options ---------------------------------------------------------------------------------


def test_columnar_options():
    spec = """\
import std

net n {
    input image [3, 64, 64]
    stem = conv(16, k = 3) -> bn -> relu
    stage1 = conv_bn_act(16, groups = 2)
    stage2 = conv_bn_act(16)
    head = gap -> flatten -> linear(10)
}
"""
    res = lint_text(spec, select=["AD101"])
    assert [f.message.split("'")[1] for f in res.findings] == ["stage2"]
    cfg = LintConfig(select=("AD101",), rule_options={"AD101": {"stage-min": {"stage1": 4}, "skip": ["stage2"]}})
    res = lint_text(spec, config=cfg)
    assert [f.message for f in res.findings] == [
        "stage 'stage1' computes in 2 columns; the columnar design wants at least 4 parallel columns after the stem"
    ]
    cfg = LintConfig(select=("AD101",), rule_options={"AD101": {"count-grouped": False, "stem": ["stem", "stage1"]}})
    assert [f.message.split("'")[1] for f in lint_text(spec, config=cfg).findings] == ["stage2"]


def test_antialias_options():
    spec = "net n {\n    input image [3, 32, 32]\n    stem = conv(8, k = 3) -> avgpool(2)\n}\n"
    assert codes(lint_text(spec, select=["AD103"])) == ["AD103"]
    cfg = LintConfig(select=("AD103",), rule_options={"aliased-downsampling": {"allow-avgpool": True}})
    assert codes(lint_text(spec, config=cfg)) == []


def test_budget_options_take_the_stricter_budget():
    spec = "net n {\n    input image [3, 32, 32]\n    meta { max_params = 100000 }\n    stem = conv(32, k = 3)\n}\n"
    assert codes(lint_text(spec, select=["AR201"])) == []
    cfg = LintConfig(select=("AR201",), rule_options={"AR201": {"max-params": 500}})
    (f,) = lint_text(spec, config=cfg).findings
    assert "budget of 500 (500) set by the lint configuration" in f.message


def test_accuracy_threshold_and_results_file(tmp_path):
    spec = "net n {\n    input image [3, 32, 32]\n    meta { imagenet_top1 = 76.0 }\n    stem = conv(8, k = 3)\n}\n"
    assert codes(lint_text(spec, select=["AD104", "AD105"])) == []
    cfg = LintConfig(select=("AD104",), rule_options={"AD104": {"threshold": 77}})
    assert codes(lint_text(spec, config=cfg)) == ["AD104"]
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"n": {"imagenet_top1": 75.1}}))
    cfg = LintConfig(select=("AD",), rule_options={"AD104": {"results": "results.json"}}, root=tmp_path)
    (f,) = lint_text(spec, config=cfg).findings
    assert f.code == "AD104" and "75.1% (results file results.json)" in f.message
    toml = tmp_path / "r.toml"
    toml.write_text("n = 80.0\n")
    nometa = "net n {\n    input image [3, 32, 32]\n    stem = conv(8, k = 3)\n}\n"
    cfg = LintConfig(select=("AD",), rule_options={"AD104": {"results": str(toml)}}, root=tmp_path)
    assert codes(lint_text(nometa, config=cfg)) == []
    cfg = LintConfig(select=("AD",), rule_options={"AD104": {"results": "missing.json"}}, root=tmp_path)
    with pytest.raises(LintUsageError, match="not found"):
        lint_text(nometa, config=cfg)


def test_accuracy_key_option_is_shared_with_unverified():
    spec = "net n {\n    input image [3, 32, 32]\n    meta { top1 = 76.0 }\n    stem = conv(8, k = 3)\n}\n"
    assert codes(lint_text(spec, select=["AD104", "AD105"])) == ["AD105"]
    cfg = LintConfig(select=("AD104", "AD105"), rule_options={"AD104": {"key": "top1"}})
    assert codes(lint_text(spec, config=cfg)) == []


# ---- noqa -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "codes_", "file_level"),
    [
        ("x  # archdsl: noqa AD102", ("AD102",), False),
        ("x  # archdsl: noqa: AD102, AR203", ("AD102", "AR203"), False),
        ("x  #archdsl:noqa AD1 AR -- because", ("AD1", "AR"), False),
        ("x  # archdsl: noqa", None, False),
        ("x  # archdsl: noqa because reasons", None, False),
        ("# archdsl: noqa-file AS301", ("AS301",), True),
    ],
)
def test_directive_parsing(line, codes_, file_level):
    (d,) = parse_directives(line + "\n", "f.arch")
    assert d.codes == codes_ and d.file_level == file_level and d.line == 1


def test_directives_in_strings_are_ignored():
    assert parse_directives('meta { a = "# archdsl: noqa AD102" }\n', "f") == []
    assert parse_directives('meta { a = "x\\" # archdsl: noqa AD102" }\n', "f") == []
    assert len(parse_directives('meta { a = "x" }  # archdsl: noqa AD102\n', "f")) == 1


def test_noqa_suppresses_and_stale_noqa_is_reported():
    spec = SPEC.replace("-> bn -> relu\n    stage1", "-> bn -> relu  # archdsl: noqa AD103, AR203, AS301\n    stage1")
    res = lint_text(spec, select=["AD103", "AR203", "AQ001"])
    assert res.suppressed == 2
    stale = [f for f in res.findings if f.code == "AQ001"]
    assert stale == [], "codes of rules that are not selected (AS301) are not judged"
    res = lint_text(spec, select=["AD103", "AR203", "AS301", "AQ001"])
    (stale,) = [f for f in res.findings if f.code == "AQ001"]
    assert stale.message == "unused noqa directive (unused: AS301)" and stale.span.line == 6
    assert codes(lint_text(spec, select=["AD103", "AR203"])) == ["AD103"]  # the other AD103 (down)


def test_noqa_file_level_and_aq001_opt_out():
    spec = "# archdsl: noqa-file AD103\n" + SPEC
    assert "AD103" not in codes(lint_text(spec, select=["AD103", "AQ001"]))
    spec = "# archdsl: noqa-file AD103, AQ001 AD102\n" + SPEC.replace("k = 1, s = 2", "k = 3, s = 2")
    assert codes(lint_text(spec, select=["AD", "AQ001"])) == ["AD101", "AD104"]

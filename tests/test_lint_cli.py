"""The lint commands as a user runs them: exit codes, formats, config discovery, no torch/onnx."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archdsl.cli import app
from tests.conftest import ROOT, run_cli

CLEAN = """\
import std

net clean {
    input image [3, 64, 64]
    meta { imagenet_top1 = 76.0 }
    stem = conv(16, k = 3) -> bn -> silu -> aads
    stage1 = bottleneck(32, mid = 16, groups = 4)
    head = gap -> flatten -> linear(10)
}
"""
BAD = CLEAN.replace("conv(16, k = 3) -> bn -> silu -> aads", "conv(16, k = 1, s = 2) -> bn -> silu")
INFO_ONLY = CLEAN.replace("conv(16, k = 3)", "conv(20, k = 3)")
BROKEN = CLEAN.replace("-> silu ->", "-> slu ->")


@pytest.fixture
def project(tmp_path):
    for name, text in (("clean.arch", CLEAN), ("bad.arch", BAD), ("info.arch", INFO_ONLY), ("broken.arch", BROKEN)):
        (tmp_path / name).write_text(text)
    (tmp_path / "pyproject.toml").write_text('[tool.archdsl.lint]\npreset = "attendnext"\n')  # AD is opt-in
    return tmp_path


class Result:
    def __init__(self, res):
        self.returncode = res.exit_code
        self.stdout = res.stdout
        self.stderr = res.stderr


def cli(*args, cwd: Path | None = None) -> Result:
    """Run a command in-process (fast); test_end_to_end runs the real entry point once."""
    import os

    old = Path.cwd()
    os.chdir(cwd or ROOT)
    try:
        return Result(CliRunner().invoke(app, list(args)))
    finally:
        os.chdir(old)


def lint(*args, cwd):
    return cli("lint", *args, cwd=cwd)


def test_end_to_end(project):
    res = run_cli("lint", "bad.arch", "clean.arch", cwd=project)
    assert res.returncode == 1 and "bad.arch:6:12: error[AD102]" in res.stdout and "clean.arch" not in res.stdout


def test_exit_codes(project):
    assert lint("clean.arch", cwd=project).returncode == 0
    res = lint("bad.arch", cwd=project)
    assert res.returncode == 1 and "error[AD102]" in res.stdout and "^^^" in res.stdout
    assert lint("info.arch", cwd=project).returncode == 0, "info findings do not fail by default"
    assert lint("info.arch", "--fail-on", "info", cwd=project).returncode == 1
    assert lint("bad.arch", "--exit-zero", cwd=project).returncode == 0
    res = lint("broken.arch", "bad.arch", cwd=project)
    assert res.returncode == 4, "a spec that does not compile wins over findings"
    assert "error[E201]: unknown op or block 'slu'" in res.stdout and "1 file did not compile" in res.stdout
    res = lint("missing.arch", cwd=project)
    assert res.returncode == 2 and "no such file or folder: missing.arch" in res.stderr
    assert lint("clean.arch", "--select", "AD1O1", cwd=project).returncode == 2
    assert lint("clean.arch", "--format", "xml", cwd=project).returncode == 2


def test_folder_and_select(project):
    res = lint(".", "--select", "AD102", "--format", "json", cwd=project)
    doc = json.loads(res.stdout)
    assert res.returncode == 4  # broken.arch is in the folder
    assert {Path(f["file"]).name for f in doc["findings"]} == {"bad.arch"}
    assert doc["summary"]["files"] == 4 and doc["summary"]["rules"] == ["AD102"]


def test_config_discovery_and_errors(project):
    (project / "pyproject.toml").write_text('[tool.archdsl.lint]\npreset = "attendnext"\nignore = ["AD102"]\n')
    assert lint("bad.arch", "--select", "AD102", cwd=project).returncode == 0
    assert lint("bad.arch", "--select", "AD102", "--isolated", cwd=project).returncode == 1
    (project / "pyproject.toml").write_text('[tool.archdsl.lint]\nignroe = ["AD102"]\n')
    res = lint("bad.arch", cwd=project)
    assert res.returncode == 2 and "unknown key 'ignroe'" in res.stderr and "did you mean 'ignore'" in res.stderr


def test_sarif_to_file_and_github(project):
    res = lint("bad.arch", "--format", "sarif", "-o", "out/report.sarif", cwd=project)
    assert res.returncode == 1 and res.stdout == ""
    log = json.loads((project / "out" / "report.sarif").read_text())
    assert (
        log["version"] == "2.1.0"
        and log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad.arch"
    )
    res = lint("bad.arch", "--format", "github", cwd=project)
    assert res.stdout.startswith("::error file=bad.arch,line=6,col=12,")


def test_quiet(project):
    res = lint("clean.arch", "-q", cwd=project)
    assert res.returncode == 0 and res.stdout == ""


def test_rules_and_rule(project):
    res = cli("rules")
    assert res.returncode == 0 and "AD103  aliased-downsampling" in res.stdout
    rows = json.loads(cli("rules", "--json").stdout)
    assert {r["code"] for r in rows} >= {"AD101", "AQ001"} and all(r["summary"] for r in rows)
    res = cli("rule", "AD103")
    assert (
        res.returncode == 0 and res.stdout.startswith("# AD103 aliased-downsampling") and "## Use instead" in res.stdout
    )
    assert cli("rule", "aliased-downsampling").stdout == res.stdout
    res = cli("rule", "AD13")
    assert res.returncode == 2 and "did you mean" in res.stderr


def test_help_has_examples():
    res = cli("lint", "--help")
    assert res.returncode == 0 and "archdsl lint specs/ --format sarif" in res.stdout and "--select" in res.stdout


NO_HEAVY = r"""
import sys

FORBIDDEN = ("torch", "onnx", "onnxruntime")


class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError(f"archdsl lint must not import {name}")
        return None


sys.meta_path.insert(0, Refuse())
sys.argv = ["archdsl", "lint", "--isolated", "specs/", "--format", "json"]
from archdsl.cli import main

try:
    main()
finally:
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)
    sys.stderr.write(f"HEAVY={loaded}\n")
"""


def test_lint_imports_neither_torch_nor_onnx():
    res = subprocess.run([sys.executable, "-c", NO_HEAVY], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "must not import" not in res.stderr, res.stderr
    assert "HEAVY=[]" in res.stderr, res.stderr
    assert res.returncode in (0, 1), res.stderr  # findings in the zoo are fine; a crash is not
    assert json.loads(res.stdout)["summary"]["files"] >= 1


def test_ignore_noqa(project):
    (project / "quiet.arch").write_text(BAD.replace("-> bn -> silu\n", "-> bn -> silu  # archdsl: noqa AD102, AD103\n"))
    assert lint("quiet.arch", "--select", "AD102", cwd=project).returncode == 0
    res = lint("quiet.arch", "--select", "AD102", "--ignore-noqa", cwd=project)
    assert res.returncode == 1 and "AD102" in res.stdout


def test_a_crashing_rule_is_a_tool_failure(project, monkeypatch):
    from archdsl.rules import registry
    from archdsl.rules.ad_strided_pointwise import StridedPointwiseConv

    class Crashing(StridedPointwiseConv):
        code, name = "ZZ100", "crashing"

        def check_graph(self, ctx, graph, options):
            raise RuntimeError("boom")

    reg = registry.build_registry([Crashing])
    monkeypatch.setattr(registry, "default_registry", lambda: reg)
    res = lint("clean.arch", cwd=project)
    assert res.returncode == 3
    assert "rule ZZ100 (crashing) failed on clean.arch: RuntimeError: boom" in res.stderr

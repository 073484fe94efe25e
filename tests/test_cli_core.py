"""The CLI of the language core as a user meets it: exit codes, JSON, no heavy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

ATTENDNEXT = ROOT / "specs" / "attendnext.arch"

BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'torch', 'onnx', 'onnxruntime', 'graphviz', 'numpy'}:
            raise ImportError('blocked heavy import: ' + name)
sys.meta_path.insert(0, Block())
sys.argv = ['archdsl'] + sys.argv[1:]
from archdsl.cli import main
main()
"""


@pytest.mark.parametrize(
    "args",
    [
        ["check", "specs/attendnext.arch"],
        ["show", "specs/attendnext.arch"],
        ["show", "specs/attendnext.arch", "--json"],
        ["--help"],
        ["schema"],
    ],
)
def test_check_and_show_import_no_torch_or_onnx(args):
    res = subprocess.run([sys.executable, "-c", BLOCKER, *args], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "blocked heavy import" not in res.stderr


def test_check_all_specs_passes():
    specs = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "specs").rglob("*.arch"))
    res = run_cli("check", *specs)
    assert res.returncode == 0, res.stderr
    assert "no errors" in res.stderr


def test_show_attendnext_prints_stages_and_budget():
    res = run_cli("show", "specs/attendnext.arch")
    assert res.returncode == 0, res.stderr
    for stage, shape in [
        ("stem", "[32, 56, 56]"),
        ("stage1", "[40, 56, 56]"),
        ("stage2", "[84, 28, 28]"),
        ("stage3", "[320, 14, 14]"),
        ("stage4", "[640, 7, 7]"),
        ("head", "[1000] vec"),
    ]:
        line = next(ln for ln in res.stdout.splitlines() if ln.startswith(stage + " "))
        assert shape in line, line
    total = next(ln for ln in res.stdout.splitlines() if ln.startswith("total:"))
    params = int(total.split()[1].replace(",", ""))
    assert 3_500_000 <= params <= 4_000_000


def test_show_json_round_trips_through_the_ir_model():
    from archdsl.ir import Graph

    res = run_cli("show", "specs/attendnext.arch", "--json")
    assert res.returncode == 0
    g = Graph.model_validate_json(res.stdout)
    assert g.total_params == sum(n.params for n in g.nodes)
    assert g.nodes[0].args.op == g.nodes[0].op
    # discriminated union: args come back as the op's own model
    conv = next(n for n in g.nodes if n.op == "conv")
    assert type(conv.args).__name__ == "ConvArgs" and conv.args.p is not None


def test_schema_describes_the_json_output():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(run_cli("schema").stdout)
    data = json.loads(run_cli("show", "specs/attendnext.arch", "--json").stdout)
    jsonschema.validate(data, schema)


def test_exit_codes(tmp_path: Path):
    bad = tmp_path / "bad.arch"
    bad.write_text("net x {\n  input i [3, 8, 8]\n  y = conv(\n}\n")
    assert run_cli("check", str(bad)).returncode == 1
    assert run_cli("check", str(tmp_path / "missing.arch")).returncode == 1
    assert run_cli("check", "--no-such-option", "x").returncode == 2
    assert run_cli("show").returncode == 2
    res = run_cli("compile", "specs/attendnext.arch", "--backend", "nosuchbackend")
    assert res.returncode == 2  # B002, a usage error: a name no installed backend has
    assert "error[B002]: unknown backend" in res.stderr and "installed backends: graphviz, onnx, torch" in res.stderr


def test_json_diagnostics(tmp_path: Path):
    bad = tmp_path / "bad.arch"
    bad.write_text("import std\nnet x {\n  input i [3, 8, 8]\n  y = dcca(3)\n}\n")
    res = run_cli("check", "--format", "json", str(bad))
    assert res.returncode == 1
    diags = json.loads(res.stdout)
    assert diags[0]["code"] == "E201"
    assert diags[0]["span"]["line"] == 4 and diags[0]["span"]["col"] == 7
    assert "dcac" in diags[0]["help"]


def test_parameter_overrides_are_validated():
    res = run_cli("show", "specs/attendnext.arch", "-p", "widht=0.5")
    assert res.returncode == 1
    assert "no parameter 'widht'" in res.stderr and "did you mean 'width'" in res.stderr
    res = run_cli("show", "specs/attendnext.arch", "-p", "width=0.75")
    assert res.returncode == 0
    res = run_cli("show", "specs/attendnext.arch", "--input-size", "256")
    assert "[3, 256, 256]" in res.stdout


def test_no_traceback_for_binary_or_missing_files(tmp_path: Path):
    binfile = tmp_path / "b.arch"
    binfile.write_bytes(b"\x00\xff\xfe garbage")
    for target in (binfile, tmp_path, tmp_path / "none.arch"):
        res = run_cli("check", str(target))
        assert res.returncode == 1, res.stderr
        assert "Traceback" not in res.stderr and "error[" in res.stderr


def test_element_limit_is_configurable():
    res = run_cli("check", "--max-elements", "100000", "specs/attendnext.arch")
    assert res.returncode == 1
    assert "E502" in res.stderr and "specs/attendnext.arch:" in res.stderr
    assert run_cli("check", "--max-elements", "2000000", "specs/attendnext.arch").returncode == 0

"""The backend protocol (archdsl/backend.py): options models validated by the hook, limits that
depend on the options, capabilities the CLI and ``archdsl.build`` reach through it, ``compile
--help`` from the models without torch or onnx, and backends of the first protocol still working."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from typing import ClassVar

import pytest
from pydantic import Field

import archdsl
from archdsl import backend as hook
from archdsl.backend import CompileResult, OptionError, Options
from archdsl.diagnostics import DiagnosticError
from tests.conftest import ROOT

ATTENDNEXT = ROOT / "specs" / "attendnext.arch"
MOBILEVIT = ROOT / "specs" / "baselines" / "mobilevit_xs.arch"

CEIL = "net ceil {\n  input image [4, 7, 7]\n  body = conv(8, k = 3) -> maxpool(2, s = 2, p = 1, ceil = true)\n}\n"


def cli(*args: str, cwd=None):
    """``archdsl ARGS`` in-process: (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from archdsl.cli import app

    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, [str(a) for a in args])
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


class FakeEntryPoint:
    def __init__(self, obj, value: str = "tests.fake:BACKEND"):
        self.obj, self.value = obj, value

    def load(self):
        if isinstance(self.obj, BaseException):
            raise self.obj
        return self.obj


@pytest.fixture
def install(monkeypatch):
    """``install(name, backend)``: make ``backend`` an installed backend for this test."""
    real = hook.available()
    extra: dict[str, FakeEntryPoint] = {}
    monkeypatch.setattr(hook, "available", lambda: {**real, **extra})

    def add(name, obj):
        extra[name] = FakeEntryPoint(obj)

    return add


# ---- the built-in backends' options models ---------------------------------------------------------

DEFAULTS = {
    "torch": {"channels_last": None, "dynamic_batch": True, "batch": 2, "weights": None},
    "onnx": {
        "opset": 17,
        "dynamic_batch": True,
        "batch": 1,
        "fold": True,
        "reparam": None,
        "weights": None,
        "seed": 0,
        "output_name": "output",
        "features": None,
        "check": True,
        "shapes": False,
        "external_data": None,
        "quantize": None,
        "calibration": None,
    },
    "graphviz": {
        "depth": 2,
        "expand": False,
        "focus": None,
        "shapes": False,
        "theme": "paper",
        "rankdir": "LR",
        "format": None,
    },
}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_options_models_keep_the_option_names_and_defaults(name):
    model = hook.option_models()[name]
    assert not isinstance(model, str), model
    assert model.model_fields.keys() == DEFAULTS[name].keys()
    assert model().model_dump() == DEFAULTS[name]
    assert all(f.description for f in model.model_fields.values()), "compile --help prints every description"
    assert hook.options_model(hook.load(name)) is model  # the published model is the backend's own


@pytest.mark.parametrize(
    ("name", "typo", "suggestion"),
    [
        ("torch", "chanels_last", "channels_last"),
        ("onnx", "dynamic_bach", "dynamic_batch"),
        ("graphviz", "them", "theme"),
    ],
)
def test_an_unknown_option_is_b004_with_a_did_you_mean(name, typo, suggestion):
    with pytest.raises(OptionError) as exc:
        hook.parse_options(hook.load(name), {typo: 1})
    d = exc.value.diagnostics[0]
    assert d.code == "B004" and f"the {name} backend has no option '{typo}'" in d.message
    assert d.help == f"did you mean '{suggestion}'?"


@pytest.mark.parametrize(
    ("name", "values", "words"),
    [
        ("torch", {"channels_last": 1}, "channels_last must be true or false, got 1"),  # strict: 1 is not a flag
        ("torch", {"batch": 0, "dynamic_batch": False}, "batch must be at least 1"),
        ("onnx", {"opset": "17"}, "opset must be an integer, got '17'"),
        ("onnx", {"opset": 12}, "opset 12 is out of range"),
        ("graphviz", {"depth": 7}, "depth must be 1, 2 or 3"),
        ("graphviz", {"theme": "neon"}, "unknown theme 'neon'"),
    ],
)
def test_a_bad_value_is_b005_with_help(name, values, words):
    with pytest.raises(OptionError) as exc:
        hook.parse_options(hook.load(name), values)
    d = exc.value.diagnostics[0]
    assert d.code == "B005" and words in d.message, d.message
    assert d.help


def test_parse_options_takes_a_dict_or_the_model():
    be = hook.load("onnx")
    opts = hook.parse_options(be, {"opset": 18, "weights": ROOT / "w.safetensors"})
    assert opts.opset == 18 and opts.weights == str(ROOT / "w.safetensors")  # a Path is kept as its text
    assert hook.parse_options(be, opts) is opts
    assert hook.parse_options(be, None) == be.options_model()


# ---- limits that depend on the options -------------------------------------------------------------


def test_onnx_limits_are_those_of_the_requested_opset(tmp_path):
    """Before: unsupported(graph) checked the newest opset onnx knows (28) while compiling at 17."""
    spec = tmp_path / "ceil.arch"
    spec.write_text(CEIL)
    graph = archdsl.load(spec)
    be = hook.load("onnx")
    for options in (None, {}, {"opset": 17}, be.options_model(opset=21)):
        diags = hook.unsupported(be, graph, options)
        opset = 21 if isinstance(options, be.options_model) else 17
        assert [d.code for d in diags] == ["B001"], options
        assert f"at opset {opset}" in diags[0].message and diags[0].span.line == 3
        assert diags[0].help == "compile with -O opset=22 or later"
    assert hook.unsupported(be, graph, {"opset": 22}) == []


def test_compile_stops_at_the_requested_opsets_limits_before_building(tmp_path, monkeypatch):
    spec = tmp_path / "ceil.arch"
    spec.write_text(CEIL)
    be = hook.load("onnx")

    def never(*args, **kwargs):
        raise AssertionError("compile() must not run: unsupported(graph, options) refused the net")

    monkeypatch.setattr(type(be), "compile", never)
    code, _, err = cli("compile", spec, "-b", "onnx", "-o", tmp_path / "x.onnx")
    assert code == 1 and "ceil.arch:3:28: error[B001]" in err and "at opset 17" in err
    code, _, err = cli("compile", spec, "-b", "onnx", "-o", tmp_path / "x.onnx", "--opset", "20")
    assert code == 1 and "at opset 20" in err
    monkeypatch.undo()
    code, _, err = cli("compile", spec, "-b", "onnx", "-o", tmp_path / "x.onnx", "--opset", "22")
    assert code == 0, err


# ---- compile --help ----------------------------------------------------------------------------------

HELP_WITHOUT_HEAVY_IMPORTS = """
import contextlib, io, json, sys
HEAVY = ("torch", "onnx", "onnxruntime", "graphviz")
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            raise ImportError("blocked: " + name, name=name)
sys.meta_path.insert(0, Block())
from archdsl.cli import app
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        app(["compile", "--help"], standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps({"help": out.getvalue(), "heavy": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)}))
"""


def test_compile_help_lists_every_backends_options_without_importing_them():
    res = subprocess.run(
        [sys.executable, "-c", HELP_WITHOUT_HEAVY_IMPORTS],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert data["heavy"] == []
    text = data["help"]
    for name, defaults in DEFAULTS.items():
        assert f"{name} backend options (-O KEY=VALUE):" in text
        for option in defaults:
            assert f"\n    {option} " in text, (name, option)
    assert "opset          int   17" in text and "channels_last  bool  -" in text
    assert "not installed" not in text


# ---- capabilities: archdsl.build and archdsl render go through the protocol ---------------------------


class Drawing(Options):
    backend: ClassVar[str] = "sketch"
    depth: int | str = Field(2, description="d")
    expand: bool = Field(False, description="e")
    focus: str | None = Field(None, description="f")
    shapes: bool = Field(False, description="s")
    theme: str = Field("paper", description="t")
    rankdir: str = Field("LR", description="r")


class Sketch:
    """A render-capable backend of its own: what `archdsl render` needs, and nothing of graphviz."""

    name = "sketch"
    summary = "text sketches"
    options_model = Drawing
    capabilities = frozenset({hook.RENDER})
    render_formats: ClassVar[dict] = {"txt": (".txt",), "md": (".md",)}

    def unsupported(self, graph, options=None):
        return []

    def render(self, graph, options, fmt):
        return f"{fmt}:{graph.name}:{options.depth}:{options.theme}".encode()

    def compile(self, graph, request):
        return CompileResult()


def test_render_draws_through_the_render_capability(install, monkeypatch, tmp_path):
    from archdsl.cli import render

    install("sketch", Sketch())
    monkeypatch.setattr(render, "RENDERER", "sketch")
    code, _, err = cli("render", ATTENDNEXT, "-o", tmp_path / "fig.txt", "--depth", "ops", "--theme", "Mono")
    assert code == 0, err
    assert (tmp_path / "fig.txt").read_bytes() == b"txt:attendnext:ops:mono"
    code, _, err = cli("render", ATTENDNEXT, "-o", tmp_path / "fig.svg")
    assert code == 2 and "error[B006]: cannot tell the format from the extension '.svg'" in err
    assert "use .txt, .md, or pass --format" in err


def test_render_refuses_a_backend_without_the_capability(install, monkeypatch, tmp_path):
    from archdsl.cli import render

    blind = Sketch()
    blind.capabilities = frozenset()
    install("sketch", blind)
    monkeypatch.setattr(render, "RENDERER", "sketch")
    code, _, err = cli("render", ATTENDNEXT, "-o", tmp_path / "fig.txt")
    assert code == 2 and "error[B007]: the sketch backend cannot render a figure" in err


def test_render_command_knows_no_backend_internals():
    """`archdsl render` imports neither a backend nor graphviz: it reaches them through the hook."""
    tree = ast.parse((ROOT / "archdsl" / "cli" / "render.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in imported if m.split(".")[0] in ("archdsl_backends", "graphviz")}, imported
    calls = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert "format_for" not in calls and "options" not in calls


def test_build_needs_the_build_module_capability(monkeypatch):
    monkeypatch.setattr(hook, "load", lambda name: Sketch())
    with pytest.raises(DiagnosticError) as exc:
        archdsl.build(ATTENDNEXT)
    d = exc.value.diagnostics[0]
    assert d.code == "B007" and "cannot build a module" in d.message and "render" in d.help


def test_built_in_capabilities():
    assert hook.capable(hook.load("torch"), hook.BUILD_MODULE)
    assert hook.capable(hook.load("graphviz"), hook.RENDER)
    assert not hook.capable(hook.load("onnx"), hook.BUILD_MODULE)
    assert hook.emits(hook.load("onnx")) == ("onnx", "safetensors")


# ---- the worked example of docs/backends.md, through the command line ----------------------------------


@pytest.fixture
def mermaid(install, tmp_path):
    """The doc's code block as the module ``archdsl_mermaid`` (as an installed package would be)."""
    from tests.test_torch_backend_docs import _blocks

    (code,) = _blocks("python")
    path = tmp_path / "archdsl_mermaid.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("archdsl_mermaid", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["archdsl_mermaid"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop("archdsl_mermaid", None)
    install("mermaid", module.BACKEND)
    return module.BACKEND


def test_doc_example_through_the_command_line(mermaid, tmp_path):
    out = tmp_path / "a.mmd"
    code, stdout, err = cli("compile", ATTENDNEXT, "-b", "mermaid", "-o", out, "-O", "direction=LR")
    assert code == 0, err
    assert out.read_text().startswith("flowchart LR\n") and f"wrote {out}" in stdout
    code, _, err = cli("compile", ATTENDNEXT, "-b", "mermaid", "-o", out, "-O", "direction=up")
    assert code == 2 and "error[B005]: the mermaid backend option direction must be 'TD' or 'LR', got 'up'" in err
    code, _, err = cli("compile", ATTENDNEXT, "-b", "mermaid", "-o", out, "-O", "directon=LR")
    assert code == 2 and "error[B004]" in err and "did you mean 'direction'?" in err
    code, _, err = cli("compile", ATTENDNEXT, "-b", "mermaid", "-o", out, "--emit", "svg")
    assert code == 2 and "error[B006]: the mermaid backend cannot emit 'svg'" in err
    code, _, err = cli("compile", MOBILEVIT, "-b", "mermaid", "-o", out)
    assert code == 1 and "error[B001]: the mermaid backend cannot express op" in err
    code, _, err = cli("compile", MOBILEVIT, "-b", "mermaid", "-o", out, "-O", "tokens=true")
    assert code == 0, err  # its limits depend on its options


def test_doc_example_options_in_compile_help(mermaid):
    code, stdout, _ = cli("compile", "--help")
    assert code == 0
    assert "mermaid backend options (-O KEY=VALUE):" in stdout
    assert "direction  TD|LR  TD     TD: top to bottom; LR: left to right" in stdout
    assert "tokens     bool   false  draw the token ops" in stdout


# ---- backends of the first protocol -----------------------------------------------------------------------


class OldStyle:
    """Only name, summary, unsupported(graph) and compile(graph, request) with a dict of options."""

    name = "old"
    summary = "a backend written before options models"

    def unsupported(self, graph):
        return []

    def compile(self, graph, request):
        out = request.output / f"{graph.name}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(request.options, sort_keys=True))
        return CompileResult(artefacts=[out])


def test_old_style_backends_keep_working(install, tmp_path):
    install("old", OldStyle())
    with pytest.warns(DeprecationWarning, match="unsupported\\(graph\\) without options is deprecated"):
        code, _, err = cli("compile", ATTENDNEXT, "-b", "old", "-o", tmp_path, "-O", "anything=3", "--opset", "18")
    assert code == 0, err
    assert json.loads((tmp_path / "attendnext.txt").read_text()) == {"anything": 3, "opset": 18}
    code, stdout, _ = cli("compile", "--help")
    assert "old backend: options not declared (no options_model)" in stdout


def test_a_backend_whose_dependency_is_missing_exits_3(install):
    install("needy", ImportError("No module named 'tensorrt'", name="tensorrt"))
    code, _, err = cli("compile", ATTENDNEXT, "-b", "needy")
    assert code == 3 and "error[B003]: the needy backend needs 'tensorrt', which is not installed" in err
    code, stdout, _ = cli("compile", "--help")
    assert code == 0 and "needy backend: the needy backend needs 'tensorrt'" in stdout


def test_a_third_party_code_exits_1(install, tmp_path):
    from archdsl.diagnostics import Diagnostic

    class Picky(OldStyle):
        name = "picky"

        def unsupported(self, graph, options=None):
            return [Diagnostic("B901", "no nets on Tuesdays", graph.nodes[0].span)]

    install("picky", Picky())
    code, _, err = cli("compile", ATTENDNEXT, "-b", "picky", "-o", tmp_path)
    assert code == 1 and "error[B901]: no nets on Tuesdays" in err


def test_the_example_code_block_is_the_new_protocol():
    text = (ROOT / "docs" / "backends.md").read_text()
    section = text.split("## A worked example", 1)[1].split("\n## ", 1)[0]
    assert "options_model = MermaidOptions" in section and "def unsupported(self, graph: Graph, options" in section
    assert "B201" not in section  # the example no longer borrows a code of the onnx range

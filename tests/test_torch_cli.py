"""``archdsl compile`` with the torch backend.

The default artefacts (standalone .py, state_dict .pt, torch.export .pt2) are made as a user makes
them (a subprocess); overrides and options, deploy mode, compiling trained weights in, and bad input
as diagnostics (never a traceback) run the same command in-process to keep the suite fast.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

import archdsl  # noqa: E402
from tests.conftest import ROOT, run_cli  # noqa: E402

SPEC = """\
import std
net tiny(width = 1.0, classes = 10) {
    input image [3, 32, 32]
    stem = conv(make_divisible(16 * width), k = 3) -> bn -> relu -> aads
    body = mobileone(32, branches = 2) -> inverted_residual(32, e = 2, se_ratio = 0.25)
    head = gap -> flatten -> linear(classes)
}
"""


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "tiny.arch"
    path.write_text(SPEC)
    return path


def cli(*args: str, cwd=None):
    """``archdsl ARGS`` in-process: (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from archdsl.cli import app

    if cwd is not None:
        old = os.getcwd()
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        if cwd is not None:
            os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _import(path):
    spec = importlib.util.spec_from_file_location(f"gen_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def test_help_documents_artefacts_and_examples():
    result = run_cli("compile", "--help")
    assert result.returncode == 0
    for text in ("Examples:", "--emit python", "state_dict", "pt2", "--deploy", "--input-size", "--seed", "-o"):
        assert text in result.stdout, text


def test_default_artefacts(spec, tmp_path):
    out = tmp_path / "out"
    result = run_cli("compile", str(spec), "-o", str(out), "--seed", "4")
    assert result.returncode == 0, result.stderr
    assert "total:" in result.stdout  # the summary table
    py, pt, pt2 = out / "tiny.py", out / "tiny.pt", out / "tiny.pt2"
    assert py.exists() and pt.exists() and pt2.exists()
    assert "Warning" not in result.stderr

    model = archdsl.build(spec, seed=4).eval()
    state = torch.load(pt, weights_only=True)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())

    x = torch.randn(3, 3, 32, 32)  # another batch size than the export example: a dynamic batch
    program = torch.export.load(str(pt2))
    with torch.no_grad():
        want = model(x)
        assert torch.allclose(program.module()(x), want, rtol=1e-5, atol=1e-6)

    standalone = _import(py).Tiny(seed=None)
    standalone.load_state_dict(state)
    with torch.no_grad():
        assert torch.equal(standalone.eval()(x), want)


def test_standalone_file_passes_ruff_and_needs_no_archdsl(spec, tmp_path):
    out = tmp_path / "tiny.py"
    code, _, err = cli("compile", str(spec), "--emit", "python", "-o", str(out))
    assert code == 0, err
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml"), str(out)],
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout
    fmt = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--config", str(ROOT / "pyproject.toml"), str(out)],
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout
    # importable and runnable in a fresh interpreter where archdsl cannot be imported
    code = (
        "import sys; sys.modules['archdsl'] = None; sys.modules['archdsl_backends'] = None\n"
        "import importlib.util, torch\n"
        f"s = importlib.util.spec_from_file_location('tiny', {str(out)!r}); m = importlib.util.module_from_spec(s)\n"
        "s.loader.exec_module(m); print(tuple(m.Tiny().eval()(torch.randn(2, 3, 32, 32)).shape))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "(2, 10)"


def test_overrides_input_size_and_deploy(spec, tmp_path):
    out = tmp_path / "d"
    args = ("-p", "width=2", "-p", "classes=7", "--input-size", "48", "--seed", "2", "--deploy")
    code, _, err = cli("compile", str(spec), *args, "--emit", "python", "--emit", "state_dict", "-o", str(out))
    assert code == 0, err
    assert "deploy form" in err
    train = archdsl.build(spec, seed=2, input_shape=(3, 48, 48), width=2, classes=7).eval()
    state = torch.load(out / "tiny.pt", weights_only=True)
    assert not any(k.endswith("running_mean") for k in state)  # batch norms folded
    standalone = _import(out / "tiny.py").Tiny(seed=None)
    standalone.load_state_dict(state)
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        want, got = train(x), standalone.eval()(x)
    assert got.shape == (2, 7)
    assert ((got - want).abs().max() / want.abs().max()).item() <= 1e-5


def test_trained_weights_compile_in(spec, tmp_path):
    model = archdsl.build(spec, seed=9)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    weights = tmp_path / "trained.pt"
    torch.save(model.state_dict(), weights)
    out = tmp_path / "w"
    code, _, err = cli("compile", str(spec), "--weights", str(weights), "--emit", "state_dict", "-o", str(out))
    assert code == 0, err
    state = torch.load(out / "tiny.pt", weights_only=True)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        (("-p", "width=wide"), "error[E", 1),
        (("-p", "depth=2"), "error[E", 1),
        (("-O", "nope=1"), "error[B004]", 2),
        (("-O", "channels_last=maybe"), "error[B005]", 2),
        (("-O", "channels_last=1"), "error[B005]", 2),
        (("--emit", "onnx"), "error[B006]", 2),
        (("--weights", "missing.pt"), "error[B008]", 1),
        (("-O", "batch=1"), "error[B005]", 2),
        (("-O", "batch=0", "-O", "dynamic_batch=false"), "error[B005]", 2),
        (("--opset", "17"), "error[B004]", 2),
    ],
)
def test_bad_input_is_a_diagnostic(spec, tmp_path, args, code, exit_code):
    """A spec or weights-file error exits 1, a bad option (B004-B006) 2: by the code's kind."""
    got, _, err = cli("compile", str(spec), *args, "-o", str(tmp_path / "x"), cwd=tmp_path)
    assert got == exit_code, err
    assert code in err
    assert "Traceback" not in err


def test_bad_input_in_a_subprocess(spec, tmp_path):
    result = run_cli("compile", str(spec), "-O", "nope=1", "-o", str(tmp_path / "x"))
    assert result.returncode == 2
    assert "error[B004]" in result.stderr and "torch backend has no option 'nope'" in result.stderr
    assert "= help: its options: channels_last, dynamic_batch, batch, weights" in result.stderr
    assert "Traceback" not in result.stderr


WIDE = """\
net wide {
    input image [3, 8, 8]
    a_rather_long_statement_name = conv(40, k = 1)
        -> columns(20, join = "add") { a_quite_long_column_label: conv(40, k = 1) -> relu }
    another_rather_long_statement_name_here = columns(20) { a_quite_long_column_label: conv(2, k = 1) -> relu }
        -> gap
}
"""


def test_standalone_file_with_long_names_stays_formatted(tmp_path):
    """Long paths and wide merges break the way ruff format breaks them, and still run identically."""
    from archdsl_backends.torch import build_module, codegen

    spec = tmp_path / "wide.arch"
    spec.write_text(WIDE)
    graph = archdsl.load(spec)
    out = tmp_path / "wide_module.py"
    out.write_text(codegen.generate(graph))
    for args in (["check"], ["format", "--check"]):
        cmd = [sys.executable, "-m", "ruff", *args, "--config", str(ROOT / "pyproject.toml"), str(out)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
    model = build_module(graph, seed=1).eval()
    standalone = _import(out).Wide(seed=1).eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(standalone(x), model(x))


def test_safetensors_from_the_onnx_backend_compile_in(spec, tmp_path):
    """The ONNX backend's weights file (--emit safetensors) loads here, and both backends then agree."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    code, _, err = cli(
        "compile",
        str(spec),
        "-b",
        "onnx",
        "-e",
        "onnx",
        "-e",
        "safetensors",
        "--seed",
        "5",
        "-o",
        str(tmp_path / "onnx") + "/",
    )
    assert code == 0, err
    weights = tmp_path / "onnx" / "tiny.safetensors"
    code, _, err = cli("compile", str(spec), "--weights", str(weights), "--emit", "state_dict", "-o", str(tmp_path))
    assert code == 0, err
    model = archdsl.build(spec)
    model.load_state_dict(torch.load(tmp_path / "tiny.pt", weights_only=True))
    x = torch.randn(2, 3, 32, 32)
    session = ort.InferenceSession(str(tmp_path / "onnx" / "tiny.onnx"))
    got = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])
    with torch.no_grad():
        want = model.eval()(x)
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-5)

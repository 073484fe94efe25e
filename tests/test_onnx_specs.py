"""Every spec under specs/ through the ONNX backend: checker, onnxruntime at batch 1 and 4, and the
same outputs as the PyTorch backend given the same weights (the numpy reference when the PyTorch
backend is not available). Plus the CLI: byte-identical files, weights files, options."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from archdsl_backends.onnx import build_model, serialize

import archdsl
from archdsl.weights.safetensors_file import load as load_safetensors
from tests import test_onnx_reference as ref
from tests.conftest import ROOT, run_cli

ATOL = 1e-4  # absolute, on unit-normal inputs (issue 5)


def torch_backend():
    """The PyTorch backend's object, or None where torch or the backend is not there."""
    if importlib.util.find_spec("torch") is None:
        return None
    try:
        from archdsl_backends.torch import BACKEND
    except ImportError:
        return None
    return BACKEND if hasattr(BACKEND, "build_module") else None


def session(data: bytes) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def reference_outputs(graph, weights, x):
    """The PyTorch backend's outputs with ``weights`` loaded, else the float64 numpy reference."""
    backend = torch_backend()
    if backend is None:
        return ref.run(graph, weights, x), "numpy"
    import torch

    module = backend.build_module(graph, seed=0).eval()
    missing, unexpected = module.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy(), "torch"


def test_spec_exports_checks_runs_and_matches(spec_path):
    graph = archdsl.load(spec_path)
    weights = ref.random_weights(graph, seed=0)
    model = build_model(graph, {"check": False}, weights=weights)
    onnx.checker.check_model(model, full_check=True)
    sess = session(serialize(model))
    x = np.random.default_rng(0).standard_normal((4, *graph.inputs[0].type.shape)).astype(np.float32)
    want, by = reference_outputs(graph, weights, x)
    out4 = sess.run(None, {graph.inputs[0].name: x})[0]
    out1 = sess.run(None, {graph.inputs[0].name: x[:1]})[0]
    assert out4.shape == (4, *graph.output_type.shape) and out1.shape == (1, *graph.output_type.shape)
    err4 = np.abs(out4 - want).max()
    err1 = np.abs(out1 - want[:1]).max()
    assert max(err1, err4) <= ATOL, f"max |onnx - {by}| = {err1:.2e} (batch 1), {err4:.2e} (batch 4)"
    assert np.abs(want).max() > 10 * ATOL  # the comparison means something


def test_two_compiles_are_byte_identical(tmp_path):
    spec = ROOT / "specs" / "attendnext.arch"
    for name in ("a", "b"):
        r = run_cli("compile", str(spec), "--backend", "onnx", "-o", str(tmp_path / name / "model.onnx"))
        assert r.returncode == 0, r.stderr
        assert "wrote" in r.stdout and "onnx: opset 17" in r.stderr
    a, b = ((tmp_path / n / "model.onnx").read_bytes() for n in ("a", "b"))
    assert a == b
    model = onnx.load_from_string(a)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["archdsl.source"] == "attendnext.arch" and props["archdsl.input_size"] == "3x224x224"


def test_cli_options_and_safetensors_round_trip(tmp_path):
    spec = ROOT / "specs" / "attendnext.arch"
    out = tmp_path / "build"
    r = run_cli(
        "compile", str(spec), "-b", "onnx", "-o", f"{out}/", "--seed", "3", "-e", "onnx", "-e", "safetensors",
        "-p", "width=0.5", "--input-size", "64",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    first = out / "attendnext.onnx"
    st = out / "attendnext.safetensors"
    assert first.is_file() and st.is_file()
    tensors = load_safetensors(st)
    assert "stem.conv.weight" in tensors and "stem.bn.running_var" in tensors
    r = run_cli(
        "compile", str(spec), "-b", "onnx", "-o", str(tmp_path / "again.onnx"), "--weights", str(st),
        "-p", "width=0.5", "--input-size", "64", "--opset", "18", "--no-fold", "-O", "dynamic_batch=false",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    again = onnx.load(tmp_path / "again.onnx")
    assert again.opset_import[0].version == 18
    assert "BatchNormalization" in {n.op_type for n in again.graph.node}
    assert again.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1
    props = {p.key: p.value for p in again.metadata_props}
    assert props["archdsl.weights"].startswith("attendnext.safetensors sha256:")
    assert json.loads(props["archdsl.params"])["width"] == 0.5
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    a = session(first.read_bytes()).run(None, {"image": x})[0]
    b = session((tmp_path / "again.onnx").read_bytes()).run(None, {"image": x})[0]
    np.testing.assert_allclose(a, b, atol=1e-5)


def cli(*args: str):
    """The CLI in-process (fast; errors and their locations are what is checked here)."""
    from typer.testing import CliRunner

    from archdsl.cli import app

    return CliRunner().invoke(app, list(args))


def test_cli_errors(tmp_path):
    spec = str(ROOT / "specs" / "attendnext.arch")
    out = str(tmp_path / "x.onnx")
    r = cli("compile", spec, "-b", "onnx", "-o", out, "-O", "opset=99")
    assert r.exit_code == 2 and "error[B005]: opset 99 is out of range" in r.stderr
    r = cli("compile", spec, "-b", "onnx", "-o", out, "-e", "pt2")
    assert r.exit_code == 2 and "error[B006]: the onnx backend cannot emit 'pt2'" in r.stderr
    bad = tmp_path / "w.npz"
    np.savez(bad, **{"stem.conv.weight": np.zeros((1, 2, 3, 3), np.float32)})
    r = cli("compile", spec, "-b", "onnx", "-o", out, "--weights", str(bad))
    assert r.exit_code == 1
    assert "attendnext.arch:30:12: error[B009]: weights file 'w.npz': tensor 'stem.conv.weight' has shape" in r.stderr
    assert "^^^^" in r.stderr and "tensors missing" in r.stderr
    r = cli("compile", spec, "-b", "onnx", "-o", out, "--weights", "nope.safetensors")
    assert r.exit_code == 1 and "does not exist" in r.stderr
    ceil = tmp_path / "ceil.arch"
    ceil.write_text(
        "net ceil {\n  input image [4, 7, 7]\n  body = conv(8, k = 3) -> maxpool(2, s = 2, p = 1, ceil = true)\n}\n"
    )
    r = cli("compile", str(ceil), "-b", "onnx", "-o", out)
    assert r.exit_code == 1 and "ceil.arch:3:28: error[B001]" in r.stderr and "-O opset=22" in r.stderr
    assert not (tmp_path / "x.onnx").exists()
    r = cli("compile", str(ceil), "-b", "onnx", "-o", out, "--opset", "22")
    assert r.exit_code == 0 and (tmp_path / "x.onnx").is_file()


def test_weights_saved_by_the_torch_backend(tmp_path):
    """The PyTorch backend's ``state_dict`` artefact (a torch .pt file) feeds the ONNX backend."""
    backend = torch_backend()
    if backend is None:
        pytest.skip("the PyTorch backend is not available")
    import torch

    from archdsl.backend import CompileRequest

    spec = tmp_path / "small.arch"
    spec.write_text(
        "import std\nnet small {\n  input image [3, 32, 32]\n"
        "  body = conv_bn_act(16, s = 2) -> mobileone(16) -> inverted_residual(24, se_ratio = 0.25, s = 2)\n"
        "  head = gap -> flatten -> linear(10)\n}\n"
    )
    graph = archdsl.load(spec)
    backend.compile(graph, CompileRequest(output=tmp_path / "pt", emit=("state_dict",), seed=5))
    (pt,) = (tmp_path / "pt").glob("*.pt")
    model = build_model(graph, weights=pt)
    assert {p.key: p.value for p in model.metadata_props}["archdsl.weights"].startswith(f"{pt.name} sha256:")
    module = backend.build_module(graph, seed=5).eval()
    module.load_state_dict(torch.load(pt, weights_only=True))
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    got = session(serialize(model)).run(None, {"image": x})[0]
    np.testing.assert_allclose(got, want, atol=ATOL * max(1.0, float(np.abs(want).max())))

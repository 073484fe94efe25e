"""int8 models: ``archdsl compile --backend onnx --quantize int8`` and ``archdsl bench --quantize int8``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import ROOT, run_cli

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

MNV3 = ROOT / "specs" / "baselines" / "mobilenetv3_large_100.arch"
ATTEND = ROOT / "specs" / "attendnext.arch"
SMALL = ["--input-size", "32"]


def _compile(spec, out, *extra, ok=True):
    proc = run_cli("compile", str(spec), "--backend", "onnx", "-o", str(out), *SMALL, *extra)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def _npy_folder(tmp_path, n=4, shape=(3, 32, 32)):
    d = tmp_path / "calib"
    d.mkdir()
    rng = np.random.default_rng(7)
    for i in range(n):
        np.save(d / f"{i}.npy", rng.standard_normal(shape).astype(np.float32))
    return d


def test_two_compiles_give_identical_bytes(tmp_path):
    calib = _npy_folder(tmp_path)
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    _compile(MNV3, a, "--quantize", "int8", "--calibration", str(calib))
    _compile(MNV3, b, "--quantize", "int8", "--calibration", str(calib))
    assert a.read_bytes() == b.read_bytes()


def test_int8_model_is_qdq_per_channel_and_keeps_the_chosen_ops_in_float(tmp_path):
    out = tmp_path / "attend.onnx"
    proc = _compile(ATTEND, out, "--quantize", "int8", "-O", f"calibration={_npy_folder(tmp_path)}")
    assert "calibrated on 4 files" in proc.stderr
    model = onnx.load(str(out))
    ops = [n.op_type for n in model.graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops and "QLinearConv" not in ops  # QDQ format
    inits = {t.name: t for t in model.graph.initializer}
    consumers = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    weight_users = set()
    per_channel = False
    for n in model.graph.node:
        if (
            n.op_type == "DequantizeLinear"
            and n.input[0] in inits
            and inits[n.input[0]].data_type == onnx.TensorProto.INT8
        ):
            scale = inits[n.input[1]]
            weight_users |= {c.op_type for c in consumers.get(n.output[0], [])}
            if len(scale.dims) == 1 and scale.dims[0] > 1:
                per_channel = True
    assert per_channel
    assert weight_users <= {"Conv", "Gemm", "MatMul"}  # only convolutions and linear layers get int8 weights
    # the DC-AC attention's softmax and its activation x activation matmuls stay float
    producers = {o: n for n in model.graph.node for o in n.output}
    for n in model.graph.node:
        if n.op_type == "Softmax":
            assert all(c.op_type != "QuantizeLinear" for c in consumers.get(n.output[0], []))
        if n.op_type == "MatMul" and not any(
            producers.get(i) is not None
            and producers[i].op_type == "DequantizeLinear"
            and producers[i].input[0] in inits
            for i in n.input
        ):
            assert all(producers[i].op_type != "DequantizeLinear" for i in n.input if i in producers), n.name
    assert "Softmax" in ops
    props = {p.key: p.value for p in model.metadata_props}
    assert props["archdsl.quantize"].startswith("int8 QDQ per-channel")


def test_int8_output_is_close_to_fp32(tmp_path):
    calib = _npy_folder(tmp_path, n=8)
    f32, i8 = tmp_path / "f.onnx", tmp_path / "i.onnx"
    _compile(MNV3, f32)
    _compile(MNV3, i8, "--quantize", "int8", "--calibration", str(calib))
    x = np.load(calib / "0.npy")[None]
    s32, s8 = ort.InferenceSession(str(f32)), ort.InferenceSession(str(i8))
    y32 = s32.run(None, {s32.get_inputs()[0].name: x})[0]
    y8 = s8.run(None, {s8.get_inputs()[0].name: x})[0]
    assert y8.shape == y32.shape
    assert np.max(np.abs(y8 - y32)) < 0.5 * np.max(np.abs(y32))  # quantised, not garbage
    assert i8.stat().st_size < 0.35 * f32.stat().st_size  # int8 weights: about a quarter


def test_random_calibration_warns_loudly(tmp_path):
    proc = _compile(MNV3, tmp_path / "r.onnx", "--quantize", "int8")
    assert "RANDOM" in proc.stderr and "accuracy means nothing" in proc.stderr


def test_calibration_images_are_read_and_resized(tmp_path):
    from PIL import Image

    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(3):
        Image.fromarray((np.arange(50 * 40 * 3) % 251).astype(np.uint8).reshape(50, 40, 3)).save(d / f"{i}.png")
    proc = _compile(MNV3, tmp_path / "p.onnx", "--quantize", "int8", "--calibration", str(d))
    assert "calibrated on 3 files" in proc.stderr


@pytest.mark.parametrize(
    "setup, message",
    [
        ("missing", "does not exist"),
        ("empty", "holds no images"),
        ("bad_shape", "must hold 3x32x32"),
        ("not_image", "not an image"),
        ("nan", "finite numbers"),
    ],
)
def test_bad_calibration_folders_are_usage_errors(tmp_path, setup, message):
    d = tmp_path / "c"
    if setup != "missing":
        d.mkdir()
    if setup == "bad_shape":
        np.save(d / "x.npy", np.zeros((3, 8, 8), np.float32))
    elif setup == "not_image":
        (d / "x.png").write_bytes(b"not a png")
    elif setup == "nan":
        np.save(d / "x.npy", np.full((3, 32, 32), np.nan, np.float32))
    out = tmp_path / "o.onnx"
    proc = _compile(MNV3, out, "--quantize", "int8", "--calibration", str(d), ok=False)
    assert proc.returncode == 2, proc.stderr
    assert "error[B203]" in proc.stderr and message in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_option_errors(tmp_path):
    proc = _compile(MNV3, tmp_path / "o.onnx", "--quantize", "int4", ok=False)
    assert proc.returncode == 2 and "quantize" in proc.stderr
    proc = _compile(MNV3, tmp_path / "o.onnx", "--calibration", str(tmp_path), ok=False)
    assert proc.returncode == 2 and "for int8 models only" in proc.stderr


def _bench_json(*args):
    proc = run_cli("bench", *args, "--no-store", "--format", "json", "-q", timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_bench_quantize_on_the_host_runs_the_int8_model():
    data = _bench_json(str(MNV3), "--target", "host", "--quantize", "int8", "--runs", "2", "--warmup", "0", *SMALL)
    assert data["settings"]["quantize"] == "int8"
    assert data["results"][0]["runs"] == 2


def test_bench_quantize_on_the_a72_model_costs_int8_kernels():
    spec = ROOT / "specs" / "baselines" / "resnet18.arch"
    fp32 = _bench_json(str(spec), "--target", "a72")["results"][0]
    int8 = _bench_json(str(spec), "--target", "a72", "--quantize", "int8")["results"][0]
    assert int8["env"]["precision"] == "int8" and int8["env"]["int8_speedup"]["conv_dense"] == 2.0
    # ResNet-18 is dense 3x3 convolutions: int8 halves their compute time and quarters their bytes
    assert 0.4 * fp32["median_ms"] < int8["median_ms"] < 0.75 * fp32["median_ms"]


def test_bench_quantize_with_torch_engine_is_refused():
    proc = run_cli("bench", str(MNV3), "--target", "host", "-O", "engine=torch", "--quantize", "int8", "--no-store")
    assert proc.returncode == 2 and "engine=torch" in proc.stderr


def test_latency_model_int8_only_changes_quantised_kinds():
    from archdsl.analysis.a72 import A72
    from archdsl.analysis.latency import cost_items, quantized

    graph = _graph(ATTEND)
    items = cost_items(graph, A72)
    q = quantized(items, A72)
    for a, b in zip(items, q, strict=True):
        if a.kind in A72.int8_speedup:
            assert b.flops == a.flops / 2 and b.weight_bytes == a.weight_bytes / 4
        else:
            assert b == a  # softmax, attention, element-wise: fp32 as in the int8 model


def _graph(path):
    import archdsl

    return archdsl.load(path)

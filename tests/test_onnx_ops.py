"""Every op's ONNX lowering against the numpy reference of docs/ir.md (tests/test_onnx_reference.py).

Small crafted specs exercise each op (and the folds: BN into conv, MobileOne/RepVGG branch merging,
attention scale, slices into one Split) at several opsets, folded and unfolded; onnxruntime runs
them with every graph optimisation on.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from archdsl_backends.onnx import build_model, check_support, serialize
from archdsl_backends.onnx.options import max_opset

import archdsl
from archdsl.diagnostics import DiagnosticError
from archdsl.ops import OPS
from tests import test_onnx_reference as ref

SPECS = {
    "mobileone": """
        input image [8, 12, 12]
        body = mobileone(8, branches = 2) -> mobileone(16, s = 2) -> mobileone(16, groups = 16)
               -> mobileone(16, k = 1)
    """,
    "repvgg_identity": """
        input image [8, 8, 8]
        a = columns(join = "add") {
                a: conv(8, k = 3)
                b: conv(8, k = 1) -> bn
                c: identity
                d: bn
            } -> relu
        b = columns(join = "add") {
                a: conv(8, k = 5, groups = 2) -> bn
                b: conv(8, k = 3, groups = 2)
            }
        c = columns(join = "add") {
                a: conv(8, k = 3, s = 2)
                b: conv(8, k = 2, p = 0, s = 2)
            }
    """,
    "mobilevit": """
        input image [16, 8, 8]
        body = mobilevit(16, d = 24, depth = 2, heads = 2)
    """,
    "inverted_residual_se": """
        input image [16, 10, 10]
        body = inverted_residual(16, e = 3, se_ratio = 0.25, act = "hardswish", gate = "hardsigmoid")
               -> inverted_residual(24, s = 2, act = "relu6")
    """,
    "upsample": """
        input image [4, 5, 6]
        body = conv(8) -> upsample(2, mode = "bilinear") -> conv(8, k = 3, s = 2) -> upsample(3)
               -> upsample(2, mode = "nearest") -> upsample(3, mode = "bilinear")
    """,
    "columns_shuffle_slice": """
        input image [16, 6, 6]
        a = columns(4, split = true, join = "shuffle") { conv_bn_act(4, act = "gelu") }
        b = columns(2, split = true, join = "add") { conv(8, k = 3) -> silu }
        c = slice(2, 7) -> conv(6) -> shuffle(3)
    """,
    "attention_condenser": """
        input image [16, 8, 8]
        body = attention_condenser(mid = 8) -> attention_condenser(r = 4, mid = 4, groups = 2)
    """,
    "dcac": """
        input image [16, 8, 8]
        body = dcac(mid = 8) -> dcac(mid = 4, groups = 2)
    """,
    "pools": """
        input image [6, 11, 11]
        body = maxpool(3, s = 2, ceil = true) -> avgpool(3, s = 2, p = 1, ceil = true)
               -> avgpool(2, s = 1, p = 1, count_include_pad = false) -> maxpool(3, s = 1, p = 1)
               -> avgpool(2, ceil = true) -> gap
    """,
    "blurpool": """
        input image [6, 13, 13]
        body = blurpool(3) -> blurpool(4) -> blurpool(2, s = 1) -> blurpool(1, s = 1) -> blurpool(5, s = 1)
    """,
    "activations_chw": """
        input image [6, 5, 5]
        body = conv(8) -> layernorm -> gelu -> conv(8) -> tanh -> conv(8) -> relu6 -> conv(8) -> hardsigmoid
               -> conv(8) -> sigmoid -> conv(8) -> hardswish -> conv(8) -> softmax -> scale(init = 0.5)
    """,
    "vector_head": """
        input image [6, 5, 5]
        body = conv(8, k = 3, s = 2) -> bn -> relu -> gap -> flatten -> dropout(0.2) -> layernorm
               -> linear(12) -> gelu -> linear(7, bias = false) -> softmax
    """,
    "tokens": """
        input image [8, 4, 6]
        body = unfold(2) -> mhsa(4, scale = 4.0) -> mhsa(2, bias = false) -> layernorm -> linear(12, bias = false)
               -> relu -> linear(8) -> scale -> softmax -> fold(2, h = 4) -> conv(4) -> unfold(2) -> flatten
               -> linear(5)
    """,
    "per_axis_norms": """
        input image [8, 11, 13]
        body = conv(8, k = (1, 5), s = (2, 1), p = (0, 1, 2, 2)) -> groupnorm(4) -> relu
               -> conv(8, k = (3, 1), s = (1, 2), d = 2, p = "same", groups = 2) -> bn(affine = false)
               -> drop_path(0.1) -> conv(8, k = 3, s = 2, p = "same") -> bn(affine = false) -> groupnorm(8)
               -> conv(8, k = 3, d = (2, 1)) -> conv(8, k = (1, 3), d = (1, 2), p = "same", groups = 4)
               -> maxpool((3, 1), (2, 1), (1, 0)) -> avgpool((1, 2), ceil = true) -> groupnorm(1, eps = 0.001)
    """,
    "merges": """
        input image [8, 6, 6]
        a = columns(join = "mul") {
                x: sigmoid
                y: tanh
                z: relu
            }
        b = columns(join = "add") {
                x: conv(8)
                y: conv(8, k = 3) -> relu
                z: identity
            }
        c = basic_block(16, s = 2) -> basic_block(16)
        d = columns(join = "concat") {
                x: conv(4)
                y: maxpool(3, s = 1, p = 1)
            }
    """,
}

CONFIGS = [
    pytest.param({"opset": 17}, id="opset17"),
    pytest.param({"opset": 17, "fold": False}, id="opset17-nofold"),
    pytest.param({"opset": 13}, id="opset13"),
    pytest.param({"opset": 13, "fold": False}, id="opset13-nofold"),
    pytest.param({"opset": max_opset()}, id="opset-max"),
]


def load(tmp_path, name: str):
    path = tmp_path / f"{name}.arch"
    path.write_text(f"import std\nnet t_{name} {{\n{SPECS[name]}\n}}\n")
    return archdsl.load(path)


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(serialize(model), so, providers=["CPUExecutionProvider"])


def test_every_op_is_exercised(tmp_path):
    used = set()
    for name in SPECS:
        used |= {n.op for n in load(tmp_path, name).nodes}
    assert used == set(OPS), f"ops without an ONNX test: {sorted(set(OPS) - used)}"


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("name", sorted(SPECS))
def test_op_semantics(tmp_path, name, config):
    graph = load(tmp_path, name)
    weights = ref.random_weights(graph, seed=3)
    model = build_model(graph, config, weights=weights)
    x = np.random.default_rng(0).standard_normal((3, *graph.inputs[0].type.shape)).astype(np.float32)
    got = session(model).run(None, {"image": x})[0]
    want = ref.run(graph, weights, x)
    assert got.shape == want.shape == (3, *graph.output_type.shape)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)


def test_folds_apply(tmp_path):
    """The folded graphs are as small as the folds promise."""
    ops = lambda m: [n.op_type for n in m.graph.node]  # noqa: E731
    m = build_model(load(tmp_path, "mobileone"), weights=None)
    assert ops(m) == ["Conv", "Relu"] * 4
    m = build_model(load(tmp_path, "repvgg_identity"))
    assert ops(m) == ["Conv", "Relu", "Conv", "Conv", "Conv", "Add"]  # c: an even kernel does not merge
    assert "BatchNormalization" not in ops(build_model(load(tmp_path, "mobilevit")))
    unfolded = ops(build_model(load(tmp_path, "mobileone"), {"fold": False}))
    assert unfolded.count("BatchNormalization") == 4 * 2 + 3 and "Sum" in unfolded
    split = build_model(load(tmp_path, "columns_shuffle_slice"))
    assert ops(split).count("Split") == 2 and ops(split).count("Slice") == 1
    dcac = ops(build_model(load(tmp_path, "dcac")))  # softmax, mul and silu run before the upsampling
    assert dcac.count("Resize") == 2 and dcac.index("Softmax") < dcac.index("Resize")
    assert ops(build_model(load(tmp_path, "dcac"), {"fold": False})).count("Resize") == 4
    no_merge = ops(build_model(load(tmp_path, "mobileone"), {"reparam": False}))
    assert "BatchNormalization" in no_merge and no_merge.count("Conv") > 4


ATTENTION = """
net t_attention {
    input image [8, 4, 6]
    body = unfold(2) -> mhsa(2, scale = SCALE) -> fold(2, h = 4)
}
"""


def test_attention_scale_is_honoured(tmp_path):
    """``mhsa(scale = ...)``: onnxruntime (folded into qkv, and as a Mul), the numpy reference and
    the PyTorch backend agree, and differ from the default scale 1/sqrt(C/heads)."""
    outs = {}
    for scale in ("0.3", "none"):
        path = tmp_path / "a.arch"
        path.write_text(ATTENTION.replace("SCALE", scale))
        graph = archdsl.load(path)
        weights = ref.random_weights(graph, seed=1)
        x = np.random.default_rng(0).standard_normal((2, 8, 4, 6)).astype(np.float32)
        want = ref.run(graph, weights, x)
        for fold in (True, False):
            model = build_model(graph, {"fold": fold}, weights=weights)
            muls = [n for n in model.graph.node if n.name.endswith("/q_scaled")]
            assert len(muls) == (0 if fold else 1)
            np.testing.assert_allclose(session(model).run(None, {"image": x})[0], want, atol=1e-5, rtol=1e-4)
        try:
            import torch
            from archdsl_backends.torch import build_module
        except ImportError:
            torch = None
        if torch is not None:
            module = build_module(graph).eval()
            module.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
            with torch.no_grad():
                got = module(torch.from_numpy(x)).numpy()
            np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)
        outs[scale] = want
    assert np.abs(outs["0.3"] - outs["none"]).max() > 1e-3


def test_names_follow_spec_paths(tmp_path):
    graph = load(tmp_path, "inverted_residual_se")
    model = build_model(graph, {"fold": False})
    names = {n.name for n in model.graph.node}
    ids = {n.id for n in graph.nodes if n.op not in ("identity", "dropout")}
    assert ids <= names | {model.graph.output[0].name}
    inits = {i.name for i in model.graph.initializer}
    assert "body.inverted_residual.body.se.g.conv.weight" in inits
    assert "body.inverted_residual.body.bn.running_var" in inits
    for node in model.graph.node:
        assert node.doc_string.startswith(("std.arch:", "inverted_residual_se.arch:")), node.doc_string


def test_same_input_gives_same_bytes(tmp_path):
    graph = load(tmp_path, "mobilevit")
    assert serialize(build_model(graph)) == serialize(build_model(load(tmp_path, "mobilevit")))
    assert serialize(build_model(graph, {"seed": 1})) != serialize(build_model(graph))


def test_dynamic_and_fixed_batch(tmp_path):
    graph = load(tmp_path, "dcac")
    dims = lambda vi: [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]  # noqa: E731
    m = build_model(graph)
    assert dims(m.graph.input[0]) == ["batch", 16, 8, 8] and dims(m.graph.output[0]) == ["batch", 16, 8, 8]
    fixed = build_model(graph, {"dynamic_batch": False, "batch": 2})
    assert dims(fixed.graph.input[0]) == [2, 16, 8, 8]
    x = np.zeros((2, 16, 8, 8), np.float32)
    assert session(fixed).run(None, {"image": x})[0].shape == (2, 16, 8, 8)


def test_metadata(tmp_path):
    graph = load(tmp_path, "mobileone")
    model = build_model(graph)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["archdsl.version"] == archdsl.__version__
    assert props["archdsl.spec_hash"] == graph.source_hash and len(graph.source_hash) == 64
    assert props["archdsl.input_size"] == "8x12x12"
    assert props["archdsl.source"] == "mobileone.arch"
    assert props["archdsl.weights"] == "numpy init, seed 0"
    assert "branches merged (5)" in props["archdsl.fold"] and "batch norm folded" in props["archdsl.fold"]
    assert model.producer_name == "archdsl"
    assert model.opset_import[0].version == 17
    assert model.ir_version == onnx.helper.find_min_ir_version_for(list(model.opset_import))
    assert str(tmp_path) not in str(model.metadata_props) + model.doc_string


CEIL = """
net t { input image [4, 7, 7]
    body = conv(8, k = 3) -> maxpool(2, s = 2, p = 1, ceil = true) }
"""


def test_ceil_pool_needs_opset_22(tmp_path):
    """Located error where ONNX pooling before opset 22 disagrees with PyTorch's ceil mode."""
    path = tmp_path / "ceil.arch"
    path.write_text(CEIL)
    graph = archdsl.load(path)
    diags = check_support(graph, 21)
    assert len(diags) == 1
    d = diags[0]
    assert d.code == "B001" and d.span.line == 3 and d.span.file == str(path)
    assert "maxpool" in d.message and "opset 21" in d.message and "4×4" in d.message and "5×5" in d.message
    assert d.help == "compile with -O opset=22 or later"
    with pytest.raises(DiagnosticError) as exc:
        build_model(graph, {"opset": 17})
    assert exc.value.diagnostics[0].code == "B001"
    model = build_model(graph, {"opset": 22})
    x = np.random.default_rng(0).standard_normal((2, 4, 7, 7)).astype(np.float32)
    w = ref.random_weights(graph)
    got = session(build_model(graph, {"opset": 22}, weights=w)).run(None, {"image": x})[0]
    np.testing.assert_allclose(got, ref.run(graph, w, x), atol=1e-5)
    assert got.shape == (2, 8, 4, 4) and model.opset_import[0].version == 22


def test_onnx_shape_rule_before_22_is_what_the_check_assumes():
    """The check's premise, asked of onnx itself: opset 21 infers 5×5 here, opset 22 PyTorch's 4×4."""
    from onnx import TensorProto, helper

    for opset, size in ((21, 5), (22, 4)):
        node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[1] * 4, ceil_mode=1)
        g = helper.make_graph(
            [node],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 7, 7])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        )
        m = onnx.shape_inference.infer_shapes(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]))
        assert m.graph.output[0].type.tensor_type.shape.dim[2].dim_value == size


@pytest.mark.parametrize(
    ("options", "code", "fragment"),
    [
        ({"opst": 17}, "B004", "did you mean 'opset'"),
        ({"opset": 12}, "B005", "out of range"),
        ({"opset": max_opset() + 1}, "B005", "out of range"),
        ({"fold": "yes"}, "B005", "true or false"),
        ({"opset": True}, "B005", "must be an integer"),
        ({"fold": False, "reparam": True}, "B005", "needs fold=true"),
        ({"batch": 0}, "B005", "at least 1"),
    ],
)
def test_bad_options(tmp_path, options, code, fragment):
    with pytest.raises(DiagnosticError) as exc:
        build_model(load(tmp_path, "dcac"), options)
    d = exc.value.diagnostics[0]
    assert d.code == code
    assert fragment in d.message + (d.help or "")


def test_output_name_clash(tmp_path):
    graph = load(tmp_path, "dcac")
    with pytest.raises(DiagnosticError) as exc:
        build_model(graph, {"output_name": "body.dcac.mul"})
    assert exc.value.diagnostics[0].code == "B202" and "output_name" in exc.value.diagnostics[0].help
    model = build_model(graph, {"output_name": "logits"})
    assert model.graph.output[0].name == "logits" and model.graph.node[-1].output[0] == "logits"


def test_shapes_option_stores_the_ir_shapes(tmp_path):
    graph = load(tmp_path, "mobilevit")
    assert not build_model(graph).graph.value_info
    model = build_model(graph, {"shapes": True})
    shapes = {
        v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.value_info
    }
    assert shapes["body.glob.unfold"] == ["batch", 4, 16, 24]
    assert shapes["body.glob.fold"] == ["batch", 24, 8, 8]
    assert "body.glob.transformer_layer.0.residual.body.mhsa/scores" in shapes  # inferred helpers too


def test_resize_outputs_keep_the_batch_symbol(tmp_path):
    """ONNX inference loses the batch name through Resize; the backend declares those shapes."""
    model = build_model(load(tmp_path, "dcac"))
    resized = {n.output[0] for n in model.graph.node if n.op_type == "Resize"} - {"output"}  # (declared already)
    declared = {v.name: v.type.tensor_type.shape.dim[0].dim_param for v in model.graph.value_info}
    assert declared == dict.fromkeys(resized, "batch")


def test_a_lowering_that_disagrees_with_the_ir_is_caught(tmp_path, monkeypatch):
    from archdsl_backends.onnx import emitters

    def wrong(b, node, xs):  # upsample by 3 where the IR says 2
        scales = b.const("const/wrong", np.array([1, 1, 3, 3], dtype=np.float32))
        return b.add("Resize", [xs[0], "", scales], node.id, mode="nearest")

    monkeypatch.setitem(emitters.EMITTERS, "upsample", wrong)
    with pytest.raises(RuntimeError, match="disagrees with the IR's shapes"):
        build_model(load(tmp_path, "upsample"))

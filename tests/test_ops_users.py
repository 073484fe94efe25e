"""The ops users asked for (issue 13, item 9), end to end: ``groupnorm``, ``drop_path``,
``bn(affine = false)``, per-axis kernels and strides (``k = (1, 5)``), explicit, asymmetric and
TF-style ``"same"`` padding. Shapes and counts against PyTorch's own layers, the torch and ONNX
lowerings against each other (onnxruntime), lint traits, labels and diagnostics.

The registry-wide checks (traits, weights, label, cost, both lowerings on each op's example) are in
tests/test_op_registry.py; this file checks what is particular to these ops.
"""

from __future__ import annotations

import math

import pytest

from archdsl.diagnostics import DiagnosticError
from archdsl.ops import OPS
from archdsl.resolve import load_graph
from archdsl.rules.engine import lint_text


def net(body: str, image: str = "[8, 16, 16]") -> str:
    return f"net t {{\n    input x {image}\n    y = {body}\n}}\n"


def graph_of(body: str, image: str = "[8, 16, 16]"):
    return load_graph("t.arch", text=net(body, image))


def error_of(body: str, image: str = "[8, 16, 16]"):
    with pytest.raises(DiagnosticError) as exc:
        graph_of(body, image)
    (d,) = exc.value.diagnostics
    return d


def lint_codes(body: str, select: list[str]) -> list[str]:
    text = (
        f"net example {{\n    input image [3, 32, 32]\n    stem = {body}\n    head = gap -> flatten -> linear(10)\n}}\n"
    )
    res = lint_text(text, select=select)
    assert res.spec_errors == [], [d.message for d in res.spec_errors]
    return [f.code for f in res.findings]


# ---- shapes, parameters and MACs -------------------------------------------------------------------

CONVS = [
    "conv(16, k = (1, 5))",
    "conv(16, k = (5, 1), s = (2, 1))",
    "conv(16, k = (3, 5), s = (1, 2), p = (1, 0))",
    "conv(16, k = 3, s = 2, p = (0, 1, 0, 1))",
    "conv(16, k = 3, s = 2, p = (2, 0, 1, 3))",
    'conv(16, k = 3, s = 2, p = "same")',
    'conv(16, k = (1, 7), s = (3, 2), d = 2, p = "same", groups = 8)',
    'conv(16, k = 4, s = 4, p = "same")',
    "conv(16, k = 2, p = 0)",
    "conv(16, k = 3, d = (1, 2))",
    'conv(16, k = (3, 5), s = 2, d = (2, 1), p = "same", groups = 2)',
    "conv(16, k = 3, s = (2, 1), d = (3, 1), p = (0, 1, 2, 0))",
]


@pytest.mark.parametrize("body", CONVS)
@pytest.mark.parametrize("image", ["[8, 16, 16]", "[8, 15, 17]"])
def test_conv_shapes_and_counts_match_torch(body, image):
    torch = pytest.importorskip("torch")
    from archdsl_backends.torch import build_module

    graph = graph_of(body + " -> relu", image)
    (node,) = [n for n in graph.nodes if n.op == "conv"]
    module = build_module(graph).eval()
    x = torch.zeros(2, *graph.inputs[0].type.shape)
    with torch.no_grad():
        y = module(x)
    assert tuple(y.shape[1:]) == node.out.shape
    assert sum(p.numel() for p in module.parameters()) == node.params == graph.total_params
    kh, kw = module.get_submodule(node.id).kernel_size
    assert node.macs == (16 * (8 // node.args.groups) * kh * kw) * node.out.h * node.out.w


def test_same_padding_is_tensorflows():
    """ceil(size / s) outputs, the odd row or column at the end (timm's pad_same)."""
    from archdsl.ops.base import same_pads

    assert same_pads(224, 3, 2) == (0, 1) and same_pads(225, 3, 2) == (1, 1)
    assert same_pads(224, 4, 4) == (0, 0) and same_pads(7, 1, 1) == (0, 0)
    assert same_pads(10, 7, 1, d=2) == (6, 6)
    for size in range(5, 30):
        for k, s in ((3, 2), (5, 1), (4, 4), (7, 3)):
            g = graph_of(f'conv(8, k = {k}, s = {s}, p = "same")', f"[8, {size}, {size}]")
            assert g.nodes[0].out.h == math.ceil(size / s)


def test_same_padding_is_computed_per_input_size_in_torch():
    """The module keeps "same" (timm's Conv2dSame): on another input size it pads for that size."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    from archdsl_backends.torch import build_module

    graph = graph_of('conv(8, k = 3, s = 2, p = "same")')
    module = build_module(graph, seed=1).eval()
    conv = module.get_submodule(graph.nodes[0].id)
    x = torch.randn(1, 8, 13, 10)
    with torch.no_grad():
        got = module(x)
        want = F.conv2d(F.pad(x, (0, 1, 1, 1)), conv.weight, None, 2)  # w: 10 → pad 0+1; h: 13 → 1+1
    assert got.shape == (1, 8, 7, 5)
    torch.testing.assert_close(got, want)


def test_square_tuples_are_ints_in_the_ir():
    """(3, 3) is 3, (1, 1, 2, 2) is (1, 2): the IR of a square spec is the same however it is written."""
    a = graph_of("conv(16, k = (3, 3), s = (2, 2), p = (1, 1, 1, 1))").nodes[0].args
    b = graph_of("conv(16, k = 3, s = 2, p = 1)").nodes[0].args
    assert a == b and a.k == 3 and a.s == 2 and a.p == 1
    assert graph_of("conv(16, k = 3, p = (1, 1, 2, 2))").nodes[0].args.p == (1, 2)
    assert graph_of("conv(16, k = (1, 5))").nodes[0].args.p == (0, 2)
    assert graph_of("maxpool((3, 3), (2, 2), (1, 1))").nodes[0].args == graph_of("maxpool(3, 2, 1)").nodes[0].args


@pytest.mark.parametrize(
    ("body", "shape"),
    [
        ("maxpool((3, 1), (2, 1), (1, 0))", (8, 8, 16)),
        ("avgpool((1, 2))", (8, 16, 8)),
        ("avgpool(3, (1, 2), (1, 1), ceil = true)", (8, 16, 9)),
        ("maxpool((2, 4), ceil = true)", (8, 8, 4)),
    ],
)
def test_pools_per_axis_match_torch(body, shape):
    torch = pytest.importorskip("torch")
    from archdsl_backends.torch import build_module

    graph = graph_of(body)
    assert graph.nodes[0].out.shape == shape
    with torch.no_grad():
        assert tuple(build_module(graph).eval()(torch.zeros(1, 8, 16, 16)).shape[1:]) == shape


def test_groupnorm_and_bn_counts_match_torch():
    pytest.importorskip("torch")
    from archdsl_backends.torch import build_module
    from torch import nn

    graph = graph_of("groupnorm(4) -> bn(affine = false) -> bn -> groupnorm(groups = 8, eps = 1e-6)")
    gn, bn_plain, bn, gn8 = graph.nodes
    assert (gn.params, bn_plain.params, bn.params, gn8.params) == (16, 0, 16, 16)
    assert (gn.macs, bn_plain.macs, bn.macs) == (16, 0, 16)
    module = build_module(graph)
    assert sum(p.numel() for p in module.parameters()) == graph.total_params == 48
    m = module.get_submodule(gn8.id)
    assert isinstance(m, nn.GroupNorm) and (m.num_groups, m.num_channels, m.eps) == (8, 8, 1e-6)
    plain = module.get_submodule(bn_plain.id)
    assert isinstance(plain, nn.BatchNorm2d) and not plain.affine
    assert set(plain.state_dict()) == {"running_mean", "running_var", "num_batches_tracked"}


# ---- the two lowerings agree ----------------------------------------------------------------------

AGREE = [
    *CONVS,
    "groupnorm(4) -> relu -> groupnorm(1) -> groupnorm(8)",
    "conv(16, k = 3) -> bn(affine = false) -> relu",
    "bn(affine = false, eps = 0.001)",
    "drop_path(0.3) -> conv(8, k = 3)",
    "maxpool((3, 1), (2, 1), (1, 0)) -> avgpool((1, 2), count_include_pad = false)",
    "avgpool(3, (1, 2), (1, 1), ceil = true)",
]


def _run_both(graph, opset: int, deploy: bool = False, seed: int = 3):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    import numpy as np
    import onnxruntime as ort
    from archdsl_backends.onnx import build_model, serialize
    from archdsl_backends.torch import build_module

    module = build_module(graph, seed=seed).eval()
    # non-trivial running statistics and affine parameters, so that folding and constants are tested
    gen = torch.Generator().manual_seed(0)
    state = {}
    for k, v in module.state_dict().items():
        if k.endswith("running_var"):
            v = torch.rand(v.shape, generator=gen) + 0.5
        elif k.endswith(("running_mean", "bias")) or (k.endswith("weight") and v.dim() == 1):
            v = torch.randn(v.shape, generator=gen) * 0.5 + (1.0 if k.endswith("weight") else 0.0)
        state[k] = v
    module.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((2, *graph.inputs[0].type.shape)).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
        if deploy:
            from archdsl_backends.torch import reparameterize

            folded = reparameterize(module)(torch.from_numpy(x)).numpy()
            np.testing.assert_allclose(folded, want, atol=1e-4, rtol=1e-4)
    weights = {k: v.numpy() for k, v in state.items()}
    model = build_model(graph, {"seed": seed, "opset": opset}, weights=weights)
    sess = ort.InferenceSession(serialize(model), providers=["CPUExecutionProvider"])
    got = sess.run(None, {graph.inputs[0].name: x})[0]
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)
    return model


@pytest.mark.parametrize("body", AGREE)
def test_torch_and_onnx_agree(body):
    pytest.importorskip("onnx")
    for image in ("[8, 16, 16]", "[8, 15, 17]"):
        _run_both(graph_of(body, image), opset=17, deploy=True)


@pytest.mark.parametrize("opset", [17, 18, 21])
def test_groupnorm_in_onnx_by_opset(opset):
    """GroupNormalization from opset 21 (per-channel scale); below, InstanceNormalization over
    [B, G, -1] (opset 18's GroupNormalization has per-group scales, not PyTorch's)."""
    onnx = pytest.importorskip("onnx")
    from archdsl_backends.onnx.options import max_opset

    if opset > max_opset():
        pytest.skip(f"onnx knows opsets up to {max_opset()}")
    try:
        model = _run_both(graph_of("conv(16, k = 3) -> groupnorm(4) -> silu"), opset=opset)
    except Exception as exc:  # an onnxruntime without the opset-21 kernel
        if opset >= 21 and "GroupNormalization" in str(exc):
            pytest.skip(f"onnxruntime cannot run GroupNormalization-21: {exc}")
        raise
    ops = [n.op_type for n in model.graph.node]
    if opset >= 21:
        assert "GroupNormalization" in ops and "InstanceNormalization" not in ops
    else:
        assert "InstanceNormalization" in ops and "GroupNormalization" not in ops
    onnx.checker.check_model(model)


def test_onnx_padding_attributes():
    pytest.importorskip("onnx")
    from archdsl_backends.onnx import build_model

    graph = graph_of('conv(16, k = (1, 5), s = (2, 1), p = (0, 1, 2, 3)) -> conv(16, k = 3, s = 2, p = "same")')
    assert [n.out.shape for n in graph.nodes] == [(16, 9, 17), (16, 5, 9)]
    a, b = build_model(graph).graph.node[:2]
    attrs = {n.name: {x.name: x for x in n.attribute} for n in (a, b)}
    first, second = attrs[a.name], attrs[b.name]
    assert list(first["kernel_shape"].ints) == [1, 5] and list(first["strides"].ints) == [2, 1]
    assert list(first["pads"].ints) == [0, 2, 1, 3]  # ONNX: top, left, bottom, right
    assert list(second["pads"].ints) == [1, 1, 1, 1]  # "same" on 9×17 at stride 2: 2 rows, 2 columns
    other = build_model(graph_of('conv(16, k = 3, s = 2, p = "same")')).graph.node[0]
    (pads,) = [x for x in other.attribute if x.name == "pads"]
    assert list(pads.ints) == [0, 0, 1, 1]  # 16×16: one row and one column, at the bottom and right
    assert "auto_pad" not in second


def test_bn_without_affine_in_onnx_and_folded():
    """Constant scale 1 and bias 0 in ONNX; fold_bn folds it into the conv before it like any bn."""
    pytest.importorskip("onnx")
    from archdsl_backends.onnx import build_model

    from archdsl import passes
    from archdsl.weights import init_weights

    graph = graph_of("relu -> bn(affine = false)")
    (bn,) = [n for n in build_model(graph).graph.node if n.op_type == "BatchNormalization"]
    assert list(bn.input[1:3]) == ["const/ones[8]", "const/zeros[8]"]
    g = graph_of("conv(8, k = 3) -> bn(affine = false) -> relu")
    new, weights, stats = passes.run(g, init_weights(g, 0), ("fold_bn",))
    assert [n.op for n in new.nodes] == ["conv", "relu"] and new.nodes[0].args.bias
    assert stats["batch norm folded"] == 1 and f"{new.nodes[0].id}.bias" in weights


# ---- drop_path -------------------------------------------------------------------------------------


def test_drop_path_is_per_sample_in_training_and_the_identity_in_eval():
    torch = pytest.importorskip("torch")
    from archdsl_backends.torch import build_module

    graph = graph_of("drop_path(0.25)")
    assert graph.nodes[0].params == 0 and graph.nodes[0].macs == 0
    module = build_module(graph)
    x = torch.randn(4000, 8, 4, 4) + 3.0
    torch.manual_seed(0)
    y = module.train()(x)
    per_sample = (y / x).flatten(1)
    kept = per_sample[:, 0] != 0
    # each sample entirely dropped or entirely kept and scaled by 1/(1 - p)
    assert torch.allclose(per_sample[kept], torch.full_like(per_sample[kept], 1 / 0.75))
    assert (per_sample[~kept] == 0).all()
    assert 0.70 < kept.float().mean() < 0.80
    assert torch.equal(module.eval()(x), x)


def test_drop_path_is_dropped_by_onnx_and_deploy():
    pytest.importorskip("onnx")
    from archdsl_backends.onnx import build_model

    from archdsl import passes

    graph = graph_of("conv(8, k = 3) -> drop_path(0.2) -> relu")
    assert [n.op_type for n in build_model(graph).graph.node] == ["Conv", "Relu"]
    new, _, _ = passes.run(graph, None, ("drop_identities",))
    assert [n.op for n in new.nodes] == ["conv", "relu"]


def test_drop_path_matches_timms_definition():
    """timm's drop_path (timm/layers/drop.py), written out: a (B, 1, 1, 1) Bernoulli mask / keep."""
    torch = pytest.importorskip("torch")
    from archdsl_backends.torch.layers import DropPath

    def timm_drop_path(x, drop_prob, training):
        if drop_prob == 0.0 or not training:
            return x
        keep_prob = 1 - drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
        random_tensor.div_(keep_prob)
        return x * random_tensor

    x = torch.randn(64, 3, 5, 5)
    torch.manual_seed(7)
    want = timm_drop_path(x, 0.3, True)
    torch.manual_seed(7)
    got = DropPath(0.3).train()(x)
    assert torch.equal(got, want)


# ---- lint, labels, cost ----------------------------------------------------------------------------


def test_groupnorm_is_a_norm_to_lint():
    assert lint_codes("conv(16, k = 3) -> groupnorm(4) -> groupnorm(4) -> relu", ["AR206"]) == ["AR206"]
    assert lint_codes("conv(16, k = 3) -> bn -> bn -> relu", ["AR206"]) == ["AR206"]
    assert lint_codes("conv(16, k = 3) -> groupnorm(4) -> relu", ["AR206"]) == []
    t = OPS["groupnorm"].traits
    assert t.norm and not t.per_channel and not t.per_pixel  # statistics over channels and pixels


def test_drop_path_is_an_alias_to_lint():
    assert OPS["drop_path"].traits.alias and OPS["drop_path"].traits.linear
    # looked through: conv -> drop_path -> bn -> bn is still a duplicate norm
    assert lint_codes("conv(16, k = 3) -> bn -> drop_path(0.1) -> bn -> relu", ["AR206"]) == ["AR206"]


@pytest.mark.parametrize(
    ("body", "fires"),
    [
        ("conv(16, k = 4, s = 4)", True),  # default padding 1: the rule's case
        ("conv(16, k = 4, s = 4, p = 0)", False),
        ("conv(16, k = 4, s = 4, p = (0, 0))", False),
        ("conv(16, k = 4, s = 4, p = (0, 0, 0, 0))", False),
        ('conv(16, k = 4, s = 4, p = "same")', False),  # explicit: TF's rule (no padding when s divides)
        ("conv(16, k = (4, 2), s = (4, 2))", True),
        ("conv(16, k = (4, 2), s = (4, 2), p = 0)", False),
        ("conv(16, k = 4, s = 4, p = (0, 1, 0, 1))", True),  # explicit, but the patches do not tile
    ],
)
def test_padded_patchify_lint_and_explicit_padding(body, fires):
    assert lint_codes(body + " -> relu", ["AR209"]) == (["AR209"] if fires else [])


def test_labels_and_costs():
    g = graph_of(
        'conv(16, k = (1, 5), s = (2, 1)) -> conv(16, k = 3, p = "same") -> groupnorm(4) -> bn(affine = false)'
    )
    titles = [OPS[n.op].title(n.args, [g.type_of(n.inputs[0])]) for n in g.nodes]
    assert titles == ["conv 1×5 · 16 · ↓2×1", "conv 3×3 · 16 · same", "GN · g4", "BN · no affine"]
    for n in g.nodes:
        cost = OPS[n.op].cost(n.args, [g.type_of(n.inputs[0])], n.out, n.macs)
        assert cost.flops > 0
    assert OPS["conv"].cost(g.nodes[0].args, [g.type_of("x")], g.nodes[0].out, g.nodes[0].macs).kind == "conv_dense"
    assert OPS["groupnorm"].cost(g.nodes[2].args, [g.nodes[1].out], g.nodes[2].out, 0).kind == "norm"


def test_latency_model_costs_the_new_ops():
    """The Cortex-A72 model costs groupnorm as a norm (not as a copy with 0 FLOPs), drop_path as
    nothing (dropped), bn(affine = false) folded into the conv, a non-square conv as a dense conv."""
    from archdsl.analysis.a72 import A72
    from archdsl.analysis.latency import cost_items, predict, unsupported

    graph = graph_of("conv(16, k = (1, 5)) -> bn(affine = false) -> groupnorm(4) -> drop_path(0.1) -> relu")
    assert unsupported(graph, A72) == []
    items = {i.op: i for i in cost_items(graph, A72)}
    assert items["bn"].kind == "free" and items.get("drop_path", items["bn"]).kind == "free"
    (gn,) = [n for n in graph.nodes if n.op == "groupnorm"]
    assert items["groupnorm"].kind == "norm" and items["groupnorm"].flops == 8 * gn.out.numel
    # the folded batch norm gives the conv a bias: a little more than 2 FLOPs per MAC of the spec's conv
    assert (
        items["conv"].kind == "conv_dense" and 2 * graph.nodes[0].macs < items["conv"].flops < 2.1 * graph.nodes[0].macs
    )
    assert predict(graph, A72).by_kind["norm"] > 0


def test_merge_branches_leaves_non_square_convolutions_alone():
    from archdsl import passes

    g = graph_of('columns(join = "add") { conv(8, k = (1, 3))\n conv(8, k = 1) }')
    new, _, _ = passes.run(g, None, ("merge_branches",))
    assert [n.op for n in new.nodes] == [n.op for n in g.nodes]


# ---- diagnostics -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            "conv(8, k = (1, 2, 3))",
            "E320",
            "argument 'k' of 'conv': a tuple of 3 entries; give an integer or (height, width)",
        ),
        ("conv(8, k = (0, 3))", "E320", "argument 'k' of 'conv': every entry must be 1 or more, got (0, 3)"),
        ("conv(8, k = 3, d = (1, 0))", "E320", "argument 'd' of 'conv': every entry must be 1 or more, got (1, 0)"),
        ("conv(8, k = 3, p = (1, -1))", "E320", "every entry must be 0 or more, got (1, -1)"),
        ("conv(8, k = 3, p = (1, 1, 1))", "E320", "a tuple of 3 entries; give an integer or (height, width) or (top"),
        ('conv(8, k = 3, p = "valid")', "E320", "argument 'p' of 'conv' must be one of 'same', got a string \"valid\""),
        ('conv(8, k = (1, "a"))', "E320", "argument 'k' of 'conv' must be an integer, got a string \"a\""),
        ("conv(8, k = 3, p = (1, 2.5))", "E320", "must be an integer, got a number 2.5"),
        ("conv(8, k = 3, p = (0, 99, 0, 0)) -> conv(8, k = 3, p = (-40, 0))", "E320", "every entry must be 0 or more"),
        ("conv(8, k = 3, s = (1, 0))", "E320", "every entry must be 1 or more, got (1, 0)"),
        ("conv(8, k = (40, 1), p = 0)", "E403", "spatial size shrinks to zero: height 16 with kernel 40, padding 0"),
        ("conv(8, k = 3, p = (0, 0, 0, 0)) -> conv(8, k = (1, 30), p = (0, 0, 3, 2))", "E403", "padding 3 + 2"),
        ("conv(8, k = 3, p = (1, 10 ** 7))", "E501", "p = 10,000,000 is above the limit"),
        ("maxpool(3, 2, (1, 2))", "E405", "padding (1, 2) is more than half the window 3"),
        ('maxpool(3, 2, "same")', "E320", "argument 'p' of 'maxpool'"),
        ("groupnorm(3)", "E404", "groupnorm: groups=3 does not divide the 8 input channels"),
        ("groupnorm(0)", "E321", "argument 'groups' of 'groupnorm': input should be greater than or equal to 1"),
        ("drop_path(1.0)", "E321", "argument 'p' of 'drop_path': input should be less than 1"),
        ("bn(affine = 1)", "E320", "argument 'affine' of 'bn' must be true or false, got an integer 1"),
        ("conv(8, k = (1, 2) + 1)", "E260", "'+' needs numbers, got a tuple and an integer"),
    ],
)
def test_invalid_arguments(body, code, message):
    d = error_of(body)
    assert d.code == code and message in d.message, (d.code, d.message)
    assert d.span is not None and d.span.line == 3


def test_groupnorm_needs_a_feature_map():
    d = error_of("groupnorm(1)", image="[8]")
    assert d.code == "E402" and "chw" in d.message


def test_fmt_keeps_tuples():
    from archdsl.fmt import format_text

    text = net('conv(16, k = (1, 5), s = (2,1), p = ( 0, 1, 2, 2 )) -> conv(8, p = "same")')
    out = format_text(text)
    assert "k = (1, 5), s = (2, 1), p = (0, 1, 2, 2)" in out
    assert format_text(out) == out


# ---- the IR, the standalone file --------------------------------------------------------------------


def test_ir_json_round_trips_per_axis_arguments():
    from archdsl.ir import Graph

    g = graph_of(
        'conv(16, k = (1, 5), s = (2, 1), p = (0, 1, 2, 2)) -> conv(8, k = 3, p = "same") -> bn(affine = false)'
    )
    data = g.to_json()
    import json

    first, second, bn = json.loads(data)["nodes"]
    assert (first["args"]["k"], first["args"]["s"], first["args"]["p"]) == ([1, 5], [2, 1], [0, 1, 2, 2])
    assert (second["args"]["k"], second["args"]["p"], bn["args"]["affine"]) == (3, "same", False)
    assert Graph.model_validate_json(data) == g


def test_standalone_python_file_has_the_new_layers(tmp_path):
    """--emit python copies PaddedConv2d and DropPath; the file is ruff-clean and computes what the
    compiled module computes, also on another input size ("same" is computed per input)."""
    torch = pytest.importorskip("torch")
    import importlib.util
    import subprocess
    import sys

    from typer.testing import CliRunner

    from archdsl.cli import app
    from tests.conftest import ROOT

    spec = tmp_path / "axes.arch"
    spec.write_text(
        net(
            'conv(16, k = (1, 5), s = (2, 1), p = (0, 1, 2, 2)) -> groupnorm(4) -> conv(8, k = 3, s = 2, p = "same")'
            " -> bn(affine = false) -> drop_path(0.2)"
        )
    )
    out = tmp_path / "axes.py"
    r = CliRunner().invoke(app, ["compile", str(spec), "-b", "torch", "--emit", "python", "-o", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert "class PaddedConv2d(nn.Conv2d):" in text and "class DropPath(nn.Module):" in text
    for args in (["check"], ["format", "--check"]):
        res = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--config", str(ROOT / "pyproject.toml"), str(out)],
            capture_output=True,
            text=True,
        )
        assert res.returncode == 0, res.stdout
    s = importlib.util.spec_from_file_location("axes", out)
    mod = importlib.util.module_from_spec(s)
    s.loader.exec_module(mod)
    from archdsl_backends.torch import build_module

    graph = load_graph(spec)
    compiled = build_module(graph, seed=0).eval()
    standalone = mod.T().eval()
    standalone.load_state_dict(compiled.state_dict())
    with torch.no_grad():
        for shape in ((2, 8, 16, 16), (1, 8, 13, 11)):
            x = torch.randn(*shape)
            torch.testing.assert_close(standalone(x), compiled(x))

"""The shared IR passes, tested once on the IR: the rewritten graph computes what the original one
does (the float64 numpy interpreter of docs/ir.md), the counts are consistent, the inputs are not
modified, and each pass fires where it should and nowhere else."""

from __future__ import annotations

import numpy as np
import pytest

from archdsl.passes import INFERENCE, PASSES, run
from archdsl.resolve import load_graph
from tests.conftest import ROOT
from tests.test_onnx_reference import random_weights
from tests.test_onnx_reference import run as reference

ALL = tuple(PASSES)


def graph_of(body: str, shape="[8, 12, 12]"):
    text = f"import std\nnet t {{\n    input x {shape}\n{body}\n}}\n"
    return load_graph("t.arch", text=text)


def summed(*branches: str, after: str = "") -> str:
    """A statement ``y`` that adds the given branches (columns joined by add)."""
    body = "".join(f"        b{i}: {b}\n" for i, b in enumerate(branches))
    return f'    y = columns(join = "add") {{\n{body}    }}' + (f" -> {after}" if after else "")


def check_equal(graph, passes=ALL, seed=0, atol=1e-9):
    # float64 weights: the passes keep the dtype, so the algebra itself is checked to 1e-9
    weights = {k: v.astype(np.float64) for k, v in random_weights(graph, seed).items()}
    before = {k: v.copy() for k, v in weights.items()}
    new, new_w, stats = run(graph, weights, passes)
    for k in before:  # the inputs are left alone
        np.testing.assert_array_equal(weights[k], before[k])
    x = np.random.default_rng(seed).standard_normal((2, *graph.inputs[0].type.shape))
    np.testing.assert_allclose(reference(new, new_w, x), reference(graph, weights, x), atol=atol, rtol=1e-7)
    assert new.output_type == graph.output_type
    for n in new.nodes:  # every count recomputed from the registry
        assert n.params == n.spec.params(n.args, [new.type_of(i) for i in n.inputs], n.out)
    learned = {k for k in new_w if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))}
    assert sum(new_w[k].size for k in learned) == new.total_params
    return new, new_w, stats


def test_fold_bn_into_the_conv_before_it():
    g = graph_of("    y = conv(8, k = 3) -> bn -> relu\n    z = conv(4) -> bn")
    new, _, stats = check_equal(g, ("fold_bn",))
    assert stats["batch norm folded"] == 2
    assert [n.op for n in new.nodes] == ["conv", "relu", "conv"]
    assert all(n.args.bias for n in new.nodes if n.op == "conv")
    assert new.nodes[0].id == g.nodes[0].id  # the conv keeps its id


def test_bn_after_a_shared_conv_is_not_folded():
    g = graph_of("    a = conv(8)\n    b = bn\n    c = add(a, b)")
    new, _, stats = check_equal(g, ("fold_bn",))
    assert stats["batch norm folded"] == 0
    assert [n.op for n in new.nodes] == ["conv", "bn", "add"]


def test_drop_identities():
    g = graph_of("    y = conv(8) -> identity -> dropout(0.5) -> relu")
    new, _, stats = check_equal(g, ("drop_identities",))
    assert [n.op for n in new.nodes] == ["conv", "relu"]
    assert stats["identity removed"] == 2


def test_mobileone_branches_merge_into_one_conv():
    g = graph_of(
        '    y = columns(join = "add") {\n'
        "        a: conv(8, k = 3) -> bn\n"
        "        b: conv(8, k = 3) -> bn\n"
        "        c: conv(8, k = 1) -> bn\n"
        "        d: bn\n"
        "        e: identity\n"
        "    } -> relu"
    )
    new, _, stats = check_equal(g, INFERENCE)
    assert stats["branches merged"] == 1
    assert [n.op for n in new.nodes] == ["conv", "relu"]
    merged = new.nodes[0]
    assert merged.id == "y.columns.reparam" and merged.args.k == 3 and merged.args.bias


def test_branches_of_different_strides_or_tensors_do_not_merge():
    g = graph_of(summed("conv(8, k = 3)", "conv(8, k = 3, d = 2)"))
    _, _, stats = check_equal(g, INFERENCE)
    assert stats["branches merged"] == 0
    g = graph_of("    p = conv(8)\n    q = conv(8, k = 3)\n    r = add(p, q)")  # q reads p, not x
    _, _, stats = check_equal(g, INFERENCE)
    assert stats["branches merged"] == 0


def test_strided_branches_merge_without_identity():
    g = graph_of(summed("conv(8, k = 3, s = 2) -> bn", "conv(8, k = 1, s = 2, p = 0) -> bn"))
    new, _, stats = check_equal(g, INFERENCE)
    assert stats["branches merged"] == 1  # centred alike: the 1x1 reads the centre of each 3x3 window
    g = graph_of(summed("conv(8, k = 3, s = 2) -> bn", "conv(8, k = 1, s = 2, groups = 2) -> bn"))
    new, _, stats = check_equal(g, INFERENCE)
    assert stats["branches merged"] == 0  # other groups
    g = graph_of(summed("conv(8, k = 3, s = 2) -> bn", "conv(8, k = 5, s = 2) -> bn"))
    new, _, stats = check_equal(g, INFERENCE)
    assert stats["branches merged"] == 1
    assert new.nodes[0].args.k == 5 and new.nodes[0].args.s == 2


def test_sink_upsample_below_per_pixel_ops():
    g = graph_of("    a = maxpool(2) -> conv(8) -> upsample(2) -> softmax -> sigmoid\n    y = mul(x, a) -> silu")
    new, _, stats = check_equal(g, ("sink_upsample",))
    assert stats["upsampling moved later"] >= 2
    ops = [n.op for n in new.nodes]
    assert ops.index("upsample") > ops.index("sigmoid")
    low = {n.op: n.out for n in new.nodes}
    assert low["softmax"].shape == (8, 6, 6)


def test_sink_upsample_keeps_bilinear_and_shared_upsamplings():
    g = graph_of('    a = upsample(2, mode = "bilinear") -> relu', "[8, 6, 6]")
    _, _, stats = check_equal(g, ("sink_upsample",))
    assert stats["upsampling moved later"] == 0
    g = graph_of("    a = upsample(2)\n    b = a -> relu\n    c = add(a, b)", "[8, 6, 6]")
    _, _, stats = check_equal(g, ("sink_upsample",))
    assert stats["upsampling moved later"] == 0


def test_attention_scale_folds_into_the_query_projection():
    g = graph_of("    y = unfold(2) -> mhsa(2) -> mhsa(4, bias = false) -> fold(2)")
    new, _, stats = check_equal(g, ("fold_attention_scale",))
    assert stats["attention scale folded"] == 2
    assert all(n.args.scale == 1.0 for n in new.nodes if n.op == "mhsa")


def test_weightless_mode_gives_the_same_structure():
    g = load_graph(ROOT / "specs/baselines/mobileone_s1.arch")
    with_w, _, s1 = run(g, random_weights(g), INFERENCE)
    without, w, s2 = run(g, None, INFERENCE)
    assert w is None and s1 == s2
    assert [(n.id, n.op, n.params, n.macs) for n in with_w.nodes] == [
        (n.id, n.op, n.params, n.macs) for n in without.nodes
    ]
    assert without.total_params == 4_764_840  # timm's re-parameterised MobileOne-S1


@pytest.mark.parametrize("spec", ["attendnext.arch", "baselines/mobileone_s1.arch", "baselines/mobilevit_xs.arch"])
def test_zoo_specs_keep_their_outputs(spec):
    g = load_graph(ROOT / "specs" / spec, input_shape=(3, 64, 64))
    new, _, _ = check_equal(g, ALL, atol=1e-7)
    assert len(new.nodes) < len(g.nodes)

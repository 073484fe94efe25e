"""The graphviz backend draws an op by what the registry says about it, not by its name.

Labels are the op's own (``OpSpec.title``); followers folded into the box before them, merge
circles, downsampling steps, attention-condenser roles, edges for aliases and slices all come from
traits. Each test registers a temporary op (a copy of an existing op's spec under a new name, with
other traits and label, put into the registry with monkeypatch) and looks at the figure.
"""

from __future__ import annotations

import dataclasses

from archdsl_backends.graphviz import RenderOptions, figure, render_dot

from archdsl.ops import OPS, Traits
from archdsl.ops.base import name_label
from archdsl.resolve import load_graph


def register(monkeypatch, name: str, like: str, label: str | None = None, **traits: bool) -> None:
    spec = dataclasses.replace(OPS[like], name=name, traits=Traits(**traits), label=name_label(label or name))
    monkeypatch.setitem(OPS, name, spec)


def boxes(body: str, depth: int = 2, image: str = "[3, 32, 32]"):
    graph = load_graph("t.arch", text=f"import std\n\nnet t {{\n    input image {image}\n{body}\n}}\n")
    return {b.id: b for b in figure(graph, RenderOptions(depth=depth)).boxes()}


ACT = dict(activation=True, per_channel=True, per_pixel=True, elementwise=True, saves_output=True)


def test_labels_come_from_the_registry(monkeypatch):
    register(monkeypatch, "xconv", "conv", label="fancy conv", strided=True, linear=True)
    b = boxes("    a = xconv(16, k = 3)", depth=3)
    assert b["a"].title == "fancy conv"
    # the op's own label function, with the input type (a depthwise conv says so)
    b = boxes("    a = conv(8, k = 3) -> conv(8, k = 5, s = 2, groups = 8) -> conv(16, groups = 2, d = 2)", depth=3)
    assert [b[i].title for i in ("a.conv", "a.conv_1", "a.conv_2")] == [
        "conv 3×3 · 8",
        "dw conv 5×5 · 8 · ↓2",
        "conv 1×1 · 16 · g2 · dil 2",
    ]


def test_a_registered_activation_folds_into_the_box_before_it(monkeypatch):
    register(monkeypatch, "xact", "relu", label="X-act", **ACT)
    b = boxes("    a = conv(16, k = 3) -> bn -> xact")
    assert b["a.conv"].lines == ["+ BN · X-act"]
    # an op that mixes channels gets a box of its own
    register(monkeypatch, "xact", "relu", label="X-act", per_pixel=True, saves_output=True)
    b = boxes("    a = conv(16, k = 3) -> bn -> xact")
    assert b["a.conv"].lines == ["+ BN"] and b["a.xact"].title == "X-act"


def test_a_registered_norm_and_reshape_fold(monkeypatch):
    register(monkeypatch, "xnorm", "layernorm", label="GN", norm=True, per_pixel=True)
    register(monkeypatch, "xflat", "flatten", label="flat", reshape=True, view=True, linear=True)
    b = boxes("    a = conv(16, k = 3) -> xnorm -> relu\n    b = gap -> xflat")
    assert b["a.conv"].lines == ["+ GN · ReLU"]
    assert b["b.gap"].lines == ["+ flat"]


def test_merge_symbols_from_traits(monkeypatch):
    merge = dict(merge=True, elementwise=True, per_channel=True, per_pixel=True)
    register(monkeypatch, "xsum", "add", **merge, linear=True)
    register(monkeypatch, "xprod", "mul", **merge)
    register(monkeypatch, "xcat", "concat", merge=True, per_pixel=True, linear=True)
    body = "    a = conv(8)\n    b = conv(8)\n    s = xsum(a, b)\n    p = xprod(a, b)\n    c = xcat(a, b)"
    b = boxes(body)
    assert (b["s"].role, b["s"].symbol) == ("merge", "+")
    assert (b["p"].role, b["p"].symbol) == ("merge", "×")
    assert (b["c"].role, b["c"].symbol) == ("merge", "C")
    # not a merge: an ordinary box
    register(monkeypatch, "xsum", "add", elementwise=True, linear=True)
    assert boxes(body)["s"].role == "op"


def test_a_registered_blur_pool_is_a_downsampling_step(monkeypatch):
    register(monkeypatch, "xblur", "blurpool", strided=True, per_channel=True, linear=True, antialias=True)
    b = boxes("    a = conv(16, k = 3) -> xblur(3, 1)", depth=3)
    assert b["a.xblur"].role == "downsample"  # a blur is drawn as one even at stride 1
    register(monkeypatch, "xblur", "blurpool", strided=True, per_channel=True, linear=True)
    b = boxes("    a = conv(16, k = 3) -> xblur(3, 1)", depth=3)
    assert b["a.xblur"].role == "op"
    assert boxes("    a = conv(16, k = 3) -> xblur(3, 2)", depth=3)["a.xblur"].role == "downsample"


def test_a_registered_alias_is_an_edge_only_without_arguments(monkeypatch):
    alias = dict(alias=True, view=True, per_channel=True, per_pixel=True, linear=True)
    register(monkeypatch, "xskip", "identity", **alias)
    b = boxes("    a = conv(16, k = 3) -> relu\n    b = xskip -> conv(16)")
    assert "b.xskip" not in b and "b.conv" in b
    # an alias with an argument (a drop rate) is shown, folded into the box before it
    register(monkeypatch, "xdrop", "dropout", label="drop", **alias)
    b = boxes("    a = conv(16, k = 3) -> xdrop(0.1)")
    assert b["a.conv"].lines == ["+ drop"]


def test_attention_condenser_roles_from_traits(monkeypatch):
    # a block of one's own that pools, embeds and upsamples back is drawn as an attention condenser
    register(monkeypatch, "xpool", "maxpool", strided=True, per_channel=True)
    register(monkeypatch, "xup", "upsample", per_channel=True, linear=True)
    text = (
        "block cond(r = 2) {\n    a = xpool(r) -> conv(in.c, k = 3) -> xup(r) -> sigmoid\n    mul(in, a)\n}\n\n"
        "net t {\n    input image [3, 32, 32]\n    s = conv(16, k = 3) -> cond\n}\n"
    )
    graph = load_graph("t.arch", text=text)
    clusters = {c.id: c for c in figure(graph).clusters()}
    assert clusters["s.cond"].role == "attention"
    assert [b.role for b in clusters["s.cond"].items][:3] == ["condense", "embed", "expand"]


def test_every_op_of_the_registry_is_drawn_with_its_label():
    for name, spec in sorted(OPS.items()):
        dims = ", ".join(str(d) for d in spec.example_input)
        graph = load_graph("t.arch", text=f"net t {{\n    input x [{dims}]\n    y = {spec.example or name}\n}}\n")
        dot = render_dot(graph, RenderOptions(depth=3))
        for node in graph.nodes:
            ins = [graph.type_of(i) for i in node.inputs]
            title = OPS[node.op].title(node.args, ins)
            if OPS[node.op].traits.merge:
                continue  # drawn as a circle; its label is the symbol
            assert title.replace("&", "&amp;") in dot, (name, title)

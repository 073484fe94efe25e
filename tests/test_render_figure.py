"""What the graphviz backend chooses to draw, on small specs written for the purpose.

These test the figure model (boxes, clusters, edges) without running Graphviz: roll-up of
identical repeats, folding of norm/activation into the op before, merges, attention-condenser
roles, residuals, ids derived from paths.
"""

from __future__ import annotations

import pytest
from archdsl_backends.graphviz import RenderOptions, figure, render_dot

import archdsl

SPEC = """
import std

block twin(c) {
    columns(join = "add") {
        a: conv(c, k = 3) -> bn
        b: columns(2, join = "concat") { conv(c // 2) -> relu }
    } -> relu
}

net probe(classes = 10) {
    input image [3, 64, 64]
    stem = conv(16, k = 3, s = 2) -> bn -> relu -> (conv(16) -> bn -> relu) * 3
    s1 = conv_bn_act(24) * 4 first(s = 2) -> aads
    s2 = residual { conv(24, k = 3) -> bn -> relu } shortcut { identity }
         -> columns(2, split = true, join = "add") { conv(24) -> bn }
    s3 = attention_condenser(mid = 8) -> dcac(mid = 8) * 2 -> twin(24) * 2 -> mobilevit(32, 24, depth = 2)
    head = gap -> flatten -> linear(classes)
}
"""


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    path = tmp_path_factory.mktemp("render") / "probe.arch"
    path.write_text(SPEC)
    return archdsl.load(path)


def boxes(fig):
    return {b.id: b for b in fig.boxes()}


def test_every_node_is_drawn_once(graph):
    for depth in (1, 2, 3):
        for expand in (False, True):
            fig = figure(graph, RenderOptions(depth=depth, expand=expand))
            members = [m for b in fig.boxes() for m in b.members]
            assert len(members) == len(set(members)), "a node in two boxes"
            ids = [b.id for b in fig.boxes()]
            assert len(ids) == len(set(ids)), "box ids are unique"
            drawn = set(ids)
            assert set(fig.unit) == {n.id for n in graph.nodes}, "every node is shown by some box"
            assert set(fig.unit.values()) <= drawn
            assert all(fig.unit[m] == b.id for b in fig.boxes() for m in b.members)
            assert all(e.tail in drawn and e.head in drawn for e in fig.edges)


def test_repeats_roll_up_with_first_iteration_apart(graph):
    b = boxes(figure(graph))
    # (conv -> bn -> relu) * 3: one box, the op with its followers, ×3
    assert b["stem.group.0..2"].title == "conv 1×1 · 16 · ×3"
    assert b["stem.group.0..2"].lines == ["+ BN · ReLU"]
    # conv_bn_act * 4 first(s = 2): the strided first block, then ×3
    assert b["s1.conv_bn_act.0"].lines == ["24 ch · 3×3 · ↓2"] and b["s1.conv_bn_act.0"].emphasis
    assert b["s1.conv_bn_act.1..3"].title == "conv_bn_act ×3"
    expanded = boxes(figure(graph, RenderOptions(expand=True)))
    assert {f"s1.conv_bn_act.{i}" for i in range(4)} <= set(expanded)


def test_ops_level_rolls_up_to_one_iteration(graph):
    fig = figure(graph, RenderOptions(depth=3))
    clusters = {c.id: c for c in fig.clusters()}
    assert clusters["s1.conv_bn_act.1..3"].title == "conv_bn_act ×3"
    ids = set(boxes(fig))
    assert "s1.conv_bn_act.1.conv" in ids and "s1.conv_bn_act.2.conv" not in ids
    # no edge runs back from an iteration to the one it stands for
    assert not [e for e in fig.edges if e.tail == e.head]
    heads = {(e.tail, e.head) for e in fig.edges}
    assert ("s1.conv_bn_act.1.act", "s1.conv_bn_act.1.conv") not in heads


def test_followers_fold_and_merges_are_circles(graph):
    b = boxes(figure(graph))
    assert b["stem.conv"].title == "conv 3×3 · 16 · ↓2" and b["stem.conv"].lines == ["+ BN · ReLU"]
    assert b["stem.conv"].role == "downsample"
    assert b["s1.aads"].role == "downsample" and b["s1.aads"].title == "AADS"
    assert b["s2.residual.add"].role == "merge" and b["s2.residual.add"].symbol == "+"
    # the split columns: channel slices fold into the edges, the join is a merge
    assert not any(i.endswith(".split") for i in b)
    assert b["s2.columns.add"].symbol == "+"
    fig = figure(graph)
    assert ("s2.residual.add", "s2.columns.col0.conv") in {(e.tail, e.head) for e in fig.edges}
    # identity shortcut: folded into an edge from the residual's input to the add
    assert ("s1.aads", "s2.residual.add") in {(e.tail, e.head) for e in fig.edges}
    ops = boxes(figure(graph, RenderOptions(depth=3)))
    assert "s2.residual.shortcut" in ops or any(i.startswith("s2.residual.shortcut") for i in ops)
    assert "s2.columns.col0.split" in ops


def test_attention_condenser_roles(graph):
    fig = figure(graph)
    clusters = {c.id: c for c in fig.clusters()}
    ac = clusters["s3.attention_condenser"]
    assert ac.role == "attention" and ac.title == "attention condenser"
    roles = [b.role for b in ac.items]
    assert roles[:3] == ["condense", "embed", "expand"]
    embed = ac.items[1]
    assert embed.lines == ["conv 3×3 · 8 · g4", "conv 1×1 · 24"]  # both embedding convs in one box
    ops = figure(graph, RenderOptions(depth=3))
    roles = {b.id: b.role for b in ops.boxes()}
    assert roles["s3.attention_condenser.a.conv"] == roles["s3.attention_condenser.a.conv_1"] == "embed"


def test_blocks_collapse_and_expand_by_depth(graph):
    blocks = figure(graph)
    b = boxes(blocks)
    assert b["s3.twin.0..1"].title == "twin ×2"
    assert b["s3.mobilevit"].lines == ["32 ch · 3×3 · heads 4 · d 24 · depth 2"]
    ops = figure(graph, RenderOptions(depth=3, expand=True))
    clusters = {c.id for c in ops.clusters()}
    assert {"s3.twin.0", "s3.twin.0.columns.b", "s3.twin.0.columns.b.col1", "s3.mobilevit"} <= clusters


def test_ids_do_not_depend_on_theme_or_shapes(graph):
    plain = render_dot(graph)
    for opts in (RenderOptions(theme="dark"), RenderOptions(theme="mono", shapes=True)):
        other = render_dot(graph, opts)
        ids = sorted(set(_node_ids(plain)))
        assert ids == sorted(set(_node_ids(other)))


def _node_ids(dot: str) -> list[str]:
    out = []
    for line in dot.splitlines():
        s = line.strip()
        if s.startswith('"') and " [" in s and "->" not in s:
            out.append(s.split(" [", 1)[0])
    return out


def test_rolled_up_dcac_keeps_its_layers(graph):
    fig = figure(graph)
    clusters = {c.id: c for c in fig.clusters()}
    run = clusters["s3.dcac.0..1"]
    assert run.role == "attention" and run.title == "DC-AC ×2"
    assert [b.role for b in run.items][:3] == ["condense", "embed", "expand"]
    assert fig.unit["s3.dcac.1.attn.maxpool"] == "s3.dcac.0.attn.maxpool"
    assert not [e for e in fig.edges if e.tail == e.head]
    assert ("s3.dcac.0.silu", "s3.dcac.0.attn.maxpool") not in {(e.tail, e.head) for e in fig.edges}

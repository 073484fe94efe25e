"""Every op in the registry is complete: traits, weights that add up to its parameter count, a label,
a cost, and its example resolves. Parametrized over the registry, so a new op is tested the moment
it is registered."""

from __future__ import annotations

import math

import pytest

from archdsl.ops import COST_KINDS, OPS, Traits
from archdsl.resolve import load_graph

NAMES = sorted(OPS)


def example_graph(name: str):
    spec = OPS[name]
    dims = ", ".join(str(d) for d in spec.example_input)
    text = f"net t {{\n    input x [{dims}]\n    y = {spec.example or name}\n}}\n"
    return load_graph("example.arch", text=text)


def nodes_of(name: str):
    graph = example_graph(name)
    nodes = [n for n in graph.nodes if n.op == name]
    assert nodes, f"the example of '{name}' does not use it"
    return graph, nodes


@pytest.mark.parametrize("name", NAMES)
def test_op_is_documented(name):
    spec = OPS[name]
    assert isinstance(spec.traits, Traits)
    assert spec.doc.strip(), f"{name}: no doc line"
    assert spec.semantics.strip(), f"{name}: no semantics for docs/ir.md"
    assert spec.category in {"conv", "norm", "act", "pool", "merge", "tokens", "misc"}


@pytest.mark.parametrize("name", NAMES)
def test_weights_add_up_to_the_parameter_count(name):
    graph, nodes = nodes_of(name)
    for node in nodes:
        ins = [graph.type_of(i) for i in node.inputs]
        weights = OPS[name].weights(node.args, ins, node.out)
        learned = sum(math.prod(w.shape) for w in weights if not w.buffer)
        assert learned == node.params
        names = [w.name for w in weights]
        assert len(names) == len(set(names)), f"{name}: duplicate weight names {names}"
        for w in weights:
            assert all(d >= 0 for d in w.shape)
            assert w.init in ("conv", "linear", "zeros", "ones", "const")
            if w.init == "conv":
                assert w.fan_out > 0


@pytest.mark.parametrize("name", NAMES)
def test_label_and_cost(name):
    graph, nodes = nodes_of(name)
    spec = OPS[name]
    assert spec.label is not None and spec.cost is not None, f"{name}: needs a label and a cost"
    for node in nodes:
        ins = [graph.type_of(i) for i in node.inputs]
        title = spec.title(node.args, ins)
        assert isinstance(title, str) and title.strip()
        cost = spec.cost(node.args, ins, node.out, node.macs)
        assert cost.kind in COST_KINDS, f"{name}: unknown cost kind {cost.kind!r}"
        assert cost.flops >= 0
        assert cost.act_bytes is None or cost.act_bytes >= 0
        if node.macs:
            assert cost.flops >= 2 * node.macs or cost.kind in ("norm", "elementwise"), (
                f"{name}: {cost.flops} FLOPs for {node.macs} MACs"
            )
        if cost.kind == "free":
            assert spec.traits.alias or spec.traits.reshape


@pytest.mark.parametrize("name", NAMES)
def test_traits_are_consistent(name):
    t = OPS[name].traits
    if t.gate:
        assert t.activation
    if t.alias:
        assert t.view and t.per_channel and t.per_pixel
    if t.strided:
        assert "s" in OPS[name].args.model_fields
    if t.merge:
        assert OPS[name].variadic


def test_stride_of_strided_ops():
    graph = example_graph("conv")
    (conv,) = [n for n in graph.nodes if n.op == "conv"]
    assert OPS["conv"].stride(conv.args) == 2
    graph = example_graph("avgpool")
    (pool,) = [n for n in graph.nodes if n.op == "avgpool"]
    assert OPS["avgpool"].stride(pool.args) == 2  # s defaults to the window
    assert OPS["relu"].stride(OPS["relu"].args()) == 1

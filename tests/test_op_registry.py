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
    convs = [n for n in graph.nodes if n.op == "conv"]
    assert [OPS["conv"].stride(c.args) for c in convs] == [2, 2, 2]  # 2, (2, 1), 2
    graph = example_graph("avgpool")
    (pool,) = [n for n in graph.nodes if n.op == "avgpool"]
    assert OPS["avgpool"].stride(pool.args) == 2  # s defaults to the window
    assert OPS["relu"].stride(OPS["relu"].args()) == 1


# ---- lowerings: every op has one in each backend, or each backend refuses it with a located B001 ----------


def _opset_for(graph) -> int:
    """The lowest ONNX opset (from 17) at which the ONNX backend can express ``graph``."""
    from archdsl_backends.onnx import check_support
    from archdsl_backends.onnx.options import max_opset

    return next((v for v in range(17, max_opset() + 1) if not check_support(graph, v)), max_opset())


def _refusals(diags) -> dict:
    return {d.span: d for d in diags if d.code == "B001"}


@pytest.mark.parametrize("name", NAMES)
def test_torch_lowering_or_located_refusal(name):
    pytest.importorskip("torch")
    from archdsl_backends.torch import BACKEND
    from archdsl_backends.torch.lower import VISITORS

    graph, nodes = nodes_of(name)
    refused = _refusals(BACKEND.unsupported(graph))
    for node in nodes:
        if name in VISITORS:
            assert node.span not in refused
        else:
            assert f"op '{name}'" in refused[node.span].message, f"{name}: no torch lowering and no B001"


@pytest.mark.parametrize("name", NAMES)
def test_onnx_lowering_or_located_refusal(name):
    pytest.importorskip("onnx")
    from archdsl_backends.onnx import BACKEND
    from archdsl_backends.onnx.emitters import EMITTERS

    graph, nodes = nodes_of(name)
    refused = _refusals(BACKEND.unsupported(graph))
    for node in nodes:
        if name in EMITTERS:
            assert node.span not in refused
        else:
            assert f"op '{name}'" in refused[node.span].message, f"{name}: no ONNX lowering and no B001"


@pytest.mark.parametrize("name", NAMES)
def test_both_lowerings_compute_the_same(name):
    """The op's example through both backends, from the same seed (so the same initial weights):
    the same outputs."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    import numpy as np
    import onnxruntime as ort
    from archdsl_backends.onnx import build_model, serialize
    from archdsl_backends.onnx.emitters import EMITTERS
    from archdsl_backends.torch import build_module
    from archdsl_backends.torch.lower import VISITORS

    if name not in VISITORS or name not in EMITTERS:
        pytest.skip(f"{name}: refused by a backend (tested above)")
    graph, _ = nodes_of(name)
    module = build_module(graph, seed=4).eval()
    model = build_model(graph, {"seed": 4, "opset": _opset_for(graph)})
    x = np.random.default_rng(0).standard_normal((2, *graph.inputs[0].type.shape)).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    sess = ort.InferenceSession(serialize(model), providers=["CPUExecutionProvider"])
    got = sess.run(None, {graph.inputs[0].name: x})[0]
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_weights_are_the_torch_modules_tensors(name):
    """Each op's weights are, by name and shape, the tensors of its torch lowering (its parameters
    the learned ones, its buffers the rest): the counts are PyTorch's own."""
    pytest.importorskip("torch")
    from archdsl_backends.torch import build_module
    from archdsl_backends.torch.lower import VISITORS

    from archdsl.weights import tensor_specs

    if name not in VISITORS:
        pytest.skip(f"{name}: refused by the torch backend (tested above)")
    graph, _ = nodes_of(name)
    module = build_module(graph, channels_last=False)
    specs = list(tensor_specs(graph))
    state = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    assert {t.name: tuple(t.shape) for t in specs} == state
    learned = {t.name for t in specs if not t.spec.buffer}
    assert learned == {k for k, _ in module.named_parameters()}
    assert sum(p.numel() for p in module.parameters()) == graph.total_params


FANCY = "net t {\n    input x [8, 6, 6]\n    y = conv(8) -> fancy_act -> relu\n}\n"


@pytest.fixture
def fancy_op(monkeypatch, tmp_path):
    """A registered op no backend knows (a copy of relu under a new name), and a spec using it."""
    import dataclasses

    monkeypatch.setitem(OPS, "fancy_act", dataclasses.replace(OPS["relu"], name="fancy_act"))
    spec = tmp_path / "t.arch"
    spec.write_text(FANCY)
    graph = load_graph(spec)
    (node,) = [n for n in graph.nodes if n.op == "fancy_act"]
    assert (node.span.line, node.span.col) == (3, 20)
    return spec, graph, node


def _one_refusal(diags, node, backend: str):
    (d,) = [d for d in diags if d.code == "B001"]
    assert d.span == node.span and f"op 'fancy_act' (node {node.id})" in d.message and backend in d.message
    assert d.help


def test_an_op_without_lowerings_is_refused_by_both_backends(fancy_op):
    _, graph, node = fancy_op
    torch_ok = onnx_ok = False
    try:
        from archdsl_backends.torch import BACKEND as TORCH
        from archdsl_backends.torch import build_module

        torch_ok = True
    except ImportError:
        pass
    try:
        from archdsl_backends.onnx import BACKEND as ONNX
        from archdsl_backends.onnx import build_model

        onnx_ok = True
    except ImportError:
        pass
    if not (torch_ok or onnx_ok):
        pytest.skip("neither backend is installed")
    from archdsl.diagnostics import DiagnosticError

    if torch_ok:
        _one_refusal(TORCH.unsupported(graph), node, "torch")
        with pytest.raises(DiagnosticError) as exc:
            build_module(graph)
        _one_refusal(exc.value.diagnostics, node, "torch")
    if onnx_ok:
        _one_refusal(ONNX.unsupported(graph), node, "onnx")
        with pytest.raises(DiagnosticError) as exc:
            build_model(graph)
        _one_refusal(exc.value.diagnostics, node, "onnx")


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_an_op_without_lowerings_is_a_located_error_on_the_command_line(fancy_op, backend, tmp_path):
    pytest.importorskip(backend)
    from typer.testing import CliRunner

    from archdsl.cli import app

    spec, _, _ = fancy_op
    r = CliRunner().invoke(app, ["compile", str(spec), "-b", backend, "-o", str(tmp_path / "out")])
    assert r.exit_code == 1, r.output
    assert f"{spec}:3:20: error[B001]" in r.stderr and "fancy_act" in r.stderr
    assert "Traceback" not in r.output and not (tmp_path / "out").exists()

"""The torch backend on every spec of the zoo (``specs/``, parametrized by conftest's ``spec_path``).

For each spec: the module's parameter count equals the language core's count exactly, the output
of a batch of 2 has the right shape, two builds with one seed give identical ``state_dict``s, a
training step runs and changes the weights, the deploy form agrees with the module in eval mode
within 1e-5 (relative), and the standalone Python file gives bit-identical outputs.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

import archdsl  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def cache():
    return {}


def _graph(cache, spec_path):
    if spec_path not in cache:
        cache[spec_path] = archdsl.load(spec_path)
    return cache[spec_path]


def _build(graph, seed=0):
    from archdsl_backends.torch import build_module

    return build_module(graph, seed=seed)


def _input(graph, batch=2, seed=0):
    return torch.randn(batch, *graph.inputs[0].type.shape, generator=torch.Generator().manual_seed(seed))


def _perturb_norms(model, seed=1):
    """Non-trivial batch-norm statistics and affine terms (fresh ones make folding trivial)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.2)
    return model


def test_parameter_count_and_output_shape(spec_path, cache):
    graph = _graph(cache, spec_path)
    model = archdsl.build(spec_path).eval()
    assert sum(p.numel() for p in model.parameters()) == graph.total_params
    with torch.no_grad():
        out = model(_input(graph))
    assert tuple(out.shape) == (2, *graph.output_type.shape)
    assert torch.isfinite(out).all()


def test_same_seed_same_weights(spec_path, cache):
    a = archdsl.build(spec_path, seed=7).state_dict()
    b = archdsl.build(spec_path, seed=7).state_dict()
    c = archdsl.build(spec_path, seed=8).state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a if k.endswith("weight"))


def test_training_step_changes_weights(spec_path, cache):
    graph = _graph(cache, spec_path)
    torch.manual_seed(0)
    model = _build(graph).train()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    out = model(_input(graph))
    target = torch.randint(0, out.shape[-1], (out.shape[0],))
    loss = torch.nn.functional.cross_entropy(out.flatten(1), target)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    changed = [k for k, v in model.named_parameters() if not torch.equal(before[k], v.detach())]
    assert len(changed) > len(before) // 2, f"only {len(changed)} of {len(before)} tensors changed"


def test_deploy_parity(spec_path, cache):
    from archdsl_backends.torch import reparameterize

    graph = _graph(cache, spec_path)
    graph.node_map()  # a cached map on the train-form graph must not leak into the deploy graph
    model = _perturb_norms(_build(graph)).eval()
    deployed = reparameterize(model)
    x = _input(graph)
    with torch.no_grad():
        want = model(x)
        got = deployed(x)
    rel = ((got - want).abs().max() / want.abs().max()).item()
    assert rel <= 1e-5, rel
    dgraph = deployed.meta["archdsl_graph"]
    assert sum(p.numel() for p in deployed.parameters()) == dgraph.total_params
    nodes, uses = dgraph.node_map(), dgraph.consumers()
    assert set(nodes) == {n.id for n in dgraph.nodes}
    unfolded = [
        n.id
        for n in dgraph.nodes
        if n.op == "bn" and n.inputs[0] in nodes and nodes[n.inputs[0]].op == "conv" and len(uses[n.inputs[0]]) == 1
    ]
    assert not unfolded


def test_standalone_file_is_bit_identical(spec_path, cache, tmp_path):
    from archdsl_backends.torch import codegen

    graph = _graph(cache, spec_path)
    model = _perturb_norms(_build(graph, seed=3))
    path = tmp_path / f"{graph.name}_standalone.py"
    path.write_text(codegen.generate(model.meta["archdsl_graph"]))
    assert "archdsl" not in "".join(
        line for line in path.read_text().splitlines() if line.startswith(("import", "from"))
    )
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
        cls = getattr(module, type(model).__name__)
        standalone = cls(seed=3)
        # same initialisation without the state_dict (before the norms were perturbed)
        fresh = _build(graph, seed=3).state_dict()
        assert all(torch.equal(fresh[k], v) for k, v in standalone.state_dict().items())
        standalone.load_state_dict(model.state_dict())
    finally:
        sys.modules.pop(path.stem, None)
    x = _input(graph)
    with torch.no_grad():
        assert torch.equal(standalone.eval()(x), model.eval()(x))
    if importlib.util.find_spec("ruff") is not None:
        for args in (["check"], ["format", "--check"]):
            cmd = [sys.executable, "-m", "ruff", *args, "--config", str(ROOT / "pyproject.toml"), str(path)]
            result = subprocess.run(cmd, capture_output=True, text=True)
            assert result.returncode == 0, result.stdout

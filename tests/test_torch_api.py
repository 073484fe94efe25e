"""The torch backend's Python API and its PyTorch integrations.

``archdsl.build`` with validated overrides, the entry-point hook, weight names, initialisation,
and the module under ``eval``/``no_grad``, ``torch.fx.symbolic_trace``, ``torch.export``,
``torch.compile`` and ``channels_last``; unsupported input gives located B001/B101 diagnostics.
"""

from __future__ import annotations

import math
import os
import textwrap

import pytest

torch = pytest.importorskip("torch")

import archdsl  # noqa: E402
from archdsl.diagnostics import DiagnosticError  # noqa: E402
from tests.conftest import ROOT, run_cli  # noqa: E402

ATTENDNEXT = ROOT / "specs" / "attendnext.arch"

SMALL = """\
import std
net small(width = 1.0, classes = 10) {
    input image [3, 32, 32]
    stem = conv(make_divisible(16 * width), k = 3, s = 2) -> bn -> relu
    body = inverted_residual(32, e = 3, s = 2, se_ratio = 0.25) -> mobileone(32, branches = 2)
           -> attention_condenser -> mobilevit(32, d = 32, depth = 1, heads = 2)
    head = gap -> flatten -> linear(classes)
}
"""


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def small_spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "small.arch"
    path.write_text(SMALL)
    return path


@pytest.fixture(scope="module")
def small(small_spec):
    return archdsl.build(small_spec, seed=0)


def test_backend_is_found_through_the_entry_point():
    from archdsl_backends.torch import BACKEND

    from archdsl import backend as hook

    assert "torch" in hook.available()
    loaded = hook.load("torch")
    assert loaded is BACKEND
    assert isinstance(loaded, hook.Backend)
    assert loaded.name == "torch"


def test_build_with_overrides_matches_the_core_count():
    model = archdsl.build(ATTENDNEXT, width=0.75)
    graph = archdsl.load(ATTENDNEXT, width=0.75)
    assert sum(p.numel() for p in model.parameters()) == graph.total_params
    assert graph.total_params < archdsl.load(ATTENDNEXT).total_params


@pytest.mark.parametrize("overrides", [{"widht": 0.75}, {"width": "wide"}])
def test_bad_overrides_are_diagnostics(overrides):
    with pytest.raises(DiagnosticError) as info:
        archdsl.build(ATTENDNEXT, **overrides)
    assert info.value.diagnostics[0].code.startswith("E")


def test_state_dict_keys_follow_the_spec_paths():
    model = archdsl.build(ATTENDNEXT)
    graph = archdsl.load(ATTENDNEXT)
    keys = set(model.state_dict())
    assert "stage2.dcac.attn.conv.weight" in keys
    assert "stage2.columns.col1.conv_bn_act.0.conv.weight" in keys
    assert "stage3.bottleneck.9.columns.body.bn_2.running_var" in keys
    ids = {n.id for n in graph.nodes}
    for key in keys:
        assert key.rsplit(".", 1)[0] in ids, key
    assert isinstance(model.get_submodule("stage2.columns.col1.conv_bn_act.0.conv"), torch.nn.Conv2d)


def test_forward_is_straight_line_code(small):
    code = small.code
    assert "for " not in code and "while " not in code
    assert "self.stem.conv(" in code
    assert len(list(small.graph.nodes)) > 20


def test_initialisation_is_like_timm():
    model = archdsl.build(ATTENDNEXT, seed=0)
    conv = model.get_submodule("stage4.bottleneck.0.columns.body.conv_2")  # 1x1, 320 -> 640
    fan_out = conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels // conv.groups
    assert conv.weight.mean().abs() < 0.01
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_out), rel=0.02)
    grouped = model.get_submodule("stage3.bottleneck.0.columns.body.conv_1")  # 3x3, groups 4
    fan_out = 9 * grouped.out_channels // grouped.groups
    assert grouped.weight.std().item() == pytest.approx(math.sqrt(2 / fan_out), rel=0.05)
    bn = model.get_submodule("stage1.bn")
    assert torch.equal(bn.weight, torch.ones_like(bn.weight)) and torch.equal(bn.bias, torch.zeros_like(bn.bias))
    fc = model.get_submodule("head.linear")
    assert fc.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert torch.equal(fc.bias, torch.zeros_like(fc.bias))


def test_scale_starts_at_its_init(tmp_path):
    path = tmp_path / "s.arch"
    path.write_text("net s {\n input image [4, 8, 8]\n body = scale(init = 0.25) -> gap\n}\n")
    model = archdsl.build(path, seed=5)
    assert torch.equal(model.get_submodule("body.scale").weight, torch.full((4,), 0.25))


def test_eval_no_grad_and_channels_last(small, small_spec):
    graph = archdsl.load(small_spec)
    model = small.eval()
    x = torch.randn(2, *graph.inputs[0].type.shape)
    with torch.no_grad():
        ref = model(x)
        again = model(x)
        cl = model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    assert torch.equal(ref, again)
    assert torch.allclose(ref, cl, rtol=1e-5, atol=1e-6)
    from archdsl_backends.torch import build_module

    nchw = build_module(graph, channels_last=False).eval()
    nchw.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.allclose(nchw(x), ref, rtol=1e-5, atol=1e-6)


def test_inplace_batch_norm_at_inference_matches_the_ordinary_path():
    """Large conv outputs are normalised in place under no_grad; autograd-on eval takes nn.BatchNorm2d's path."""
    from archdsl_backends.torch.layers import InplaceBatchNorm2d

    model = archdsl.build(ATTENDNEXT, seed=1).eval()
    bn = model.get_submodule("stem.bn")
    assert isinstance(bn, InplaceBatchNorm2d)
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        fast = model(x)
    slow = model(x).detach()
    assert ((fast - slow).abs().max() / slow.abs().max()).item() < 1e-5


def test_fx_symbolic_trace(small, small_spec):
    graph = archdsl.load(small_spec)
    model = small.eval()
    traced = torch.fx.symbolic_trace(model)
    x = torch.randn(2, *graph.inputs[0].type.shape)
    with torch.no_grad():
        assert torch.equal(traced(x), model(x))


def test_torch_export_with_dynamic_batch(small, small_spec):
    graph = archdsl.load(small_spec)
    model = small.eval()
    x = torch.randn(2, *graph.inputs[0].type.shape)
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(model, (x,), dynamic_shapes=({0: batch},))
    x3 = torch.randn(3, *graph.inputs[0].type.shape)
    with torch.no_grad():
        assert torch.allclose(program.module()(x3), model(x3), rtol=1e-5, atol=1e-6)


def test_torch_compile(small, small_spec):
    graph = archdsl.load(small_spec)
    model = small.eval()
    compiled = torch.compile(model, backend="aot_eager")
    x = torch.randn(2, *graph.inputs[0].type.shape)
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("ARCHDSL_TEST_INDUCTOR"), reason="inductor takes ~30 s; set ARCHDSL_TEST_INDUCTOR=1"
)
def test_torch_compile_inductor(small, small_spec):
    graph = archdsl.load(small_spec)
    model = small.eval()
    compiled = torch.compile(model)
    x = torch.randn(2, *graph.inputs[0].type.shape)
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), rtol=1e-4, atol=1e-5)


def test_unsupported_op_is_a_located_diagnostic(small_spec, monkeypatch):
    from archdsl_backends.torch import BACKEND, lower

    graph = archdsl.load(small_spec)
    monkeypatch.delitem(lower.VISITORS, "mhsa")
    diags = BACKEND.unsupported(graph)
    assert diags and all(d.code == "B001" for d in diags)
    assert "torch backend" in diags[0].message and "mhsa" in diags[0].message
    assert diags[0].span is not None and diags[0].span.line > 0
    with pytest.raises(DiagnosticError):
        BACKEND.build_module(graph)


def test_unusable_submodule_name_is_a_located_diagnostic(tmp_path):
    spec = tmp_path / "named.arch"
    spec.write_text(
        textwrap.dedent(
            """\
            net named {
                input image [3, 8, 8]
                forward = conv(4) -> relu
            }
            """
        )
    )
    result = run_cli("compile", str(spec), "-o", str(tmp_path / "out"))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{spec}:3:" in result.stderr or "named.arch:3:" in result.stderr
    assert "error[B101]" in result.stderr and "torch backend" in result.stderr

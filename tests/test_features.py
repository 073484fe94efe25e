"""Multi-scale features: the default pyramid of every zoo spec, feature modules whose outputs are
the full module's intermediate tensors, timm-like ``feature_info``, ``torch.export``, the ONNX
backend's one output per feature, and ``archdsl show --features``."""

from __future__ import annotations

import json
import textwrap

import pytest

import archdsl
from archdsl.analysis.features import FeatureError, pyramid, select
from tests.conftest import ROOT, run_cli

BASELINES = ROOT / "specs" / "baselines"

# name, channels, reduction per level: what timm's features_only models have (tests/test_timm_features.py
# compares with timm itself)
PYRAMIDS = {
    "resnet18": [("stem.relu", 64, 2), ("stage1", 64, 4), ("stage2", 128, 8), ("stage3", 256, 16), ("stage4", 512, 32)],
    "mobilenetv3_large_100": [
        ("stage0", 16, 2),
        ("stage1", 24, 4),
        ("stage2", 40, 8),
        ("stage4", 112, 16),
        ("stage6", 960, 32),
    ],
    "fbnetc_100": [("stage0", 16, 2), ("stage1", 24, 4), ("stage2", 32, 8), ("stage4", 112, 16), ("stage6", 352, 32)],
    "mobileone_s1": [("stem", 64, 2), ("stage1", 96, 4), ("stage2", 192, 8), ("stage3", 512, 16), ("stage4", 1280, 32)],
    "mobilevit_xs": [("stage0", 32, 2), ("stage1", 48, 4), ("stage2", 64, 8), ("stage3", 80, 16), ("stage4", 96, 32)],
    "ofa_62": [("first", 16, 2), ("stage1", 24, 4), ("stage2", 40, 8), ("stage4", 112, 16), ("stage5", 160, 32)],
}

# a stage that ends in a conv whose only reader is an activation: in the full module the ReLU
# overwrites the conv's output in place; a feature module must not
INPLACE = """\
import std
net tiny(classes = 4) {
    input image [3, 32, 32]
    stem = conv(8, k = 3, s = 2)
    stage1 = relu -> conv(16, k = 3, s = 2)
    stage2 = relu -> conv(16, k = 3, s = 2) -> bn -> relu
    head = gap -> flatten -> linear(classes)
}
"""


@pytest.mark.parametrize("name", sorted(PYRAMIDS))
def test_default_pyramid_of_the_zoo(name):
    graph = archdsl.load(BASELINES / f"{name}.arch")
    assert [(f.name, f.channels, f.reduction) for f in pyramid(graph)] == PYRAMIDS[name]


def test_pyramid_skips_squeeze_excite_pooling_and_block_interiors():
    """mobilenetv3 pools inside its SE blocks (not the head) and expands before striding (no feature)."""
    graph = archdsl.load(BASELINES / "mobilenetv3_large_100.arch")
    names = [f.name for f in pyramid(graph)]
    assert len(names) == 5 and all(".body." not in n for n in names)


def test_select_by_name_index_and_errors():
    graph = archdsl.load(BASELINES / "resnet18.arch")
    info = select(graph, ["stage2", "stage4"])
    assert info.channels() == [128, 512] and info.reduction() == [8, 32]
    assert info.module_name() == ["stage2", "stage4"]
    assert info.get_dicts(keys=("num_chs", "reduction")) == [
        {"num_chs": 128, "reduction": 8},
        {"num_chs": 512, "reduction": 32},
    ]
    assert select(graph, "stage2,stage4").module_name() == ["stage2", "stage4"]
    by_index = select(graph, out_indices=(1, -1))
    assert by_index.module_name() == ["stage1", "stage4"] and by_index.out_indices == (1, 4)
    with pytest.raises(FeatureError, match="no stage or node 'stage5'") as exc:
        select(graph, ["stage5"])
    assert "stage4" in (exc.value.help or "")
    with pytest.raises(FeatureError, match="out of range"):
        select(graph, out_indices=(5,))
    with pytest.raises(FeatureError, match="not a feature map"):
        select(graph, ["head"])
    with pytest.raises(FeatureError, match="twice"):
        select(graph, ["stage2", "stage2"])
    with pytest.raises(FeatureError, match="not both"):
        select(graph, ["stage2"], out_indices=(1,))


# ---- torch -------------------------------------------------------------------------------------


def _intermediates(module, x):
    """Every fx node's value in a run of the full module (cloned: later in-place ops cannot touch them)."""
    torch = pytest.importorskip("torch")
    from torch.fx.interpreter import Interpreter

    values = {}

    class Record(Interpreter):
        def run_node(self, n):
            out = super().run_node(n)
            if isinstance(out, torch.Tensor):
                values[n.name] = out.clone()
            return out

    with torch.no_grad():
        Record(module).run(x)
    return values


@pytest.mark.parametrize("name", ["resnet18", "mobilenetv3_large_100", "mobilevit_xs"])
def test_features_equal_the_full_modules_intermediates(name, torch_one_thread):
    torch = pytest.importorskip("torch")
    from archdsl_backends.torch.build import var_name

    path = BASELINES / f"{name}.arch"
    full = archdsl.build(path, seed=3).eval()
    feats = archdsl.build(path, seed=3, features_only=True).eval()
    size = 256 if name == "mobilevit_xs" else 224
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    want = _intermediates(full, x)
    with torch.no_grad():
        got = feats(x)
    assert isinstance(got, list) and len(got) == len(feats.feature_info) == len(PYRAMIDS[name])
    for f, t in zip(feats.feature_info.features, got, strict=True):
        assert tuple(t.shape) == (2, *f.shape)
        assert torch.equal(t, want[var_name(f.node)]), f.name
    # the head is gone: fewer parameters, and the full state_dict loads with strict=False
    assert sum(p.numel() for p in feats.parameters()) < sum(p.numel() for p in full.parameters())
    result = feats.load_state_dict(full.state_dict(), strict=False)
    assert not result.missing_keys and all(k.startswith("head.") for k in result.unexpected_keys)


def test_a_feature_read_by_an_in_place_op_is_not_overwritten(tmp_path, torch_one_thread):
    torch = pytest.importorskip("torch")
    spec = tmp_path / "tiny.arch"
    spec.write_text(INPLACE)
    feats = archdsl.build(spec, features=["stem", "stage1", "stage2"]).eval()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        stem, stage1, _ = feats(x)
    assert float(stem.min()) < 0 and float(stage1.min()) < 0  # a conv's output, not ReLU'd in place


def test_feature_module_exports_and_traces(torch_one_thread):
    torch = pytest.importorskip("torch")
    path = BASELINES / "resnet18.arch"
    feats = archdsl.build(path, features=["stage2", "stage3", "stage4"]).eval()
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    program = torch.export.export(feats, (x,))
    with torch.no_grad():
        want = feats(x)
        got = program.module()(x)
    assert len(got) == 3 and all(torch.allclose(a, b, atol=1e-5) for a, b in zip(got, want, strict=True))
    with pytest.raises(ValueError, match="deploy"):
        archdsl.build(path, features_only=True, deploy=True)
    from archdsl_backends.torch import reparameterize

    with pytest.raises(ValueError, match="not a feature module"):
        reparameterize(feats)


# ---- ONNX and the command line ---------------------------------------------------------------


def test_onnx_emits_one_output_per_feature(tmp_path, torch_one_thread):
    ort = pytest.importorskip("onnxruntime")
    torch = pytest.importorskip("torch")
    path = BASELINES / "resnet18.arch"
    out = tmp_path / "r18.onnx"
    r = run_cli("compile", str(path), "--backend", "onnx", "-O", "features=stem.relu,stage2,stage4", "-o", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["stem.relu", "stage2", "stage4"]
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})
    feats = archdsl.build(path, features=["stem.relu", "stage2", "stage4"]).eval()
    with torch.no_grad():
        want = feats(x)
    for a, b in zip(got, want, strict=True):
        assert a.shape == tuple(b.shape)
        assert float(abs(torch.from_numpy(a) - b).max()) < 1e-3 * float(b.abs().max())


def test_onnx_bad_feature_is_a_usage_error(tmp_path):
    pytest.importorskip("onnx")
    r = run_cli(
        "compile", str(BASELINES / "resnet18.arch"), "--backend", "onnx", "-O", "features=stage9", "-o", str(tmp_path)
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "stage9" in (r.stdout + r.stderr) and "Traceback" not in (r.stdout + r.stderr)


def test_show_features_table_and_json():
    r = run_cli("show", str(BASELINES / "resnet18.arch"), "--features")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = (r.stdout + r.stderr).splitlines()
    assert any(line.split()[:3] == ["stage3", "256", "16"] and "[256, 14, 14]" in line for line in lines), r.stdout
    assert all(line == line.rstrip() for line in lines)
    r = run_cli("show", str(BASELINES / "resnet18.arch"), "--features", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert [(f["module"], f["num_chs"], f["reduction"]) for f in data["features"]] == PYRAMIDS["resnet18"]


def test_show_features_of_a_net_without_image_input(tmp_path):
    spec = tmp_path / "vec.arch"
    spec.write_text(
        textwrap.dedent(
            """\
            import std
            net vec(classes = 3) {
                input x [3, 8, 8]
                head = gap -> flatten -> linear(classes)
            }
            """
        )
    )
    r = run_cli("show", str(spec), "--features")
    assert r.returncode == 2 and "no feature maps" in (r.stdout + r.stderr) and "Traceback" not in (r.stdout + r.stderr)


def test_show_json_carries_the_tables_totals():
    from archdsl.analysis import summarize

    r = run_cli("show", str(BASELINES / "resnet18.arch"), "--json", "--depth", "2")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    graph = archdsl.load(BASELINES / "resnet18.arch")
    summary = data["summary"]
    assert summary["params"] == graph.total_params == 11_689_512
    assert summary["macs"] == graph.total_macs and summary["ops"] == len(graph.nodes)
    rows = summarize(graph, 2)
    assert [(s["path"], s["params"], s["macs"]) for s in summary["stages"]] == [
        (r.path, r.params, r.macs) for r in rows
    ]
    top = [s for s in summary["stages"] if s["depth"] == 1]
    assert sum(s["params"] for s in top) == summary["params"] and sum(s["macs"] for s in top) == summary["macs"]
    table = run_cli("show", str(BASELINES / "resnet18.arch")).stdout
    assert f"{summary['params']:,} parameters" in table and f"{summary['macs']:,} MACs" in table

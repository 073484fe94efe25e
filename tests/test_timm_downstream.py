"""Downstream use against timm itself (the .venv-timm environment, scripts/setup_timm_env.sh):
feature pyramids equal to timm's ``features_only`` models, timm checkpoints mapped onto the zoo
specs by structure, and the specs as timm models (create_model, data config, a training step).

Every timm model is built with ``pretrained=False`` (nothing is downloaded); its norm layers are
randomised first, so a mapping that swapped two batch norms of one shape would show.
"""

from __future__ import annotations

import pytest

import archdsl
from tests.zoo_helpers import ZOO, randomize_norm_stats

pytestmark = pytest.mark.timm

timm = pytest.importorskip("timm", reason="timm is not installed: run scripts/setup_timm_env.sh (see docs/zoo.md)")
torch = pytest.importorskip("torch")

MODELS = list(ZOO.values())
IDS = [m.timm_name for m in MODELS]
TOLERANCE = 1e-5
#: timm's byobnet counts its final 1×1 conv as the last feature; the spec writes it in the head
#: (as timm's efficientnet family keeps conv_head out of the features): asked for by name
HEAD_FEATURE = {"mobilevit_xs": "head.conv_bn_act.act"}


@pytest.fixture(scope="module", autouse=True)
def _threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _timm(name: str, seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    model = timm.create_model(name, pretrained=False, **kwargs).eval()
    randomize_norm_stats(model, seed=seed + 1)
    return model


def _rel64(a, b) -> float:
    return float((a - b).abs().max() / b.abs().max())


def _outputs64(theirs, ours, size: int):
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with torch.no_grad():
        return ours.double()(x), theirs.double()(x)


# ---- features ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_feature_pyramid_matches_timms_features_only(model):
    theirs = timm.create_model(model.timm_name, pretrained=False, features_only=True).eval()
    names = None
    if model.timm_name in HEAD_FEATURE:
        from archdsl.analysis.features import pyramid

        levels = [f.name for f in pyramid(archdsl.load(model.path))]
        names = [*levels[:-1], HEAD_FEATURE[model.timm_name]]
    ours = archdsl.build(model.path, features=names, features_only=names is None).eval()
    assert ours.feature_info.channels() == theirs.feature_info.channels()
    assert ours.feature_info.reduction() == theirs.feature_info.reduction()
    x = torch.randn(1, 3, model.size, model.size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        got, want = ours(x), theirs(x)
    assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in want]


def test_features_hold_timms_values_after_mapping():
    model = ZOO["resnet18"]
    theirs = _timm("resnet18")
    full = archdsl.build(model.path).eval()
    archdsl.load_weights(full, theirs.state_dict(), source=theirs)
    feats = archdsl.build(model.path, features_only=True).eval()
    feats.load_state_dict(full.state_dict(), strict=False)
    timm_feats = timm.create_model("resnet18", pretrained=False, features_only=True).eval()
    timm_feats.load_state_dict(theirs.state_dict(), strict=False)
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with torch.no_grad():
        got, want = feats.double()(x), timm_feats.double()(x)
    assert all(_rel64(a, b) < TOLERANCE for a, b in zip(got, want, strict=True))


# ---- weights from timm, by structure -----------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_a_saved_timm_checkpoint_maps_onto_the_spec(model, tmp_path):
    theirs = _timm(model.timm_name, seed=0)
    path = tmp_path / "ckpt.pth"
    torch.save(theirs.state_dict(), path)
    state = torch.load(path, weights_only=True)
    source = timm.create_model(model.timm_name, pretrained=False)  # the architecture; its own values are unused
    ours = archdsl.build(model.path, seed=5).eval()
    mapping = archdsl.load_weights(ours, state, source=source)
    assert len(mapping.pairs) == sum(1 for k in state if not k.endswith("num_batches_tracked"))
    got, want = _outputs64(theirs, ours, model.size)
    assert _rel64(got, want) < TOLERANCE, model.timm_name
    assert float(want.std()) > 1e-3


def test_a_swapped_pair_of_batch_norms_would_show():
    """The check above can fail: two batch norms of one shape exchanged in the checkpoint."""
    model = ZOO["mobileone_s1"]
    theirs = _timm(model.timm_name)
    ours = archdsl.build(model.path).eval()
    state = dict(theirs.state_dict())
    a, b = "stages.0.0.conv_kxk.0.bn", "stages.0.0.conv_scale.bn"
    for leaf in ("weight", "bias", "running_mean", "running_var"):
        state[f"{a}.{leaf}"], state[f"{b}.{leaf}"] = state[f"{b}.{leaf}"], state[f"{a}.{leaf}"]
    archdsl.load_weights(ours, state, source=theirs)
    got, want = _outputs64(theirs, ours, model.size)
    assert _rel64(got, want) > 1e-3


def test_mobileones_identity_branch_maps_though_timm_runs_it_first():
    theirs = _timm("mobileone_s1")
    ours = archdsl.build(ZOO["mobileone_s1"].path).eval()
    mapping = archdsl.load_weights(ours, theirs.state_dict(), source=theirs)
    skips = [k for k in mapping.pairs if ".columns.skip." in k]
    assert skips and all(mapping.pairs[k].split(".identity.")[1] == k.split(".skip.")[1] for k in skips)


def test_a_different_architecture_is_refused_naming_the_layers():
    from archdsl.weights import WeightsError

    theirs = timm.create_model("resnet18", pretrained=False)
    ours = archdsl.build(ZOO["mobileone_s1"].path)
    before = {k: v.clone() for k, v in ours.state_dict().items()}
    with pytest.raises(WeightsError) as exc:
        archdsl.load_weights(ours, theirs.state_dict(), source=theirs)
    msg = str(exc.value.problems[0].message)
    assert "first layer of ours without a counterpart: #0 conv(stem." in msg
    assert "first layer of theirs without a counterpart: #0 conv(conv1.weight [64, 3, 7, 7])" in msg
    assert exc.value.code == "B009"
    assert all(torch.equal(before[k], v) for k, v in ours.state_dict().items()), "nothing loaded"


def test_weights_map_command(tmp_path):
    from safetensors.numpy import load_file

    from tests.conftest import run_cli

    theirs = _timm("resnet18")
    ckpt = tmp_path / "r18.pth"
    torch.save(theirs.state_dict(), ckpt)
    out = tmp_path / "ours.safetensors"
    spec = str(ZOO["resnet18"].path)
    r = run_cli("weights", "map", spec, str(ckpt), "--timm", "resnet18", "-o", str(out), timeout=600)
    assert r.returncode == 0, r.stderr
    assert "mapped 102 tensors of 41 layers from timm resnet18" in r.stdout
    ours = archdsl.build(spec).eval()
    ours.load_state_dict({k: torch.from_numpy(v) for k, v in load_file(out).items()}, strict=False)
    got, want = _outputs64(theirs, ours, 224)
    assert _rel64(got, want) < TOLERANCE
    # a checkpoint of another architecture: B009, nothing written (the mismatch itself: the test above)
    r = run_cli("weights", "map", spec, str(ckpt), "--timm", "resnet34", "-o", str(tmp_path / "x.safetensors"))
    assert r.returncode == 1 and "error[B009]: the checkpoint has no tensor layer1.2.conv1.weight" in r.stderr
    assert not (tmp_path / "x.safetensors").exists()
    r = run_cli("weights", "map", spec, str(ckpt), "--timm", "resnet19", "-o", str(tmp_path / "x.safetensors"))
    assert r.returncode == 2 and "did you mean 'resnet18'" in r.stderr


# ---- timm.create_model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registered():
    import archdsl.timm

    return archdsl.timm.register([archdsl_root() / "specs" / "attendnext.arch", ZOO["resnet18"].path])


def archdsl_root():
    from tests.conftest import ROOT

    return ROOT


def test_register_names(registered):
    assert registered == ["attendnext", "resnet18_arch"]  # timm has its own resnet18
    assert timm.is_model("attendnext") and "attendnext" in timm.list_models("attend*")


def test_create_model_with_timms_arguments(registered):
    import timm.data

    model = timm.create_model("attendnext", pretrained=False, num_classes=10, in_chans=1, drop_path_rate=0.0)
    assert model.num_classes == 10 and model.get_classifier().out_features == 10
    cfg = timm.data.resolve_data_config({}, model=model)
    assert cfg["input_size"] == (1, 224, 224) and cfg["interpolation"] == "bicubic" and len(cfg["mean"]) == 1
    transform = timm.data.create_transform(**cfg)
    assert "CenterCrop" in repr(transform)
    x = torch.randn(2, 1, 224, 224)
    with torch.no_grad():
        feats = model.forward_features(x)
        assert feats.shape == (2, model.num_features, 7, 7)
        assert model.forward_head(feats, pre_logits=True).shape == (2, model.num_features)
        assert torch.allclose(model.forward_head(feats), model(x), atol=1e-5)
    model.reset_classifier(3)
    with torch.no_grad():
        assert model(x).shape == (2, 3)
    model.reset_classifier(0)
    with torch.no_grad():
        assert model(x).shape == (2, model.num_features)
    assert model.pretrained_cfg["first_conv"] == "stem.conv" and model.pretrained_cfg["classifier"] == "head.linear"


def test_create_model_features_only(registered):
    model = timm.create_model("attendnext", pretrained=False, features_only=True, out_indices=(2, 3, 4), in_chans=1)
    with torch.no_grad():
        outs = model(torch.randn(1, 1, 224, 224))
    assert [o.shape[1] for o in outs] == model.feature_info.channels()
    assert model.feature_info.reduction() == [4, 8, 16]


def test_create_model_refusals(registered):
    with pytest.raises(ValueError, match="drop_path"):
        timm.create_model("attendnext", drop_path_rate=0.1)
    with pytest.raises(ValueError, match="no pretrained weights"):
        timm.create_model("attendnext", pretrained=True)
    with pytest.raises(TypeError, match="unknown keyword"):
        timm.create_model("attendnext", wdth=0.5)


def test_one_training_step_with_timms_factories(registered):
    import timm.loss
    import timm.optim

    torch.manual_seed(0)
    model = timm.create_model("resnet18_arch", pretrained=False, num_classes=4, in_chans=1).train()
    opt = timm.optim.create_optimizer_v2(model, "adamw", lr=1e-3, weight_decay=0.05)
    loss_fn = timm.loss.LabelSmoothingCrossEntropy(smoothing=0.1)
    x, y = torch.randn(4, 1, 224, 224), torch.tensor([0, 1, 2, 3])
    before = model.get_classifier().weight.detach().clone()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss) and not torch.equal(before, model.get_classifier().weight)
    assert all(p.grad is not None for p in model.parameters())

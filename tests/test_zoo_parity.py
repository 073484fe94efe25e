"""Fidelity of the baseline zoo against timm itself: timm's weights in the compiled spec give timm's outputs.

Needs timm (and torchinfo for the MAC check), which needs torchvision; they live in the separate
environment that ``scripts/setup_timm_env.sh`` builds (``.venv-timm``), not in the default install::

    scripts/setup_timm_env.sh && .venv-timm/bin/python -m pytest tests/test_zoo_parity.py

Without timm, or before the PyTorch backend exists, every test here skips with the reason. For each
model of ``tests.zoo_helpers.ZOO``: timm's model (random init, never downloaded weights) gets
random BN/LayerNorm statistics, its state is transplanted into the module compiled from the spec
(by order and shape, see zoo_helpers.transplant), and eval-mode outputs on random inputs must
agree within 1e-4 of the output scale. The reference numbers the count tests use without timm are
re-measured here.
"""

from __future__ import annotations

import pytest

import archdsl
from tests.zoo_helpers import (
    REORDERS,
    TIMM_VERSION,
    ZOO,
    TransplantError,
    compare_outputs,
    param_count,
    randomize_norm_stats,
    transplant,
)

pytestmark = pytest.mark.timm

timm = pytest.importorskip("timm", reason="timm is not installed: run scripts/setup_timm_env.sh (see docs/zoo.md)")
torch = pytest.importorskip("torch")

MODELS = list(ZOO.values())
IDS = [m.timm_name for m in MODELS]
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def torch_backend():
    from archdsl import backend

    try:
        b = backend.load("torch")
    except Exception as exc:
        pytest.skip(f"the torch backend is not available yet: {exc}")
    if not hasattr(b, "build_module"):
        pytest.skip("the torch backend has no build_module yet")
    return b


def timm_model(name: str):
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False).eval()
    randomize_norm_stats(model, seed=1)
    return model


def compiled(backend, model, deploy: bool = False):
    graph = archdsl.load(model.path)
    return backend.build_module(graph, deploy=deploy).eval()


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_reference_params_are_timms(model):
    assert param_count(timm.create_model(model.timm_name, pretrained=False)) == model.params


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_reference_macs_are_torchinfos(model):
    torchinfo = pytest.importorskip("torchinfo")
    m = timm.create_model(model.timm_name, pretrained=False).eval()
    got = torchinfo.summary(m, input_size=(1, 3, model.size, model.size), verbose=0).total_mult_adds
    if timm.__version__ == TIMM_VERSION:
        assert got == model.torchinfo_macs
    else:  # another timm may build a layer differently; the spec targets 1.0.31
        assert abs(got - model.torchinfo_macs) / model.torchinfo_macs < 0.01


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_outputs_match_timm_with_its_weights(model, torch_backend):
    theirs = timm_model(model.timm_name)
    ours = compiled(torch_backend, model)
    assert param_count(ours) == param_count(theirs) == model.params
    pairs = transplant(theirs, ours, REORDERS.get(model.reorder))
    assert len(pairs) == len(theirs.state_dict())
    diff = compare_outputs(theirs, ours, model.size)
    assert diff < TOLERANCE, f"{model.timm_name}: max |ours - timm| / max |timm| = {diff:.2e}"
    with torch.no_grad():  # the comparison is not between two constant outputs
        out = theirs(torch.randn(2, 3, model.size, model.size))
    assert float(out.std()) > 1e-3


def test_transplant_fails_loudly_on_a_mismatch(torch_backend):
    """MobileOne without the reorder pairs timm's BN identity branch with our conv: refused."""
    theirs = timm.create_model("mobileone_s1", pretrained=False)
    ours = compiled(torch_backend, ZOO["mobileone_s1"])
    with pytest.raises(TransplantError, match="does not pair up"):
        transplant(theirs, ours)


def _reparameterize():
    try:
        from archdsl_backends.torch import reparameterize
    except ImportError as exc:
        pytest.skip(f"the torch backend has no reparameterize yet: {exc}")
    return reparameterize


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_deploy_form_with_timms_weights_matches_timm(model, torch_backend):
    """BN folding (and MobileOne's branch merging) of a module holding timm's weights keeps timm's outputs."""
    reparameterize = _reparameterize()
    theirs = timm_model(model.timm_name)
    ours = compiled(torch_backend, model)
    transplant(theirs, ours, REORDERS.get(model.reorder))
    deployed = reparameterize(ours)
    assert param_count(deployed) < param_count(ours)
    diff = compare_outputs(theirs, deployed, model.size)
    assert diff < TOLERANCE, f"{model.timm_name} deployed: {diff:.2e}"


def test_mobileone_deploy_matches_timm_reparameterize_model(torch_backend):
    from timm.utils.model import reparameterize_model

    reparameterize = _reparameterize()
    model = ZOO["mobileone_s1"]
    theirs = timm_model(model.timm_name)
    ours = compiled(torch_backend, model)
    transplant(theirs, ours, REORDERS.get(model.reorder))
    theirs_deployed = reparameterize_model(theirs)
    assert param_count(theirs_deployed) == model.reparam_params
    assert param_count(compiled(torch_backend, model, deploy=True)) == model.reparam_params
    ours_deployed = reparameterize(ours)
    assert param_count(ours_deployed) == model.reparam_params
    diff = compare_outputs(theirs_deployed, ours_deployed, model.size)
    assert diff < TOLERANCE, f"mobileone_s1, both re-parameterised: {diff:.2e}"

"""archdsl.load_weights without timm: a hand-written PyTorch module of the same architecture,
its tensors registered in another order and under other names, maps onto the spec by structure;
a module that differs is refused with both sides named, and nothing is loaded."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import archdsl  # noqa: E402
from archdsl.weights import WeightsError  # noqa: E402

SPEC = """\
import std
net tiny(classes = 5) {
    input image [3, 16, 16]
    stem = conv(8, k = 3, s = 2) -> bn -> relu
    stage1 = columns(join = "add") {
        a: conv(8, k = 3) -> bn
        b: conv(8, k = 1) -> bn
        c: identity
    } -> relu
    head = gap -> flatten -> linear(classes)
}
"""


class Theirs(nn.Module):
    """The same net, written differently: the classifier and the 1x1 branch registered first,
    branches run in another order, other names."""

    def __init__(self, k1: int = 1):
        super().__init__()
        self.fc = nn.Linear(8, 5)
        self.branch_1x1 = nn.Sequential(nn.Conv2d(8, 8, k1, padding=k1 // 2, bias=False), nn.BatchNorm2d(8))
        self.branch_3x3 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(self.branch_1x1(x) + x + self.branch_3x3(x))
        return self.fc(x.mean((2, 3)))


def _randomised(model: nn.Module) -> nn.Module:
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(8, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(8, generator=g) + 0.5)
                m.weight.copy_(torch.rand(8, generator=g) + 0.5)
                m.bias.copy_(torch.randn(8, generator=g) * 0.1)
    return model.eval()


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "tiny.arch"
    path.write_text(SPEC)
    return path


def test_a_hand_written_module_maps_by_structure(spec, torch_one_thread):
    theirs = _randomised(Theirs())
    ours = archdsl.build(spec, seed=3).eval()
    mapping = archdsl.load_weights(ours, theirs.state_dict(), source=Theirs())
    assert mapping.pairs["stage1.columns.b.conv.weight"] == "branch_1x1.0.weight"
    assert mapping.pairs["stage1.columns.a.bn.running_var"] == "branch_3x3.1.running_var"
    assert mapping.pairs["head.linear.weight"] == "fc.weight"
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(ours(x), theirs(x), atol=1e-5)


def test_by_registration_order_it_would_not_load(spec):
    """The transplant by order pairs theirs' first tensor (fc.weight [5, 8]) with our stem conv."""
    ours = archdsl.build(spec)
    theirs = list(Theirs().state_dict().items())
    assert tuple(theirs[0][1].shape) != tuple(next(iter(ours.state_dict().values())).shape)


def test_a_different_module_is_refused_and_nothing_is_loaded(spec, torch_one_thread):
    ours = archdsl.build(spec)
    before = {k: v.clone() for k, v in ours.state_dict().items()}
    other = Theirs(k1=3)  # a 3x3 where the spec has its 1x1 branch
    with pytest.raises(WeightsError) as exc:
        archdsl.load_weights(ours, other.state_dict(), source=other)
    message = exc.value.problems[0].message
    assert exc.value.code == "B009"
    assert (
        "first layer of ours without a counterpart" in message
        and "stage1.columns.b.conv.weight [8, 8, 1, 1]" in message
    )
    assert "branch_1x1.0.weight [8, 8, 3, 3]" in message
    assert all(torch.equal(before[k], v) for k, v in ours.state_dict().items())


def test_a_checkpoint_that_does_not_fit_its_source_is_refused(spec):
    ours = archdsl.build(spec)
    state = Theirs().state_dict()
    state["fc.weight"] = torch.zeros(6, 8)
    del state["stem.0.weight"]
    with pytest.raises(WeightsError) as exc:
        archdsl.load_weights(ours, state, source=Theirs())
    text = " ".join(p.message for p in exc.value.problems)
    assert (
        "no tensor stem.0.weight [8, 3, 3, 3]" in text
        and "fc.weight: the checkpoint has [6, 8], the model [5, 8]" in text
    )


def test_without_a_source_only_our_names_load(spec):
    ours = archdsl.build(spec)
    with pytest.raises(WeightsError, match="does not use the spec's names"):
        archdsl.load_weights(ours, Theirs().state_dict())
    archdsl.load_weights(ours, archdsl.build(spec, seed=9).state_dict())

"""The new ops against timm's own layers: ``conv(p = "same")`` against ``timm.layers.Conv2dSame``,
``groupnorm`` against ``timm.layers.GroupNorm`` (ConvNeXt-style nets), ``drop_path`` against
``timm.layers.DropPath``. Needs timm: runs in the ``.venv-timm`` environment that
``scripts/setup_timm_env.sh`` builds (``-m timm``); skips elsewhere.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timm

timm = pytest.importorskip("timm", reason="timm is not installed: run scripts/setup_timm_env.sh (see docs/zoo.md)")
torch = pytest.importorskip("torch")

from archdsl_backends.torch import build_module  # noqa: E402
from timm.layers import Conv2dSame, DropPath, GroupNorm  # noqa: E402

from archdsl.resolve import load_graph  # noqa: E402


def _module(body: str, image=(8, 16, 16)):
    dims = ", ".join(map(str, image))
    graph = load_graph("t.arch", text=f"net t {{\n    input x [{dims}]\n    y = {body}\n}}\n")
    return graph, build_module(graph, seed=0).eval()


@pytest.mark.parametrize(("k", "s", "d"), [(3, 2, 1), (4, 4, 1), ((1, 5), (2, 1), 1), (3, 1, 2), ((3, 1), 2, 2)])
def test_same_padding_is_timms_conv2d_same(k, s, d):
    def arg(v):
        return f"({v[0]}, {v[1]})" if isinstance(v, tuple) else str(v)

    graph, ours = _module(f'conv(16, k = {arg(k)}, s = {arg(s)}, d = {d}, p = "same", bias = true)')
    theirs = Conv2dSame(8, 16, k, stride=s, dilation=d, bias=True).eval()
    theirs.load_state_dict({k_[len(graph.nodes[0].id) + 1 :]: v for k_, v in ours.state_dict().items()})
    with torch.no_grad():
        for size in ((16, 16), (15, 17), (7, 9)):
            x = torch.randn(2, 8, *size)
            torch.testing.assert_close(ours(x), theirs(x))
    assert graph.nodes[0].out.shape[1:] == tuple(theirs(torch.zeros(1, 8, 16, 16)).shape[2:])


def test_groupnorm_is_timms():
    graph, ours = _module("groupnorm(4, eps = 1e-6)")
    theirs = GroupNorm(8, num_groups=4, eps=1e-6).eval()
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(0.5, 1.5)
    ours.load_state_dict({f"{graph.nodes[0].id}.{k}": v for k, v in theirs.state_dict().items()})
    x = torch.randn(3, 8, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))
    assert graph.total_params == sum(p.numel() for p in theirs.parameters())


def test_drop_path_is_timms():
    _, ours = _module("drop_path(0.3)")
    theirs = DropPath(0.3)
    x = torch.randn(64, 8, 16, 16)
    for mode in (True, False):
        ours.train(mode)
        theirs.train(mode)
        torch.manual_seed(5)
        want = theirs(x)
        torch.manual_seed(5)
        assert torch.equal(ours(x), want)

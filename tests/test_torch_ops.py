"""Every op of the registry, compiled by the torch backend, against an independent reference.

The reference below is written from docs/ir.md with plain tensor arithmetic (explicit formulas
for norms, activations, attention, unfold/fold, blur pool) and walks the IR node by node; it
shares no code with ``backends/torch``. Small crafted specs cover every op of ``archdsl.ops.OPS``
(a test fails when an op is added without being covered here), both layouts where an op takes
several, and the MobileOne / SE / columns / attention-condenser / MobileViT blocks of std.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import archdsl  # noqa: E402
from archdsl.ops import OPS  # noqa: E402

SPEC_IMAGE = """\
import std
net opsa(width = 1.0) {
    input image [3, 32, 32]
    stem = conv(16, k = 3, s = 2, bias = true) -> bn(eps = 0.001, momentum = 0.01) -> relu
    b1 = mobileone(16, branches = 2) -> mobileone(24, k = 1) -> mobileone(24, s = 2, groups = 24, branches = 3)
    b2 = inverted_residual(24, e = 3, se_ratio = 0.25, act = "hardswish", gate = "hardsigmoid")
    b3 = columns(2, split = true, join = "shuffle") { conv(16, k = 3, d = 2) -> bn -> relu6 }
    b4 = dcac -> attention_condenser -> upsample(2, mode = "bilinear") -> aads(filt = 4)
         -> avgpool(3, s = 1, p = 1, count_include_pad = false)
    b5 = conv(32, k = 1) -> layernorm -> gelu -> tanh -> silu -> sigmoid -> maxpool(3, s = 2, p = 1, ceil = true)
         -> avgpool(2, ceil = true) -> conv(32, k = 1, s = 2, groups = 32)
    head = gap -> flatten -> dropout(0.0) -> linear(10) -> layernorm -> scale(init = 0.5) -> softmax
}
"""

SPEC_TOKENS = """\
import std
net opsb {
    input image [3, 16, 8]
    stem = conv(8, k = 3) -> bn -> silu
    vit = mobilevit(8, d = 16, depth = 2, heads = 2)
    tok = unfold(2) -> columns(2) { linear(8) -> scale(init = 2.0) } -> layernorm -> mhsa(4, bias = false)
          -> mhsa(2, scale = 0.3) -> softmax -> fold(2, h = 16)
    head = gap -> flatten -> linear(5, bias = false)
}
"""

SPEC_VECTOR = """\
net opsc {
    input feats [16]
    mlp = linear(32) -> relu -> layernorm(eps = 0.001) -> linear(4) -> softmax
}
"""

SPEC_ODD = """\
import std
net opsd {
    input image [3, 15, 17]
    body = conv(4, k = 3) -> aads -> blurpool(3, 1) -> blurpool(3, 3) -> aads(filt = 2) -> gap -> flatten
}
"""

SPEC_AXES = """\
net opse {
    input image [4, 15, 17]
    body = conv(8, k = (1, 5), s = (2, 1), p = (0, 1, 2, 2)) -> groupnorm(4) -> relu
           -> conv(8, k = (3, 1), s = (2, 1), d = 2, p = "same", groups = 2) -> bn(affine = false)
           -> conv(8, k = 3, d = (1, 2), p = "same") -> conv(8, k = (3, 1), d = (2, 1))
           -> drop_path(0.0) -> maxpool((3, 1), (2, 1), (1, 0)) -> conv(6, k = 3, s = 2, p = "same", bias = true)
           -> groupnorm(2, eps = 0.001) -> avgpool((1, 2), ceil = true) -> gap -> flatten
}
"""

SPECS = {"image": SPEC_IMAGE, "tokens": SPEC_TOKENS, "vector": SPEC_VECTOR, "odd": SPEC_ODD, "axes": SPEC_AXES}


# ---- the reference ---------------------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _bn(x, p, a, training):
    w, b = p.get("weight", 1.0), p.get("bias", 0.0)  # bn(affine = false): 1 and 0
    if not torch.is_tensor(w):
        w, b = torch.ones(x.shape[1]), torch.zeros(x.shape[1])
    if training:
        mean = x.mean((0, 2, 3))
        var = x.var((0, 2, 3), unbiased=False)
    else:
        mean, var = p["running_mean"], p["running_var"]
    shape = (1, -1, 1, 1)
    return (x - mean.view(shape)) / torch.sqrt(var.view(shape) + a.eps) * w.view(shape) + b.view(shape)


def _groupnorm(x, p, a):
    b, c, h, w = x.shape
    g = x.reshape(b, a.groups, -1)
    mean = g.mean(-1, keepdim=True)
    var = ((g - mean) ** 2).mean(-1, keepdim=True)
    y = ((g - mean) / torch.sqrt(var + a.eps)).reshape(b, c, h, w)
    return y * p["weight"].view(1, -1, 1, 1) + p["bias"].view(1, -1, 1, 1)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _conv(x, p, a):
    """Zero padding first (each side as docs/ir.md says, TF's rule for "same"), then no padding."""
    (kh, kw), (sh, sw), (dh, dw) = p["weight"].shape[2:], _pair(a.s), _pair(a.d)
    if a.p == "same":
        pads = []
        for size, k, s, d in ((x.shape[3], kw, sw, dw), (x.shape[2], kh, sh, dh)):
            total = max((math.ceil(size / s) - 1) * s + d * (k - 1) + 1 - size, 0)
            pads += [total // 2, total - total // 2]
    else:
        q = (a.p,) * 4 if isinstance(a.p, int) else (a.p[0], a.p[0], a.p[1], a.p[1]) if len(a.p) == 2 else a.p
        pads = [q[2], q[3], q[0], q[1]]  # F.pad: left, right, top, bottom
    return F.conv2d(F.pad(x, pads), p["weight"], p.get("bias"), (sh, sw), 0, (dh, dw), a.groups)


def _layernorm(x, p, a, layout):
    dim = 1 if layout == "chw" else -1
    mean = x.mean(dim, keepdim=True)
    var = ((x - mean) ** 2).mean(dim, keepdim=True)
    y = (x - mean) / torch.sqrt(var + a.eps)
    shape = (1, -1, 1, 1) if layout == "chw" else (-1,)
    return y * p["weight"].view(shape) + p["bias"].view(shape)


def _blurpool(x, a):
    row = torch.tensor([math.comb(a.filt - 1, i) for i in range(a.filt)], dtype=x.dtype)
    kernel = torch.outer(row, row)
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    lo, hi = (a.filt - 1) // 2, math.ceil((a.filt - 1) / 2)
    x = F.pad(x, (lo, hi, lo, hi), mode="reflect")
    return F.conv2d(x, kernel.expand(c, 1, a.filt, a.filt), stride=a.s, groups=c)


def _unfold(x, p):
    b, c, h, w = x.shape
    nh, nw = h // p, w // p
    x = x.reshape(b, c, nh, p, nw, p).permute(0, 3, 5, 2, 4, 1)  # [B, ph, pw, nh, nw, C]
    return x.reshape(b, p * p, nh * nw, c)


def _fold(x, p, h):
    b, _, n, c = x.shape
    nh = h // p
    nw = n // nh
    x = x.reshape(b, p, p, nh, nw, c).permute(0, 5, 3, 1, 4, 2)  # [B, C, nh, ph, nw, pw]
    return x.reshape(b, c, nh * p, nw * p)


def _mhsa(x, p, a):
    b, pp, n, c = x.shape
    hd = c // a.heads
    qkv = x @ p["qkv.weight"].T + (p.get("qkv.bias", 0))
    q, k, v = qkv[..., :c], qkv[..., c : 2 * c], qkv[..., 2 * c :]

    def heads(t):
        return t.reshape(b, pp, n, a.heads, hd).transpose(2, 3)  # [B, P, heads, N, hd]

    q, k, v = heads(q), heads(k), heads(v)
    scores = q @ k.transpose(-1, -2) * (1 / math.sqrt(hd) if a.scale is None else a.scale)
    scores = scores - scores.amax(-1, keepdim=True)
    attn = scores.exp() / scores.exp().sum(-1, keepdim=True)
    out = (attn @ v).transpose(2, 3).reshape(b, pp, n, c)
    return out @ p["proj.weight"].T + (p.get("proj.bias", 0))


def _softmax(x, dim):
    e = (x - x.amax(dim, keepdim=True)).exp()
    return e / e.sum(dim, keepdim=True)


def reference(graph, params, x, training=False):
    """Run ``graph`` on ``x`` with the weights ``params`` (a state_dict) following docs/ir.md."""
    env = {graph.inputs[0].name: x}
    types = {graph.inputs[0].name: graph.inputs[0].type}
    for node in graph.nodes:
        ins = [env[i] for i in node.inputs]
        t = types[node.inputs[0]]
        p = {k[len(node.id) + 1 :]: v for k, v in params.items() if k.startswith(node.id + ".")}
        a = node.args
        x0 = ins[0]
        chw = t.layout == "chw"
        op = node.op
        if op == "conv":
            y = _conv(x0, p, a)
        elif op == "linear":
            y = x0 @ p["weight"].T + (p.get("bias", 0))
        elif op == "bn":
            y = _bn(x0, p, a, training)
        elif op == "layernorm":
            y = _layernorm(x0, p, a, t.layout)
        elif op == "groupnorm":
            y = _groupnorm(x0, p, a)
        elif op == "scale":
            y = x0 * (p["weight"].view(1, -1, 1, 1) if chw else p["weight"])
        elif op == "relu":
            y = torch.where(x0 > 0, x0, torch.zeros_like(x0))
        elif op == "relu6":
            y = x0.clamp(0, 6)
        elif op == "hardswish":
            y = x0 * (x0 + 3).clamp(0, 6) / 6
        elif op == "hardsigmoid":
            y = (x0 + 3).clamp(0, 6) / 6
        elif op == "sigmoid":
            y = 1 / (1 + torch.exp(-x0))
        elif op == "silu":
            y = x0 / (1 + torch.exp(-x0))
        elif op == "gelu":
            y = 0.5 * x0 * (1 + torch.erf(x0 / math.sqrt(2)))
        elif op == "tanh":
            y = torch.tanh(x0)
        elif op == "softmax":
            y = _softmax(x0, 1 if chw else -1)
        elif op in ("identity", "dropout", "drop_path"):
            y = x0  # dropout(0.0), drop_path(0.0) / eval mode
        elif op == "maxpool":
            y = F.max_pool2d(x0, a.k, a.s, a.p, ceil_mode=a.ceil)
        elif op == "avgpool":
            y = F.avg_pool2d(x0, a.k, a.s, a.p, ceil_mode=a.ceil, count_include_pad=a.count_include_pad)
        elif op == "blurpool":
            y = _blurpool(x0, a)
        elif op == "upsample":
            if a.mode == "nearest":
                y = x0.repeat_interleave(a.scale, 2).repeat_interleave(a.scale, 3)
            else:
                y = F.interpolate(x0, scale_factor=a.scale, mode="bilinear", align_corners=False)
        elif op == "gap":
            y = x0.mean((2, 3), keepdim=True)
        elif op == "flatten":
            y = x0.reshape(x0.shape[0], -1)
        elif op == "concat":
            y = torch.cat(ins, 1 if chw else -1)
        elif op == "add":
            y = sum(ins[1:], ins[0])
        elif op == "mul":
            y = ins[0]
            for other in ins[1:]:
                y = y * other
        elif op == "shuffle":
            b, c, h, w = x0.shape
            y = x0.contiguous().view(b, a.groups, c // a.groups, h, w).transpose(1, 2).reshape(b, c, h, w)
        elif op == "slice":
            y = x0[:, a.start : a.stop]
        elif op == "unfold":
            y = _unfold(x0, a.p)
        elif op == "fold":
            y = _fold(x0, a.p, a.h)
        elif op == "mhsa":
            y = _mhsa(x0, p, a)
        else:
            raise AssertionError(f"no reference for op {op}")
        assert tuple(y.shape[1:]) == node.out.shape, (node.id, tuple(y.shape), node.out.shape)
        env[node.id] = y
        types[node.id] = node.out
    return env[graph.output]


# ---- tests -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ops")
    out = {}
    for name, text in SPECS.items():
        path = root / f"{name}.arch"
        path.write_text(text)
        out[name] = archdsl.load(path)
    return out


def _randomise(model, seed=1):
    """Random non-trivial weights and batch-norm statistics, so that every term matters."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var") or (name.endswith("weight") and t.dim() == 1):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            else:
                t.copy_(torch.randn(t.shape, generator=gen) * 0.3)
    return model


def _close(a, b, rtol=1e-5):
    scale = max(a.abs().max().item(), 1e-6)
    return (a - b).abs().max().item() / scale <= rtol


def test_every_op_is_covered(graphs):
    used = {n.op for g in graphs.values() for n in g.nodes}
    assert used == set(OPS), f"ops without a torch test: {sorted(set(OPS) - used)}"


@pytest.mark.parametrize("name", list(SPECS))
def test_eval_matches_reference(graphs, name):
    graph = graphs[name]
    model = _randomise(archdsl.build(graph.file)).eval()
    x = torch.randn(3, *graph.inputs[0].type.shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        got = model(x)
        want = reference(graph, model.state_dict(), x)
    assert got.shape == want.shape
    assert _close(got, want), (got - want).abs().max()


@pytest.mark.parametrize("name", list(SPECS))
def test_training_forward_and_gradients_match_reference(graphs, name):
    """Train mode (batch statistics, in-place activations) and autograd agree with the reference."""
    graph = graphs[name]
    model = _randomise(archdsl.build(graph.file)).train()
    x = torch.randn(4, *graph.inputs[0].type.shape, generator=torch.Generator().manual_seed(3))
    target = torch.randn(4, *graph.output_type.shape, generator=torch.Generator().manual_seed(4))
    loss = ((model(x) - target) ** 2).sum()
    loss.backward()
    params = {k: v.detach().clone().requires_grad_(v.is_floating_point()) for k, v in model.state_dict().items()}
    ref_loss = ((reference(graph, params, x, training=True) - target) ** 2).sum()
    ref_loss.backward()
    assert _close(loss.detach(), ref_loss.detach())
    # gradients that vanish mathematically (a conv bias before batch norm) are rounding noise:
    # compare every gradient against the largest one
    scale = max(p.grad.abs().max().item() for p in model.parameters())
    for name_, p in model.named_parameters():
        assert p.grad is not None, name_
        assert (p.grad - params[name_].grad).abs().max().item() <= 1e-4 * scale, name_


@pytest.mark.parametrize("name", list(SPECS))
def test_deploy_form_matches_reference(graphs, name):
    graph = graphs[name]
    model = _randomise(archdsl.build(graph.file)).eval()
    from archdsl_backends.torch import reparameterize

    deployed = reparameterize(model)
    x = torch.randn(2, *graph.inputs[0].type.shape, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        want = reference(graph, model.state_dict(), x)
        got = deployed(x)
    assert _close(got, want)
    ops = [n.op for n in deployed.meta["archdsl_graph"].nodes]
    assert "identity" not in ops and "dropout" not in ops


def test_mobileone_branches_merge_into_one_conv(graphs):
    from archdsl_backends.torch import reparameterize

    graph = graphs["image"]
    deployed = reparameterize(_randomise(archdsl.build(graph.file)).eval())
    dgraph = deployed.meta["archdsl_graph"]
    b1 = [n for n in dgraph.nodes if n.id.startswith("b1.")]
    # three MobileOne blocks: each is now one conv (with bias) and its activation
    assert [n.op for n in b1] == ["conv", "relu"] * 3, [(n.id, n.op) for n in b1]
    assert [n.id for n in b1 if n.op == "conv"] == [
        "b1.mobileone.columns.reparam",
        "b1.mobileone_1.columns.kxk.col0.conv",
        "b1.mobileone_2.columns.reparam",
    ]
    assert not any(n.op == "bn" for n in dgraph.nodes if n.id.startswith(("stem.", "b1.")))
    assert sum(p.numel() for p in deployed.parameters()) == dgraph.total_params

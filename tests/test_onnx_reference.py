"""A float64 numpy interpreter of the IR, written from docs/ir.md, to test the ONNX backend against.

Independent of the backend's code: no folding, each op written the way the semantics table says
(the unfold and fold are timm's reshape/transpose sequences, not the backend's 6-D permutations).
"""

from __future__ import annotations

import math

import numpy as np

_erf = np.vectorize(math.erf)


def pair(v):
    """A per-axis argument as (height, width)."""
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def conv_sides(x, k, s, p, d):
    """A conv's zero padding as (top, bottom, left, right): docs/ir.md's forms, TensorFlow's rule for "same"."""
    if p == "same":
        out = []
        for size, kk, ss, dd in zip(x.shape[2:], pair(k), pair(s), pair(d), strict=True):
            total = max((math.ceil(size / ss) - 1) * ss + dd * (kk - 1) + 1 - size, 0)
            out += [total // 2, total - total // 2]
        return tuple(out)
    if isinstance(p, int):
        return (p, p, p, p)
    return (p[0], p[0], p[1], p[1]) if len(p) == 2 else tuple(p)


def conv2d(x, w, b, s, p, d, groups):
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = pair(s), pair(d)
    t, bo, le, r = conv_sides(x, (kh, kw), s, p, d)
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (le, r)))
    ho = (h + t + bo - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + le + r - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    out = np.zeros((n, o, ho, wo))
    for g in range(groups):
        xs = xp[:, g * cg : (g + 1) * cg]
        ws = w[g * og : (g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh : i * dh + sh * (ho - 1) + 1 : sh, j * dw : j * dw + sw * (wo - 1) + 1 : sw]
                out[:, g * og : (g + 1) * og] += np.einsum("bchw,oc->bohw", patch, ws[:, :, i, j])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def pool2d(x, k, s, p, out_hw, kind, count_include_pad=True):
    """PyTorch's max/avg pooling, windows clipped as in ATen (ceil mode included)."""
    n, c, h, w = x.shape
    ho, wo = out_hw
    (kh, kw), (sh, sw), (ph, pw) = pair(k), pair(s), pair(p)
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            hs, ws = i * sh - ph, j * sw - pw
            he, we = min(hs + kh, h + ph), min(ws + kw, w + pw)
            pool_size = (he - hs) * (we - ws)
            region = x[:, :, max(hs, 0) : min(he, h), max(ws, 0) : min(we, w)]
            if kind == "max":
                out[:, :, i, j] = region.max(axis=(2, 3))
            else:
                div = pool_size if count_include_pad else region.shape[2] * region.shape[3]
                out[:, :, i, j] = region.sum(axis=(2, 3)) / div
    return out


def binomial(filt):
    row = np.array([math.comb(filt - 1, i) for i in range(filt)], dtype=np.float64)
    f = np.outer(row, row)
    return f / f.sum()


def blurpool(x, filt, s):
    lo, hi = (filt - 1) // 2, math.ceil((filt - 1) / 2)
    xp = np.pad(x, ((0, 0), (0, 0), (lo, hi), (lo, hi)), mode="reflect")
    c = x.shape[1]
    w = np.broadcast_to(binomial(filt), (c, 1, filt, filt))
    return conv2d(xp, w, None, s, 0, 1, c)


def upsample(x, scale, mode):
    if mode == "nearest":
        return x.repeat(scale, axis=2).repeat(scale, axis=3)
    h, w = x.shape[2:]

    def coords(size):
        dst = np.arange(size * scale)
        src = np.maximum((dst + 0.5) / scale - 0.5, 0.0)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, size - 1)
        return i0, i1, src - i0

    y0, y1, ly = coords(h)
    x0, x1, lx = coords(w)
    top = x[:, :, y0][:, :, :, x0] * (1 - lx) + x[:, :, y0][:, :, :, x1] * lx
    bot = x[:, :, y1][:, :, :, x0] * (1 - lx) + x[:, :, y1][:, :, :, x1] * lx
    return top * (1 - ly)[:, None] + bot * ly[:, None]


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layernorm(x, w, b, eps, axis):
    mean = x.mean(axis=axis, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axis, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    shape = [1] * x.ndim
    shape[axis] = -1
    return y * w.reshape(shape) + b.reshape(shape)


def unfold(x, p):
    """timm MobileVitBlock: [B, C, H, W] → [B, P, N, C]."""
    b, c, h, w = x.shape
    nh, nw = h // p, w // p
    x = x.reshape(b * c * nh, p, nw, p).transpose(0, 2, 1, 3)
    x = x.reshape(b, c, nh * nw, p * p).transpose(0, 3, 2, 1)
    return x


def fold(x, p, h):
    """timm MobileVitBlock: [B, P, N, C] → [B, C, H, W]."""
    b, _, n, c = x.shape
    nh = h // p
    nw = n // nh
    x = x.transpose(0, 3, 2, 1).reshape(b * c * nh, nw, p, p)
    x = x.transpose(0, 2, 1, 3).reshape(b, c, nh * p, nw * p)
    return x


def mhsa(x, wts, prefix, heads, bias, scale=None):
    """timm Attention on each of the P token sets: x [B, P, N, C]."""
    b, pp, n, c = x.shape
    d = c // heads
    t = x.reshape(b * pp, n, c)
    qkv = t @ wts[f"{prefix}.qkv.weight"].T
    if bias:
        qkv = qkv + wts[f"{prefix}.qkv.bias"]
    qkv = qkv.reshape(b * pp, n, 3, heads, d).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    scale = 1 / math.sqrt(d) if scale is None else scale
    attn = softmax(q @ k.transpose(0, 1, 3, 2) * scale, -1)
    o = (attn @ v).transpose(0, 2, 1, 3).reshape(b * pp, n, c)
    o = o @ wts[f"{prefix}.proj.weight"].T
    if bias:
        o = o + wts[f"{prefix}.proj.bias"]
    return o.reshape(b, pp, n, c)


ACTS = {
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "hardswish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hardsigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
    "tanh": np.tanh,
}


def run(graph, weights, x):
    """Evaluate ``graph`` on the batch ``x`` with ``weights`` (contract names), in float64."""
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    env = {graph.inputs[0].name: np.asarray(x, dtype=np.float64)}
    for node in graph.nodes:
        a = node.args
        xs = [env[i] for i in node.inputs]
        t = node.out
        ch_axis = 1 if t.layout == "chw" else -1
        i = node.id
        op = node.op
        if op == "conv":
            y = conv2d(xs[0], w[f"{i}.weight"], w.get(f"{i}.bias"), a.s, a.p, a.d, a.groups)
        elif op == "linear":
            y = xs[0] @ w[f"{i}.weight"].T + (w[f"{i}.bias"] if a.bias else 0)
        elif op == "bn":
            sh = (1, -1, 1, 1)
            y = (xs[0] - w[f"{i}.running_mean"].reshape(sh)) / np.sqrt(w[f"{i}.running_var"].reshape(sh) + a.eps)
            if a.affine:  # else weight 1, bias 0
                y = y * w[f"{i}.weight"].reshape(sh) + w[f"{i}.bias"].reshape(sh)
        elif op == "groupnorm":
            b, c, h, wd = xs[0].shape
            g = xs[0].reshape(b, a.groups, -1)
            mean = g.mean(-1, keepdims=True)
            y = ((g - mean) / np.sqrt(((g - mean) ** 2).mean(-1, keepdims=True) + a.eps)).reshape(b, c, h, wd)
            y = y * w[f"{i}.weight"].reshape(1, -1, 1, 1) + w[f"{i}.bias"].reshape(1, -1, 1, 1)
        elif op == "layernorm":
            y = layernorm(xs[0], w[f"{i}.weight"], w[f"{i}.bias"], a.eps, ch_axis)
        elif op == "scale":
            y = xs[0] * (w[f"{i}.weight"].reshape(-1, 1, 1) if t.layout == "chw" else w[f"{i}.weight"])
        elif op in ACTS:
            y = ACTS[op](xs[0])
        elif op == "softmax":
            y = softmax(xs[0], ch_axis)
        elif op in ("identity", "dropout", "drop_path"):
            y = xs[0]
        elif op in ("maxpool", "avgpool"):
            cip = getattr(a, "count_include_pad", True)
            y = pool2d(xs[0], a.k, a.s, a.p, (t.h, t.w), op[:3], cip)
        elif op == "blurpool":
            y = blurpool(xs[0], a.filt, a.s)
        elif op == "upsample":
            y = upsample(xs[0], a.scale, a.mode)
        elif op == "gap":
            y = xs[0].mean(axis=(2, 3), keepdims=True)
        elif op == "flatten":
            y = xs[0].reshape(xs[0].shape[0], -1)
        elif op == "concat":
            y = np.concatenate(xs, axis=ch_axis)
        elif op == "add":
            y = sum(xs[1:], xs[0])
        elif op == "mul":
            y = xs[0]
            for other in xs[1:]:
                y = y * other
        elif op == "shuffle":
            b, c, h, wd = xs[0].shape
            g = a.groups
            y = xs[0].reshape(b, g, c // g, h, wd).transpose(0, 2, 1, 3, 4).reshape(b, c, h, wd)
        elif op == "slice":
            y = xs[0][:, a.start : a.stop]
        elif op == "unfold":
            y = unfold(xs[0], a.p)
        elif op == "fold":
            y = fold(xs[0], a.p, a.h)
        elif op == "mhsa":
            y = mhsa(xs[0], w, i, a.heads, a.bias, a.scale)
        else:
            raise NotImplementedError(op)
        assert y.shape[1:] == t.shape, (i, y.shape, t.shape)
        env[i] = y
    return env[graph.output]


def random_weights(graph, seed=0):
    """Seeded weights with non-trivial norm statistics (so folding is really exercised) that keep the
    activations of every spec of the zoo O(1): conv and linear weights U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    (PyTorch's default distribution: the fresh timm-like initialisation with fresh running statistics
    grows MobileOne's eval-mode activations to 1e7), running mean N(0, 0.1), running variance
    U(0.8, 1.2), norm scales U(0.5, 1.5), norm shifts and biases N(0, 0.05)."""
    import zlib

    from archdsl.weights import init_weights, tensor_specs

    w = init_weights(graph, seed)
    for t in tensor_specs(graph):
        if t.spec.init in ("conv", "linear"):
            gen = np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF, zlib.crc32(t.name.encode())])
            bound = 1 / math.sqrt(math.prod(t.shape[1:]))
            w[t.name] = gen.uniform(-bound, bound, t.shape).astype(np.float32)
    rng = np.random.default_rng(seed + 1000)
    for k in sorted(w):
        n = w[k].shape
        vector = w[k].ndim == 1 and ".qkv." not in k and ".proj." not in k
        if k.endswith(".running_mean"):
            w[k] = rng.normal(0, 0.1, n).astype(np.float32)
        elif k.endswith(".running_var"):
            w[k] = rng.uniform(0.8, 1.2, n).astype(np.float32)
        elif k.endswith(".weight") and vector:
            w[k] = rng.uniform(0.5, 1.5, n).astype(np.float32)
        elif k.endswith(".bias") and vector:
            w[k] = (w[k] + rng.normal(0, 0.05, n)).astype(np.float32)
    return w


# -- the reference checked against PyTorch itself (where torch is installed) ----------------------


def _torch():
    import pytest

    return pytest.importorskip("torch")


def test_reference_conv_pool_upsample_match_torch():
    torch = _torch()
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    for h in (7, 8, 11):
        x = rng.standard_normal((2, 4, h, h))
        tx = torch.from_numpy(x)
        for k, s, p, d, g in ((3, 1, 1, 1, 1), (3, 2, 1, 1, 4), (1, 2, 0, 1, 2), (5, 1, 4, 2, 1), (2, 2, 0, 1, 1)):
            w = rng.standard_normal((6 if g != 4 else 8, 4 // g, k, k))
            b = rng.standard_normal(w.shape[0])
            want = F.conv2d(tx, torch.from_numpy(w), torch.from_numpy(b), s, p, d, g).numpy()
            np.testing.assert_allclose(conv2d(x, w, b, s, p, d, g), want, atol=1e-10)
        for k, s, p in ((3, 2, 0), (3, 2, 1), (2, 2, 1), (3, 3, 1), (2, 1, 1)):
            for ceil in (False, True):
                want = F.max_pool2d(tx, k, s, p, ceil_mode=ceil).numpy()
                np.testing.assert_array_equal(pool2d(x, k, s, p, want.shape[2:], "max"), want)
                for cip in (False, True):
                    want = F.avg_pool2d(tx, k, s, p, ceil_mode=ceil, count_include_pad=cip).numpy()
                    np.testing.assert_allclose(pool2d(x, k, s, p, want.shape[2:], "avg", cip), want, atol=1e-12)
        for scale in (2, 3):
            for mode in ("nearest", "bilinear"):
                kw = {"align_corners": False} if mode == "bilinear" else {}
                want = F.interpolate(tx, scale_factor=scale, mode=mode, **kw).numpy()
                np.testing.assert_allclose(upsample(x, scale, mode), want, atol=1e-12)


def test_reference_norms_activations_attention_match_torch():
    torch = _torch()
    F = torch.nn.functional
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 8)) * 4
    tx = torch.from_numpy(x)
    for name, fn in (("gelu", F.gelu), ("hardswish", F.hardswish), ("hardsigmoid", F.hardsigmoid), ("silu", F.silu)):
        np.testing.assert_allclose(ACTS[name](x), fn(tx).numpy(), atol=1e-12, err_msg=name)
    w, b = rng.standard_normal(8), rng.standard_normal(8)
    want = F.layer_norm(tx, (8,), torch.from_numpy(w), torch.from_numpy(b), 1e-5).numpy()
    np.testing.assert_allclose(layernorm(x, w, b, 1e-5, -1), want, atol=1e-10)
    c, heads = 8, 2
    wts = {
        "a.qkv.weight": rng.standard_normal((3 * c, c)),
        "a.qkv.bias": rng.standard_normal(3 * c),
        "a.proj.weight": rng.standard_normal((c, c)),
        "a.proj.bias": rng.standard_normal(c),
    }
    t = tx.reshape(6, 5, c)
    qkv = F.linear(t, torch.from_numpy(wts["a.qkv.weight"]), torch.from_numpy(wts["a.qkv.bias"]))
    q, k, v = qkv.reshape(6, 5, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    o = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(6, 5, c)
    want = F.linear(o, torch.from_numpy(wts["a.proj.weight"]), torch.from_numpy(wts["a.proj.bias"]))
    np.testing.assert_allclose(mhsa(x, wts, "a", heads, True), want.reshape(2, 3, 5, c).numpy(), atol=1e-9)


def test_reference_unfold_fold_and_blur():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4, 6))
    t = unfold(x, 2)
    assert t.shape == (2, 4, 6, 3)
    # patch position (ph, pw) of patch (i, j) is pixel (2i + ph, 2j + pw), for every channel
    assert t[1, 1 * 2 + 0, 1 * 3 + 2, 2] == x[1, 2, 2 * 1 + 1, 2 * 2 + 0]
    np.testing.assert_array_equal(fold(t, 2, 4), x)
    np.testing.assert_allclose(binomial(3), np.outer([1, 2, 1], [1, 2, 1]) / 16)
    np.testing.assert_allclose(binomial(4), np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64)
    const = np.ones((1, 2, 6, 6))
    np.testing.assert_allclose(blurpool(const, 4, 2), np.ones((1, 2, 3, 3)))

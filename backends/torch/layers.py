"""The layers the IR needs beyond ``torch.nn``: blur pool, LayerNorm2d, per-channel scale, attention,
drop path, a convolution with asymmetric or TF-style "same" padding, the tensor functions of channel
shuffle and MobileViT's unfold/fold, and two faster forms of stock layers (a 1×1 conv without
PyTorch's slow paths, a batch norm that works in place at inference).

Each definition here follows docs/ir.md exactly. They are written to stand alone (they import
only ``math`` and ``torch``) because :mod:`codegen` copies their source verbatim into the
standalone Python file that ``archdsl compile --emit python`` writes: the compiled module and the
generated file then run the very same code, which is what makes their outputs bit-identical.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle: [B, C, H, W] → interleave the channels of ``groups`` groups."""
    b, c, h, w = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
    return x.reshape(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


def unfold_patches(x: torch.Tensor, patch: int) -> torch.Tensor:
    """MobileViT's unfolding (as timm's MobileVitBlock): [B, C, H, W] → tokens [B, patch², N, C]."""
    b, c, h, w = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
    nh, nw = h // patch, w // patch
    x = x.reshape(b * c * nh, patch, nw, patch).transpose(1, 2)
    return x.reshape(b, c, nh * nw, patch * patch).transpose(1, 3)


def fold_patches(x: torch.Tensor, patch: int, height: int) -> torch.Tensor:
    """The inverse of :func:`unfold_patches`: tokens [B, patch², N, C] → [B, C, height, N·patch²/height]."""
    b, n, c = x.shape[0], x.shape[2], x.shape[3]
    nh = height // patch
    nw = n // nh
    x = x.transpose(1, 3).reshape(b * c * nh, nw, patch, patch)
    return x.transpose(1, 2).reshape(b, c, nh * patch, nw * patch)


class PointwiseConv2d(nn.Conv2d):
    """A 1×1 convolution (same weights and ``state_dict`` as ``nn.Conv2d``) that avoids two slow or
    broken paths of PyTorch on CPU.

    - Strided: the input is subsampled first (``x[:, :, ::s, ::s]``, exactly what a 1×1 conv with
      stride s and no padding reads), then convolved at stride 1: the strided 1×1 backward in
      channels_last memory crashes PyTorch 2.13-2.14 on large maps.
    - Depthwise (groups = channels): computed as what it is, a per-channel multiply (and bias);
      PyTorch runs it on one thread at small batch as a loop over groups (``_slow_conv2d_forward``).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != (1, 1):
            x = x[:, :, :: self.stride[0], :: self.stride[1]]
        if self.groups > 1 and self.groups == self.in_channels == self.out_channels:
            x = x * self.weight.view(1, -1, 1, 1)
            if self.bias is not None:
                x = x + self.bias.view(1, -1, 1, 1)
            return x
        return F.conv2d(x, self.weight, self.bias, groups=self.groups)


class PaddedConv2d(nn.Conv2d):
    """``nn.Conv2d`` (same weights and ``state_dict``) after a zero padding it cannot express:
    ``pad = (left, right, top, bottom)`` (F.pad's order) with different sides, or ``pad = "same"``,
    TensorFlow's padding as timm's ``Conv2dSame`` computes it: from each input's size, so that the
    output is ``ceil(size / stride)``, the odd row or column at the bottom or right."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, pad="same", **kwargs) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=0, **kwargs)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.pad
        if pad == "same":
            pad = []
            axes = zip(x.shape[2:], self.kernel_size, self.stride, self.dilation, strict=True)
            for size, k, s, d in reversed(list(axes)):
                total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
                pad += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pad), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", pad={self.pad!r}"


class BlurPool2d(nn.Module):
    """Anti-aliased downsampling (Zhang 2019): binomial low-pass filter, reflect padding, strided.

    The filter is the outer product of the binomial row of length ``filt`` normalised to sum 1; it
    is a fixed, non-persistent buffer (not a weight). Padding ((filt-1)//2, ceil((filt-1)/2)) on
    left/right and top/bottom.

    For ``filt = 3`` (the default) the padded copy of the input is never made: the depthwise conv
    runs with zero padding, then the border rows and columns get the terms the reflected rows and
    columns would have added. On a large map that saves a full copy of the input (at 224² and 32
    channels 6.4 MB), which at batch 1 costs more than the convolution itself.
    """

    def __init__(self, channels: int, filt: int = 3, stride: int = 2) -> None:
        super().__init__()
        self.channels = channels
        self.stride = stride
        lo, hi = (filt - 1) // 2, -(-(filt - 1) // 2)
        self.padding = (lo, hi, lo, hi)
        row = torch.tensor([math.comb(filt - 1, i) for i in range(filt)], dtype=torch.float32)
        row = row / row.sum()
        # 2-d and 3-d buffers keep their layout under model.to(memory_format=...)
        self.register_buffer("taps", row.expand(channels, filt).contiguous(), persistent=False)
        kernel = (row[:, None] * row[None, :]).expand(channels, filt, filt).contiguous()
        self.register_buffer("filt", kernel, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.filt.shape[-1] != 3:
            x = F.pad(x, self.padding, mode="reflect")
            return F.conv2d(x, self.filt.unsqueeze(1), stride=self.stride, groups=self.channels)
        c, s = self.channels, self.stride
        y = F.conv2d(x, self.filt.unsqueeze(1), stride=s, padding=1, groups=c)
        across = self.taps.view(c, 1, 1, 3)  # blur along a row
        down = self.taps.view(c, 1, 3, 1)  # blur along a column
        edge = self.taps[:, :1].view(1, c, 1, 1)  # weight of the reflected row/column: taps[0] = taps[2]
        h, w = x.shape[2], x.shape[3]
        # is the reflected row below the map (column right of it) read? iff (size - 1) % s == 0
        below = 1 if s == 1 else (s - 1 - (h - 1) % s) // (s - 1)
        right = 1 if s == 1 else (s - 1 - (w - 1) % s) // (s - 1)
        # reflected rows (row -1 = row 1, row h = row h-2), blurred along the row with reflection
        top = F.conv2d(F.pad(x[:, :, 1:2], (1, 1, 0, 0), mode="reflect"), across, stride=(1, s), groups=c)
        bottom = F.conv2d(F.pad(x[:, :, h - 2 : h - 1], (1, 1, 0, 0), mode="reflect"), across, stride=(1, s), groups=c)
        # reflected columns, blurred down the column over the real rows only (corners are counted above)
        left = F.conv2d(x[:, :, :, 1:2], down, stride=(s, 1), padding=(1, 0), groups=c)
        rightcol = F.conv2d(x[:, :, :, w - 2 : w - 1], down, stride=(s, 1), padding=(1, 0), groups=c)
        # in place on views of the fresh output (narrow + add_ also trace with torch.fx)
        oh, ow = y.shape[2], y.shape[3]
        y.narrow(2, 0, 1).add_(edge * top)
        y.narrow(2, oh - 1, 1).add_(edge * bottom * below)
        y.narrow(3, 0, 1).add_(edge * left)
        y.narrow(3, ow - 1, 1).add_(edge * rightcol * right)
        return y

    def extra_repr(self) -> str:
        return f"{self.channels}, filt={self.filt.shape[-1]}, stride={self.stride}"


class InplaceBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` that, at inference (eval mode, no autograd), scales its input in place.

    Used only where the input is a fresh tensor nothing else reads (a conv's output) and a large one:
    on CPU at batch 1 a new multi-megabyte output costs more in page faults than the arithmetic.
    Training, and eval with autograd on, take the ordinary path.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or torch.is_grad_enabled():
            return super().forward(x)
        if self.weight is None:  # affine=False: weight 1, bias 0
            scale = torch.rsqrt(self.running_var + self.eps)
            shift = -self.running_mean * scale
        else:
            scale = self.weight * torch.rsqrt(self.running_var + self.eps)
            shift = self.bias - self.running_mean * scale
        return x.mul_(scale.view(1, -1, 1, 1)).add_(shift.view(1, -1, 1, 1))


class DropPath(nn.Module):
    """Stochastic depth (timm's ``DropPath``): in training, each sample's tensor is zeroed with
    probability ``p`` and the others are scaled by ``1/(1-p)``; the identity in eval."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask.div_(keep)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a [B, C, H, W] map, per pixel (timm's LayerNorm2d)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Scale(nn.Module):
    """A learnable per-channel multiplier, initialised to ``init`` (channels: dim 1 of a map, else last)."""

    def __init__(self, channels: int, init: float = 1.0, spatial: bool = True) -> None:
        super().__init__()
        self.init = init
        self.spatial = spatial
        self.weight = nn.Parameter(torch.full((channels,), float(init)))

    def reset_parameters(self) -> None:
        nn.init.constant_(self.weight, self.init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.spatial:
            return x * self.weight.view(1, -1, 1, 1)
        return x * self.weight

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, init={self.init}"


class Attention(nn.Module):
    """timm's ``Attention`` applied to each of the P token sets of a [B, P, N, C] tensor.

    ``scale`` multiplies the attention scores (``None``: ``1/sqrt(C/heads)``, timm's).
    """

    def __init__(self, dim: int, heads: int = 1, bias: bool = True, scale: float | None = None) -> None:
        super().__init__()
        self.heads = heads
        self.scale = scale
        self.qkv = nn.Linear(dim, dim * 3, bias=bias)
        self.proj = nn.Linear(dim, dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, p, n, c = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
        qkv = self.qkv(x).reshape(b * p, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        x = x.transpose(1, 2).reshape(b, p, n, c)
        return self.proj(x)

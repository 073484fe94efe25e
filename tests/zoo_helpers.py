"""The spec zoo's reference data and the timm weight transplant used by the parity tests.

``ZOO`` lists each baseline spec under ``specs/baselines/`` with the timm model it reproduces and
the figures recorded from timm 1.0.31 (torch 2.14.1, torchinfo 1.8.0, random init, CPU): parameter
counts and torchinfo's mult-adds at the model's input size. Those are facts about timm, measured
once with ``scripts/setup_timm_env.sh``'s environment and kept here so that the count tests run
without timm (tests/test_zoo_counts.py); tests/test_zoo_parity.py re-measures them when timm is
installed.

:func:`transplant` copies a timm model's weights into a module compiled from the spec: it pairs
timm's ``state_dict`` entries (parameters and BN running statistics) with ours in order, and
fails loudly, naming both sides, unless every pair has the same shape and the same tensor kind
(``weight``, ``bias``, ``running_mean`` ...). The order is the module registration order on both
sides; where timm registers a block's branches in another order than the spec writes them
(MobileOne: timm puts the BN identity branch first), a ``reorder`` function says so explicitly.

This module imports neither torch nor timm at import time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ROOT / "specs" / "baselines"
TIMM_VERSION = "1.0.31"


@dataclass(frozen=True)
class ZooModel:
    """One baseline spec and what timm 1.0.31 says about the model it reproduces."""

    spec: str  # file name under specs/baselines/
    timm_name: str
    size: int  # input height and width
    params: int  # timm: sum of parameter numels
    torchinfo_macs: int  # torchinfo.summary(model, (1, 3, size, size)).total_mult_adds
    reparam_params: int | None = None  # after timm.utils.reparameterize_model
    reorder: str | None = None  # name of a function of this module that reorders timm's state

    @property
    def path(self) -> Path:
        return BASELINES / self.spec


ZOO: dict[str, ZooModel] = {
    m.timm_name: m
    for m in (
        ZooModel("mobilenetv3_large_100.arch", "mobilenetv3_large_100", 224, 5_483_032, 216_597_120),
        ZooModel("fbnetc_100.arch", "fbnetc_100", 224, 5_572_200, 384_961_160),
        ZooModel(
            "mobileone_s1.arch",
            "mobileone_s1",
            224,
            4_825_192,
            830_063_080,
            reparam_params=4_764_840,
            reorder="mobileone_order",
        ),
        ZooModel("mobilevit_xs.arch", "mobilevit_xs", 256, 2_317_848, 612_301_032),
        ZooModel("resnet18.arch", "resnet18", 224, 11_689_512, 1_814_083_944),
    )
}

# OFA-62 (once-for-all model zoo, pixel2_lat@62ms_top1@75.8_finetune@25): published figures only.
OFA62_PARAMS = 5_800_000
OFA62_MACS = 208_000_000


# ---- MACs under torchinfo's convention ----------------------------------------------------------


def torchinfo_convention_macs(graph: Any) -> int:
    """The graph's MACs counted the way torchinfo 1.8 counts timm's modules.

    torchinfo counts, for each leaf module with parameters, a convolution's parameters times its
    output positions, and any other layer's (Linear, LayerNorm, BatchNorm) parameters times the
    leading (batch) dimension of its output. archdsl counts the same for convolutions and BN, but
    a linear layer once per row (per token). The two differ only on token tensors: timm's
    MobileViT feeds its transformer a ``[B * P, N, C]`` tensor (P = patch area), so torchinfo counts
    each transformer linear, attention projection and LayerNorm P times per image (not P * N), and
    never the attention products (``F.scaled_dot_product_attention`` is not a module). Here the
    token ops (``linear``, ``mhsa``, ``layernorm`` on ``tokens``) are counted that way; every other
    node keeps archdsl's count. One difference remains: torchinfo skips timm's ``BatchNormAct2d``
    (not a leaf module), archdsl counts every BN as 2 * C; under 0.02% on these models.
    """
    total = 0
    for node in graph.nodes:
        t = graph.type_of(node.inputs[0]) if node.inputs else None
        if t is not None and t.layout == "tokens" and node.op in ("linear", "mhsa", "layernorm"):
            total += node.params * t.shape[0]
        else:
            total += node.macs
    return total


# ---- weight transplant --------------------------------------------------------------------------


class TransplantError(AssertionError):
    """timm's tensors and ours do not pair up; the message names both sides."""


_MOBILEONE_BRANCH = re.compile(r"^(?P<block>.*?)\.(?P<branch>conv_kxk|conv_scale|identity)\.")
_MOBILEONE_RANK = {"conv_kxk": 0, "conv_scale": 1, "identity": 2}


def mobileone_order(items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """timm's MobileOneBlock registers identity (BN), conv_kxk, conv_scale; the std ``mobileone``
    block writes kxk, scale, identity. Reorder each block's entries to the spec's order."""
    out: list[tuple[str, Any]] = []
    run: list[tuple[int, int, tuple[str, Any]]] = []
    run_block: str | None = None

    def flush() -> None:
        out.extend(item for _, _, item in sorted(run, key=lambda r: (r[0], r[1])))
        run.clear()

    for i, (name, value) in enumerate(items):
        m = _MOBILEONE_BRANCH.match(name)
        block = m.group("block") if m else None
        if block != run_block:
            flush()
            run_block = block
        rank = _MOBILEONE_RANK[m.group("branch")] if m else 0
        run.append((rank, i, (name, value)))
    flush()
    return out


REORDERS: dict[str, Callable[[list[tuple[str, Any]]], list[tuple[str, Any]]]] = {
    "mobileone_order": mobileone_order,
}


def _kind(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _describe(items: list[tuple[str, Any]], i: int) -> str:
    if i >= len(items):
        return "(nothing: the list ends here)"
    name, t = items[i]
    return f"{name} {tuple(t.shape)}"


def transplant(
    timm_model: Any,
    ours: Any,
    reorder: Callable[[list[tuple[str, Any]]], list[tuple[str, Any]]] | None = None,
) -> list[tuple[str, str]]:
    """Load ``timm_model``'s weights and BN statistics into ``ours`` by order and shape.

    Returns the (timm name, our name) pairs. Raises :class:`TransplantError` at the first pair
    whose shapes or tensor kinds differ, or when the two have different numbers of tensors.
    """
    src = list(timm_model.state_dict().items())
    if reorder is not None:
        src = reorder(src)
    dst = list(ours.state_dict().items())
    for i in range(max(len(src), len(dst))):
        if i >= len(src) or i >= len(dst):
            raise TransplantError(
                f"timm has {len(src)} tensors, the compiled spec {len(dst)}; first unpaired at #{i}: "
                f"timm {_describe(src, i)} / ours {_describe(dst, i)}"
            )
        (sk, sv), (dk, dv) = src[i], dst[i]
        if tuple(sv.shape) != tuple(dv.shape) or _kind(sk) != _kind(dk):
            context = "\n".join(
                f"  #{j}: timm {_describe(src, j)}  |  ours {_describe(dst, j)}"
                for j in range(max(0, i - 3), min(max(len(src), len(dst)), i + 4))
            )
            raise TransplantError(f"tensor #{i} does not pair up: timm {sk} vs ours {dk}\n{context}")
    state = {dk: sv.detach().clone() for (dk, _), (_, sv) in zip(dst, src, strict=True)}
    ours.load_state_dict(state, strict=True)
    return [(sk, dk) for (sk, _), (dk, _) in zip(src, dst, strict=True)]


def randomize_norm_stats(model: Any, seed: int = 0) -> None:
    """Give every BatchNorm and LayerNorm non-trivial statistics and affine parameters, so that a
    transplant that swapped or dropped any of them shows in the outputs (fresh BN stats are 0 / 1)."""
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                c = mod.num_features
                mod.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                mod.weight.copy_(torch.rand(c, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(c, generator=g) * 0.1)
            elif isinstance(mod, nn.LayerNorm) and mod.elementwise_affine:
                mod.weight.copy_(torch.rand(mod.weight.shape, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.1)


def max_rel_diff(a: Any, b: Any) -> float:
    """max |a - b| relative to the scale of b (its largest magnitude)."""
    scale = float(b.abs().max())
    return float((a - b).abs().max()) / max(scale, 1e-12)


def param_count(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def compare_outputs(timm_model: Any, ours: Any, size: int, batch: int = 2, seed: int = 0) -> float:
    """Eval-mode outputs of both on the same random inputs; returns :func:`max_rel_diff`."""
    import torch

    timm_model.eval()
    ours.eval()
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        want = timm_model(x)
        got = ours(x)
    if tuple(got.shape) != tuple(want.shape):
        raise AssertionError(f"output shapes differ: ours {tuple(got.shape)}, timm {tuple(want.shape)}")
    return max_rel_diff(got, want)

r"""synflow: the synaptic flow of the untrained net (a zero-cost proxy, data-free).

Tanaka, Kunin, Yamins, Ganguli, "Pruning neural networks without any data by iteratively
conserving synaptic flow", NeurIPS 2020 (arXiv:2006.05467), section 6 (Eq. 2 and Algorithm 1):
with every parameter replaced by its absolute value and an all-ones input, the objective is

.. math::  \mathcal{R}_{SF} = \mathbb{1}^\top \Big(\prod_{l} |\theta^{[l]}|\Big) \mathbb{1}

(the sum of the net's output), and each parameter's score is
:math:`S_{SF}(\theta) = \frac{\partial \mathcal{R}_{SF}}{\partial \theta} \odot \theta`.
Used as a whole-net proxy (Abdelfattah, Mehrotra, Dudziak, Lane, "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021, section 3 and its code ``foresight/pruners/measures/synflow.py``) the
score is the sum of :math:`|S_{SF}|` over the weights of the convolutions and linear layers, in
double precision; batch norm is *removed* (``bn=False`` in that code: each batch norm becomes the
identity), the net is in eval mode. This module returns the natural logarithm of that sum (the
sum spans hundreds of orders of magnitude across nets; the logarithm keeps every ranking); higher
is better. A sum of zero (no path carries flow) gives ``-inf``.

Cost: one forward and backward of a single input in float64 at ``resolution`` (default 32; the
net is re-resolved at that size when larger, :func:`.common.at_resolution`). Deterministic: no
data, and the weights are the seeded initialisation.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field

from archdsl.ir import Graph

from . import common
from .options import EvaluatorOptions, parse_options


class SynflowOptions(EvaluatorOptions):
    evaluator: ClassVar[str] = "synflow"

    resolution: int | Literal["native"] = Field(
        32, description="square input size the net is re-resolved at (not above its own); 'native': as it is"
    )
    max_memory_mb: float = Field(2048.0, gt=0, description="refuse nets whose activations need more (MiB)")
    threads: int | None = Field(1, ge=1, le=256, description="torch intra-op threads (None: torch's default)")


def remove_batch_norm(torch: Any, module: Any) -> None:
    """Replace every batch norm of ``module`` (a torch.fx GraphModule or any module) by the identity."""
    norms = [name for name, m in module.named_modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for name in norms:
        parent, _, leaf = name.rpartition(".")
        holder = module.get_submodule(parent) if parent else module
        setattr(holder, leaf, torch.nn.Identity())


def synflow_sum(torch: Any, module: Any, shape: tuple[int, ...]) -> float:
    """:math:`\\sum |\\theta \\odot \\partial R/\\partial \\theta|` over conv and linear weights of
    ``module`` (modified in place: float64, |θ|, batch norms removed)."""
    remove_batch_norm(torch, module)
    module.double().eval()
    with torch.no_grad():
        for p in module.parameters():
            p.abs_()
    module.zero_grad(set_to_none=True)
    x = torch.ones((1, *shape), dtype=torch.float64)
    with torch.enable_grad():
        torch.sum(module(x)).backward()
    total = 0.0
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.Conv2d | torch.nn.Linear) and m.weight.grad is not None:
                total += float(torch.sum(torch.abs(m.weight * m.weight.grad)))
    return total


class Synflow:
    name = "synflow"
    kind = "proxy"
    needs_torch = True
    higher_is_better = True
    description = "zero-cost proxy: ln of the synaptic flow sum(|θ ⊙ ∂R/∂θ|) at init (Tanaka et al. 2020)"
    options_model = SynflowOptions

    def evaluate(self, graph: Graph, *, seed: int = 0, options: dict[str, Any] | None = None) -> float:
        opts: SynflowOptions = parse_options(SynflowOptions, options)
        torch = common.torch_or_error(self.name)
        resolution = None if opts.resolution == "native" else opts.resolution
        g = common.at_resolution(graph, resolution, self.name)
        need = 2 * common.activation_bytes(g, 1, 8) + 3 * 8 * common.param_count(g)
        common.check_budget(g, self.name, need, opts.max_memory_mb, "its float64 activations and gradients")
        with common.deterministic(seed, threads=opts.threads):
            module = common.build(g, seed, self.name)
            total = synflow_sum(torch, module, tuple(g.inputs[0].type.shape))
        if math.isinf(total):
            raise common.fail(
                "B507",
                f"the synflow sum of net '{graph.name}' overflows double precision",
                "evaluate at a smaller resolution, or use another proxy",
            )
        score = math.log(total) if total > 0 else -math.inf
        return common.finite_or_error(score, graph, self.name)


SYNFLOW = Synflow()

__all__ = ["SYNFLOW", "Synflow", "SynflowOptions", "remove_batch_norm", "synflow_sum"]

r"""ZiCo: the inverse coefficient of variation of the gradients at initialisation (a zero-cost proxy).

Li, Yang, Bhardwaj, Marculescu, "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on
Gradients", ICLR 2023 (arXiv:2301.11300): the proxy's definition (its section 3, "ZiCo") is

.. math::  \mathrm{ZiCo} = \sum_{l} \log \Big( \sum_{\omega \in \theta_l}
           \frac{\mathbb{E}[|\nabla_\omega L|]}{\sqrt{\mathrm{Var}(\nabla_\omega L)}} \Big)

over the layers l of the net, the expectation and variance taken over the gradients of the
training loss on different minibatches. As in the authors' code (SLDGroup/ZiCo,
``compute_zico.py``): ``batches`` minibatches (default 2) each give the gradient of the mean
cross-entropy loss for every weight of every convolution and linear layer (the net in training
mode); per weight, the mean of |g| over the minibatches is divided by the standard deviation of g
(population, ``np.std``), weights with zero deviation are left out, and a layer whose sum is zero
adds nothing. Higher is better.

Data: the paper uses real images and labels. ``data="synthetic"`` (the default, data-free) uses
standard-normal inputs from the seed and labels drawn uniformly from the seed over the net's
outputs; ``data="digits"`` or a folder uses a seeded sample of real images and their labels (the
net's outputs must cover the classes). Cost: ``batches`` forwards and backwards of ``batch``
(default 16) inputs at ``resolution`` (default 32).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field

from archdsl.ir import Graph

from . import common
from .options import EvaluatorOptions, parse_options


class ZicoOptions(EvaluatorOptions):
    evaluator: ClassVar[str] = "zico"

    batches: int = Field(2, ge=2, le=64, description="minibatches the gradient statistics are taken over")
    batch: int = Field(16, ge=1, le=1024, description="inputs per minibatch")
    resolution: int | Literal["native"] = Field(
        32, description="square input size the net is re-resolved at (not above its own); 'native': as it is"
    )
    data: str = Field(
        "synthetic", description="'synthetic' (noise and random labels from the seed), 'digits', or a folder"
    )
    max_memory_mb: float = Field(2048.0, gt=0, description="refuse nets whose activations need more (MiB)")
    threads: int | None = Field(1, ge=1, le=256, description="torch intra-op threads (None: torch's default)")


def zico_score(grads: dict[str, list[Any]]) -> float:
    """ZiCo from each layer's flattened weight gradients, one numpy array per minibatch."""
    import numpy as np

    total = 0.0
    for per_batch in grads.values():
        g = np.stack(per_batch).astype(np.float64)
        std = g.std(axis=0)
        keep = std != 0
        ratio = np.abs(g).mean(axis=0)[keep] / std[keep]
        s = float(ratio.sum())
        if s != 0:
            total += math.log(s)
    return total


def layer_gradients(torch: Any, module: Any, batches: list[tuple[Any, Any]]) -> dict[str, list[Any]]:
    """Per conv/linear layer, the gradient of the mean cross-entropy on each minibatch (numpy)."""
    layers = [(n, m) for n, m in module.named_modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    grads: dict[str, list[Any]] = {n: [] for n, _ in layers}
    module.train()
    for x, y in batches:
        module.zero_grad(set_to_none=True)
        with torch.enable_grad():
            torch.nn.functional.cross_entropy(module(x), y).backward()
        for n, m in layers:
            if m.weight.grad is not None:
                grads[n].append(m.weight.grad.detach().reshape(-1).double().numpy().copy())
    return {n: g for n, g in grads.items() if len(g) == len(batches)}


class Zico:
    name = "zico"
    kind = "proxy"
    needs_torch = True
    higher_is_better = True
    description = "zero-cost proxy: Σ_l log Σ mean|∇|/std(∇) over minibatches at init (Li et al. 2023)"
    options_model = ZicoOptions

    def evaluate(self, graph: Graph, *, seed: int = 0, options: dict[str, Any] | None = None) -> float:
        opts: ZicoOptions = parse_options(ZicoOptions, options)
        torch = common.torch_or_error(self.name)
        import numpy as np

        resolution = None if opts.resolution == "native" else opts.resolution
        g = common.at_resolution(graph, resolution, self.name)
        from .train import classes_out

        logits = classes_out(g, self.name)
        need = 3 * common.activation_bytes(g, opts.batch) + 8 * common.param_count(g)
        common.check_budget(g, self.name, need, opts.max_memory_mb, "its activations and gradients")
        shape = tuple(g.inputs[0].type.shape)
        rng = np.random.default_rng(seed)
        batches = []
        if opts.data == "synthetic":
            for i in range(opts.batches):
                x = common.synthetic_batch((opts.batch, *shape), seed + 7919 * i)
                batches.append((x, torch.from_numpy(rng.integers(0, logits, opts.batch))))
        else:
            from .data import load_dataset, normalise

            ds = load_dataset(opts.data, (shape[0], shape[1], shape[2]), opts.max_memory_mb)
            if logits < len(ds.classes):
                raise common.fail(
                    "B507",
                    f"net '{graph.name}' has {logits} outputs, fewer than the {len(ds.classes)} classes of {ds.source}",
                    f"set the net's classes parameter, e.g. -p classes={len(ds.classes)}",
                )
            order = rng.permutation(len(ds.labels))
            for i in range(opts.batches):
                idx = np.sort(order[(i * opts.batch) % len(order) :][: opts.batch])
                batches.append((normalise(torch, ds.images[idx]), torch.from_numpy(ds.labels[idx])))
        with common.deterministic(seed, threads=opts.threads):
            module = common.build(g, seed, self.name)
            grads = layer_gradients(torch, module, batches)
        return common.finite_or_error(zico_score(grads), graph, self.name)


ZICO = Zico()

__all__ = ["ZICO", "Zico", "ZicoOptions", "layer_gradients", "zico_score"]

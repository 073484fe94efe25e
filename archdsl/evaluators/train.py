"""train: the held-out top-1 accuracy after a short training run (an accuracy estimate, not a proxy).

N steps of SGD (momentum 0.9, Nesterov) or AdamW, with a cosine learning-rate decay, on the images
of ``data`` (scikit-learn's digits by default, or an image folder: :mod:`.data` documents the
layout), resized to the net's input at ``resolution`` (default 32: the net is re-resolved from its
spec at 32×32 when it is larger). The score is the top-1 accuracy (a fraction in [0, 1]) on a
seeded, stratified held-out split (``holdout``, default 20% of each class) that training never
sees; higher is better. It is an estimate of the net's *trainability at this budget*, far short of
a full training run: label it as such.

The net's output must be a vector of at least as many logits as the dataset has classes (the net's
``classes`` parameter, say ``-p classes=10`` for digits). Runs on the CPU, or on CUDA when present
(``device="auto"``); on the CPU it is deterministic for a seed (seeded torch, deterministic
algorithms, minibatches drawn by numpy's PCG64). Refused before anything is allocated when the
training step would need more than ``max_memory_mb`` (``B505``); a loss that becomes NaN is
``B507``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field

from archdsl.ir import Graph

from . import common
from .options import EvaluatorOptions, parse_options


class TrainOptions(EvaluatorOptions):
    evaluator: ClassVar[str] = "train"

    data: str = Field("digits", description="'digits' (scikit-learn's, no download) or an image folder DIR/<class>/")
    steps: int = Field(300, ge=1, le=1_000_000, description="optimiser steps")
    batch: int = Field(64, ge=1, le=4096, description="images per step")
    optimizer: Literal["sgd", "adamw"] = Field("adamw", description="SGD (momentum 0.9, Nesterov) or AdamW")
    lr: float | None = Field(None, gt=0, le=10, description="peak learning rate (default: sgd 0.05, adamw 0.002)")
    weight_decay: float | None = Field(None, ge=0, le=1, description="default: sgd 5e-4, adamw 0.05")
    holdout: float = Field(0.2, gt=0, lt=1, description="share of each class held out for the accuracy")
    resolution: int | Literal["native"] = Field(
        32, description="square input size the net is re-resolved at (not above its own); 'native': as it is"
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when present, else the CPU")
    max_memory_mb: float = Field(2048.0, gt=0, description="refuse nets whose training step needs more (MiB)")
    threads: int | None = Field(1, ge=1, le=256, description="torch intra-op threads (None: torch's default)")


def classes_out(graph: Graph, evaluator: str = "train") -> int:
    """The number of logits of a net whose output is a vector (``B507`` for any other net)."""
    out = next((n.out for n in graph.nodes if n.id == graph.output), None)
    if out is None or out.layout != "vec":
        raise common.fail(
            "B507",
            f"the {evaluator} evaluator needs a net whose output is a vector of logits; "
            f"net '{graph.name}' ends in {out}",
        )
    return out.c


def train_and_score(
    torch: Any, module: Any, split: tuple[Any, ...], opts: TrainOptions, seed: int, device: Any
) -> float:
    """Train ``module`` on the split's training images; its top-1 accuracy on the held-out ones."""
    import numpy as np

    from .data import normalise

    x_train, y_train, x_test, y_test = split
    sgd = opts.optimizer == "sgd"
    lr = opts.lr if opts.lr is not None else (0.05 if sgd else 0.002)
    wd = opts.weight_decay if opts.weight_decay is not None else (5e-4 if sgd else 0.05)
    module.to(device).train()
    params = [p for p in module.parameters() if p.requires_grad]
    if sgd:
        opt = torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=wd)
    else:
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y_train))
    pos = 0
    for step in range(opts.steps):
        for group in opt.param_groups:  # cosine decay from lr to 0
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / opts.steps))
        if pos + opts.batch > len(order):
            order, pos = rng.permutation(len(y_train)), 0
        idx = np.sort(order[pos : pos + opts.batch])
        pos += opts.batch
        x = normalise(torch, x_train[idx]).to(device)
        y = torch.from_numpy(y_train[idx]).to(device)
        loss = torch.nn.functional.cross_entropy(module(x), y)
        if not torch.isfinite(loss):
            raise common.fail(
                "B507",
                f"training diverged (loss {float(loss)} at step {step + 1})",
                "lower the option lr, or use optimizer='sgd'",
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    module.eval()
    correct = 0
    with torch.no_grad():
        for lo in range(0, len(y_test), 256):
            x = normalise(torch, x_test[lo : lo + 256]).to(device)
            pred = module(x).argmax(1).cpu().numpy()
            correct += int((pred == y_test[lo : lo + 256]).sum())
    return correct / len(y_test)


class Train:
    name = "train"
    kind = "accuracy"
    needs_torch = True
    higher_is_better = True
    description = "held-out top-1 after a short training run (default: 300 AdamW steps on scikit-learn's digits)"
    options_model = TrainOptions

    def evaluate(self, graph: Graph, *, seed: int = 0, options: dict[str, Any] | None = None) -> float:
        opts: TrainOptions = parse_options(TrainOptions, options)
        torch = common.torch_or_error(self.name)
        resolution = None if opts.resolution == "native" else opts.resolution
        g = common.at_resolution(graph, resolution, self.name)
        logits = classes_out(g)
        need = 3 * common.activation_bytes(g, opts.batch) + 16 * common.param_count(g)
        common.check_budget(g, self.name, need, opts.max_memory_mb, "its training step's activations and gradients")
        from .data import load_dataset

        ds = load_dataset(opts.data, tuple(g.inputs[0].type.shape), opts.max_memory_mb)
        if logits < len(ds.classes):
            raise common.fail(
                "B507",
                f"net '{graph.name}' has {logits} outputs, fewer than the {len(ds.classes)} classes of {ds.source}",
                f"set the net's classes parameter, e.g. -p classes={len(ds.classes)}",
            )
        if opts.device == "cuda" and not torch.cuda.is_available():
            raise common.fail("B502", "the train evaluator was asked for CUDA, which this machine does not have")
        use_cuda = opts.device == "cuda" or (opts.device == "auto" and torch.cuda.is_available())
        device = torch.device("cuda" if use_cuda else "cpu")
        split = ds.split(opts.holdout, seed)
        with common.deterministic(seed, strict=not use_cuda, threads=opts.threads):
            module = common.build(g, seed, self.name)
            return train_and_score(torch, module, split, opts, seed, device)


TRAIN = Train()

__all__ = ["TRAIN", "Train", "TrainOptions", "classes_out", "train_and_score"]

r"""NASWOT: the log-determinant of the activation-pattern kernel at initialisation (a zero-cost proxy).

Mellor, Turner, Storkey, Crowley, "Neural Architecture Search without Training", ICML 2021
(arXiv:2006.04647), section 3. A minibatch of N inputs goes through the untrained net; at every
rectified-linear unit each input is *active* (pre-activation > 0) or not, and input i gets the
binary code :math:`c_i` of all N_A units. The kernel is

.. math::  (K_H)_{ij} = N_A - d_H(c_i, c_j)

(:math:`d_H` the Hamming distance: the number of units where i and j differ), and the score is
:math:`s = \log |K_H|` (the paper's score; ``slogdet``). Nets that keep different inputs apart in
their activation patterns score higher; higher is better. As in the authors' code
(BayesWatch/nas-without-training) the kernel is a sum over the activation layers of
:math:`c c^\top + (1-c)(1-c)^\top`, computed here in one product per layer as
:math:`2\,c c^\top - r_i - r_j + n` (r the row sums, n the layer's units), and the net runs in
training mode (batch norm with batch statistics; dropout off).

Which units: the paper's nets use ReLU. For the smooth rectifiers of modern nets (``silu``,
``gelu``, ``hardswish``) and for ``relu6`` the code bit is the same gate, *the sign of the
pre-activation* (the unit's input): the side of the kink each input falls on, which is what the
ReLU bit records. Saturating gates and normalisers (``sigmoid``, ``hardsigmoid``, ``tanh``,
``softmax``: squeeze-excitation and attention weights) are not rectifiers and are left out. A net
with none of the included activations cannot be scored (``B507``).

Cost: one forward of ``batch`` inputs (default 32, synthetic standard-normal inputs from the
seed, or a minibatch of a dataset with ``data=``) at ``resolution`` (default 32: the net is
re-resolved from its spec at 32×32 when it is larger, see :func:`.common.at_resolution`), plus an
N×N kernel. A singular kernel (two inputs with the same code) scores ``-inf``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field

from archdsl.ir import Graph

from . import common
from .options import EvaluatorOptions, parse_options

GATED = ("relu", "relu6", "silu", "gelu", "hardswish")
"""The activation ops whose units give code bits (the sign of their input)."""


class NaswotOptions(EvaluatorOptions):
    evaluator: ClassVar[str] = "naswot"

    batch: int = Field(32, ge=2, le=1024, description="inputs in the minibatch (the kernel is batch x batch)")
    resolution: int | Literal["native"] = Field(
        32, description="square input size the net is re-resolved at (not above its own); 'native': as it is"
    )
    data: str = Field("synthetic", description="'synthetic' (normal noise from the seed), 'digits', or a folder")
    max_memory_mb: float = Field(2048.0, gt=0, description="refuse nets whose activations need more (MiB)")
    threads: int | None = Field(1, ge=1, le=256, description="torch intra-op threads (None: torch's default)")


def _kernel(torch: Any, codes: Any) -> Any:
    """The layer's share of K_H for a [N, n] 0/1 tensor: c c^T + (1-c)(1-c)^T, in float64."""
    c = codes.to(torch.float32)
    n = c.shape[1]
    r = c.sum(1, dtype=torch.float64)
    cc = torch.zeros((c.shape[0], c.shape[0]), dtype=torch.float64)
    step = 1 << 22  # float32 products of 0/1 are exact below 2^24 columns
    for lo in range(0, n, step):
        part = c[:, lo : lo + step]
        cc += (part @ part.T).to(torch.float64)
    return 2 * cc - r[:, None] - r[None, :] + n


def naswot_kernel(module: Any, graph: Graph, x: Any) -> tuple[Any, int]:
    """K_H of ``x`` (a batch) through ``module`` (built from ``graph``), and N_A (the units counted)."""
    import torch
    import torch.fx
    from archdsl_backends.torch.build import var_name

    targets = {var_name(n.id) for n in graph.nodes if n.op in GATED}
    state = {"K": torch.zeros((x.shape[0], x.shape[0]), dtype=torch.float64), "units": 0}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, node: torch.fx.Node) -> Any:
            if node.op in ("call_function", "call_method") and node.name in targets:
                args, _ = self.fetch_args_kwargs_from_env(node)
                pre = args[0].reshape(args[0].shape[0], -1)  # read before an in-place activation overwrites it
                state["K"] += _kernel(torch, pre > 0)
                state["units"] += pre.shape[1]
            return super().run_node(node)

    with torch.no_grad():
        Recorder(module).run(x)
    return state["K"], state["units"]


def log_det(torch: Any, k: Any) -> float:
    sign, logabs = torch.linalg.slogdet(k)
    return float(logabs) if float(sign) > 0 else -math.inf


class Naswot:
    name = "naswot"
    kind = "proxy"
    needs_torch = True
    higher_is_better = True
    description = "zero-cost proxy: log|K_H| of the activation-pattern kernel at init (Mellor et al. 2021)"
    options_model = NaswotOptions

    def evaluate(self, graph: Graph, *, seed: int = 0, options: dict[str, Any] | None = None) -> float:
        opts: NaswotOptions = parse_options(NaswotOptions, options)
        torch = common.torch_or_error(self.name)
        resolution = None if opts.resolution == "native" else opts.resolution
        g = common.at_resolution(graph, resolution, self.name)
        if not any(n.op in GATED for n in g.nodes):
            raise common.fail(
                "B507",
                f"the naswot evaluator needs rectifier activations ({', '.join(GATED)}); net '{graph.name}' has none",
            )
        common.check_budget(g, self.name, common.activation_bytes(g, opts.batch), opts.max_memory_mb, "its activations")
        shape = g.inputs[0].type.shape
        from .data import proxy_batch

        x = proxy_batch(opts.data, opts.batch, tuple(shape), seed, self.name)
        with common.deterministic(seed, threads=opts.threads):
            module = common.build(g, seed, self.name)
            module.train()
            for m in module.modules():
                if isinstance(m, torch.nn.Dropout):
                    m.eval()
            k, _ = naswot_kernel(module, g, x)
        return common.finite_or_error(log_det(torch, k), graph, self.name)


NASWOT = Naswot()

__all__ = ["GATED", "NASWOT", "Naswot", "NaswotOptions", "log_det", "naswot_kernel"]

"""Latency of a graph on a :class:`~.machine.Machine`: per-op cost items and a roofline prediction.

The analytical model behind the ``a72`` and ``model`` bench targets (:mod:`archdsl.bench.model`),
pure Python over the IR (no numpy, no onnx: an estimate needs nothing installed). Two steps:

1. :func:`cost_items` lowers the graph the way the deployed network runs and costs every node:

   - the inference passes of :mod:`archdsl.passes` in weight-less mode (:data:`RUNTIME_PASSES`):
     identities and dropout removed, batch norm folded into the convolution before it, parallel
     conv/BN/identity branches of one tensor merged into one convolution (MobileOne, RepVGG),
     as the ONNX backend exports the network;
   - each remaining node's cost is what its op says (``OPS[op].cost(args, ins, out, macs)``): its
     kind (:data:`archdsl.ops.COST_KINDS`), FP32 FLOPs and activation bytes (inputs + output by
     default); weight bytes are the op's learned tensors (``OPS[op].weights``) in their dtype;
   - runtime fusion, which depends on the machine's runtime: an activation it fuses
     (``Machine.fused_acts``, ops with the activation trait) right after a convolution (an op of a
     ``conv_*`` cost kind) read by it alone costs nothing; a residual ``add`` of a convolution's
     output likewise when the runtime fuses that (``Machine.fuse_add``): then it costs only the
     read of its other input.

   An op that declares no cost, or whose kind the machine has no constants for, is an error with
   a located diagnostic (:func:`unsupported`, codes :data:`NO_COST` and :data:`NO_CONSTANTS`),
   never a silent guess.

2. :func:`predict` puts each item on a roofline with per-kind efficiencies::

       t_op = max(flops / (peak * speedup(threads) * compute_eff[kind]),
                  (dram_bytes / dram_bw(threads) + cache_bytes / cache_bw(threads)) / memory_eff[kind])
              + op_overhead + kind_overhead[kind] + sync_overhead * (threads - 1)

   Activations move through the cache when an op's working set fits in it, otherwise the excess
   comes from DRAM; weights come from DRAM when the whole model's weights do not fit in the cache
   (every inference streams them again), otherwise from the cache.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from archdsl.analysis.machine import Machine
from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity
from archdsl.ir import Graph, Node
from archdsl.ops import COST_KINDS, OPS, Cost, TensorType

NO_COST = "B401"
"""an op declares no cost: the latency model cannot predict the spec"""
NO_CONSTANTS = "B402"
"""an op's cost kind has no efficiency constants on the machine"""

RUNTIME_PASSES: tuple[str, ...] = ("drop_identities", "fold_bn", "merge_branches")
"""The IR passes the deployed network has been through (the ONNX backend's folding)."""

CONV_KINDS = frozenset(k for k in COST_KINDS if k.startswith("conv_"))
"""Cost kinds of convolutions: what a runtime fuses an activation or a residual add into."""

BYTES_FP32 = 4
DTYPE_BYTES = {"float32": 4, "int64": 8}


@dataclass(frozen=True)
class CostItem:
    """One op as the runtime executes it. ``kind`` is ``'free'`` for ops that cost nothing."""

    node: str
    op: str
    kind: str
    flops: float
    act_bytes: float
    weight_bytes: float
    note: str = ""


def lower(graph: Graph) -> Graph:
    """``graph`` as the deployed network runs it: :data:`RUNTIME_PASSES`, structure only."""
    from archdsl.passes import run

    lowered, _, _ = run(graph, None, RUNTIME_PASSES)
    return lowered


def _types(graph: Graph) -> dict[str, TensorType]:
    return {i.name: i.type for i in graph.inputs} | {n.id: n.out for n in graph.nodes}


def _costs(graph: Graph) -> dict[str, Cost]:
    """The op's own cost of every node (before fusion); nodes whose op has no cost are left out."""
    types = _types(graph)
    out = {}
    for n in graph.nodes:
        spec = OPS[n.op]
        if spec.cost is not None:
            out[n.id] = spec.cost(n.args, [types[r] for r in n.inputs], n.out, n.macs)
    return out


def _problems(graph: Graph, costs: dict[str, Cost], machine: Machine | None, model: str) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    seen: set[tuple] = set()
    for n in graph.nodes:
        cost = costs.get(n.id)
        if cost is None:
            key = (NO_COST, n.op, n.span)
            message = f"the {model} cannot cost op '{n.op}' (node {n.id}): the op declares no cost"
            help = f"give op '{n.op}' a cost in its OpSpec (archdsl/ops), or measure the spec with --target host"
        elif machine is not None and cost.kind != "free" and cost.kind not in machine.kinds:
            key = (NO_CONSTANTS, n.op, cost.kind, n.span)
            message = (
                f"the {model} has no constants for op kind '{cost.kind}' of op '{n.op}' (node {n.id})"
                f" on machine '{machine.name}'"
            )
            help = "recalibrate with `archdsl bench calibrate` (a file from an older archdsl lacks newer kinds)"
        else:
            continue
        if key not in seen:  # a block used ten times is one finding, not ten
            seen.add(key)
            diags.append(Diagnostic(key[0], message, n.span, Severity.ERROR, help))
    return diags


def unsupported(graph: Graph, machine: Machine | None = None, target: str = "latency") -> list[Diagnostic]:
    """Located diagnostics for every op of ``graph`` the model cannot cost (empty when all is fine).

    Only the ops left after :data:`RUNTIME_PASSES` need a cost: an op the passes remove (an
    alias, a folded batch norm) costs nothing whatever it declares.
    """
    lowered = lower(graph)
    return _problems(lowered, _costs(lowered), machine, f"{target} model")


def _weight_bytes(node: Node, ins: list[TensorType]) -> float:
    specs = OPS[node.op].weights(node.args, ins, node.out)
    return float(sum(w.numel * DTYPE_BYTES[w.dtype] for w in specs if not w.buffer))


def _fusions(graph: Graph, costs: dict[str, Cost], machine: Machine | None) -> dict[str, str]:
    """node id -> id of the convolution the runtime fuses it into."""
    if machine is None:
        return {}
    consumers = graph.consumers()
    nodes = graph.node_map()
    fused: dict[str, str] = {}

    def is_conv(ref: str) -> bool:
        return ref in costs and costs[ref].kind in CONV_KINDS

    def conv_of(ref: str) -> str | None:
        """The convolution computing ``ref``: itself, or the one a residual add was fused into."""
        if is_conv(ref):
            return ref
        if ref in fused and OPS[nodes[ref].op].traits.merge:
            return fused[ref]  # conv + residual add + activation: one fused kernel
        return None

    for n in graph.nodes:
        if not n.inputs:
            continue
        src = n.inputs[0]
        if OPS[n.op].traits.activation and n.op in machine.fused_acts:
            conv = conv_of(src)
            if conv is not None and consumers.get(src) == [n.id]:
                fused[n.id] = conv
        elif machine.fuse_add and n.op == "add" and len(n.inputs) == 2:  # the one merge a runtime fuses
            for ref in n.inputs:
                if is_conv(ref) and consumers.get(ref) == [n.id]:
                    fused[n.id] = ref
                    break
    return fused


def cost_items(graph: Graph, machine: Machine | None = None, target: str = "latency") -> list[CostItem]:
    """The graph lowered as the deployed network runs (folds, re-parameterisation, fusion), with costs.

    Items of the lowered graph in order, then a ``free`` item for every node the passes removed.
    Raises :class:`DiagnosticError` (:func:`unsupported`'s diagnostics) when an op cannot be costed.
    """
    lowered = lower(graph)
    costs = _costs(lowered)
    problems = _problems(lowered, costs, machine, f"{target} model")
    if problems:
        raise DiagnosticError(problems)
    fused = _fusions(lowered, costs, machine)
    types = _types(lowered)
    items: list[CostItem] = []
    for n in lowered.nodes:
        ins = [types[r] for r in n.inputs]
        cost = costs[n.id]
        if cost.kind == "free":
            items.append(CostItem(n.id, n.op, "free", 0.0, 0.0, 0.0, "no work at inference"))
        elif n.id in fused and OPS[n.op].traits.merge:
            other = max(t.numel for t in ins) * BYTES_FP32
            items.append(CostItem(n.id, n.op, cost.kind, cost.flops, float(other), 0.0, f"fused into {fused[n.id]}"))
        elif n.id in fused:
            items.append(CostItem(n.id, n.op, "free", 0.0, 0.0, 0.0, f"fused into {fused[n.id]}"))
        else:
            act = cost.act_bytes
            if act is None:
                act = (sum(t.numel for t in ins) + n.out.numel) * BYTES_FP32
            items.append(CostItem(n.id, n.op, cost.kind, float(cost.flops), float(act), _weight_bytes(n, ins)))
    kept = lowered.node_map()
    for n in graph.nodes:
        if n.id not in kept:
            note = "identity at inference" if OPS[n.op].traits.alias else "folded or merged into a convolution"
            items.append(CostItem(n.id, n.op, "free", 0.0, 0.0, 0.0, note))
    return items


def speedup(machine: Machine, threads: int) -> float:
    return threads * machine.parallel_eff ** (threads - 1)


def item_time(item: CostItem, machine: Machine, threads: int, weights_in_dram: bool, batch: int = 1) -> float:
    """Predicted seconds of one cost item (``batch`` samples) on ``threads`` threads."""
    if item.kind == "free":
        return 0.0
    kp = machine.kinds[item.kind]  # cost_items has checked that the machine knows every kind
    flops = item.flops * batch
    act = item.act_bytes * batch
    work = flops + act
    te = max(1, min(threads, math.ceil(work / machine.grain_flops))) if machine.grain_flops > 0 else threads
    s = speedup(machine, te)
    t_compute = flops / (machine.peak_flops_core * s * kp.compute_eff) if flops else 0.0
    act_dram = max(0.0, act - machine.cache_bytes)
    dram = act_dram + (item.weight_bytes if weights_in_dram else 0.0)
    cached = act - act_dram + (0.0 if weights_in_dram else item.weight_bytes)
    bw_dram = min(machine.dram_bw_core * te, machine.dram_bw)
    bw_cache = machine.cache_bw_core * s
    t_mem = (dram / bw_dram + cached / bw_cache) / kp.memory_eff
    sync = machine.sync_overhead_s * (te - 1)
    return max(t_compute, t_mem) + machine.op_overhead_s + kp.overhead_s + sync


@dataclass
class Prediction:
    seconds: float
    threads: int
    by_kind: dict[str, float]
    items: list[tuple[CostItem, float]]

    def breakdown(self, top: int = 10) -> dict[str, Any]:
        worst = sorted(self.items, key=lambda it: -it[1])[:top]
        return {
            "by_kind_ms": {k: round(v * 1e3, 4) for k, v in sorted(self.by_kind.items(), key=lambda kv: -kv[1])},
            "top_ops_ms": [{"node": it.node, "kind": it.kind, "ms": round(t * 1e3, 4)} for it, t in worst],
            "ops": sum(1 for it, _ in self.items if it.kind != "free"),
        }


def quantized(items: list[CostItem], machine: Machine) -> list[CostItem]:
    """The items of an int8 model (``--quantize int8``): ops of the kinds in ``machine.int8_speedup``
    (the convolutions and linear layers the ONNX backend quantises) run int8 kernels: their FLOPs
    count ``1/speedup`` of fp32 ones, their activations and weights are one byte per value instead
    of four. Other ops (softmax, attention, element-wise) stay fp32, as in the model. The
    Quantize/DequantizeLinear conversions between them are not costed (they fuse into the int8
    kernels where int8 ops follow each other; a conversion before a float op is an element-wise
    pass the model leaves out)."""
    out = []
    for it in items:
        gain = machine.int8_speedup.get(it.kind)
        if gain and it.kind != "free":
            it = CostItem(it.node, it.op, it.kind, it.flops / gain, it.act_bytes / BYTES_FP32,
                          it.weight_bytes / BYTES_FP32, (it.note + "; int8").lstrip("; "))  # fmt: skip
        out.append(it)
    return out


def predict(
    graph: Graph,
    machine: Machine,
    threads: int | None = None,
    batch: int = 1,
    target: str | None = None,
    quantize: str | None = None,
) -> Prediction:
    """Predicted latency of one inference of ``batch`` samples (DiagnosticError: an op cannot be costed).

    ``quantize="int8"``: the int8 model of ``--quantize int8`` (:func:`quantized`).
    """
    threads = threads or machine.default_threads
    if not 1 <= threads <= machine.cores:
        raise ValueError(f"{machine.name} has {machine.cores} cores; threads must be 1..{machine.cores}")
    if quantize not in (None, "int8"):
        raise ValueError(f"unknown precision {quantize!r} (int8 or None)")
    items = cost_items(graph, machine, target or machine.name)
    if quantize:
        items = quantized(items, machine)
    weights_in_dram = sum(it.weight_bytes for it in items) > machine.cache_bytes
    timed = [(it, item_time(it, machine, threads, weights_in_dram, batch)) for it in items]
    by_kind: dict[str, float] = {}
    for it, t in timed:
        if t:
            by_kind[it.kind] = by_kind.get(it.kind, 0.0) + t
    return Prediction(sum(t for _, t in timed), threads, by_kind, timed)

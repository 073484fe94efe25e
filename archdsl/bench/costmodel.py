"""The per-op latency model shared by the ``a72`` estimate and the host-calibrated ``model`` target.

Two steps, both pure Python over the IR (no numpy, no onnx: an estimate needs nothing installed):

1. :func:`cost_items` lowers the graph the way an inference runtime sees it and gives every node
   an *op kind*, its FP32 floating-point work and the bytes it moves:

   - ``identity``/``dropout``/``flatten`` are free (aliases and reshapes);
   - batch norm right after a convolution (its only consumer) is folded into it: free;
   - parallel conv/BN/identity branches of one tensor joined by an ``add`` (MobileOne, RepVGG)
     are re-parameterised into one convolution: the largest branch is kept, the rest is free;
   - an activation right after a convolution is fused into it when the runtime does that
     (``Machine.fused_acts``); a residual ``add`` after a convolution likewise
     (``Machine.fuse_add``): then it costs only the read of its other input;
   - FLOPs: 2 × MACs for conv/linear/attention (the IR counts MACs as torchinfo does);
     element ops a few FLOPs per element (:data:`FLOPS_PER_ELEMENT`);
   - bytes: inputs + output activations, plus the weights (4 bytes per parameter), FP32.

2. :func:`predict` puts each item on a roofline with per-kind efficiencies::

       t_op = max(flops / (peak * speedup(threads) * compute_eff[kind]),
                  (dram_bytes / dram_bw(threads) + cache_bytes / cache_bw(threads)) / memory_eff[kind])
              + op_overhead + kind_overhead[kind] + sync_overhead * (threads - 1)

   Activations move through the cache when an op's working set fits in it, otherwise the excess
   comes from DRAM; weights come from DRAM when the whole model's weights do not fit in the cache
   (every inference streams them again), otherwise from the cache.

The machine constants and efficiency factors live in a :class:`Machine`: :mod:`.a72` documents
the Cortex-A72 ones with their sources; :mod:`.calibrate` fits a host's from micro-benchmarks and
stores them as JSON (:meth:`Machine.to_json`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from archdsl.ir import Graph, Node

BYTES = 4  # FP32

KINDS: dict[str, str] = {
    "conv_dense": "k x k convolution with groups = 1 (k > 1)",
    "conv_1x1": "point-wise convolution, groups = 1 (a GEMM)",
    "conv_grouped": "grouped convolution, 1 < groups < channels",
    "conv_dw": "depthwise convolution (groups = input channels)",
    "linear": "fully connected layer over a vector or over tokens",
    "attention": "multi-head self-attention (projections, QK^T, softmax, AV)",
    "pool": "max/average pooling, global average pooling",
    "blurpool": "anti-aliased downsampling: reflect pad + fixed depthwise filter",
    "softmax": "softmax over the channels of a feature map",
    "norm": "layer norm, batch norm that could not be folded",
    "activation": "an activation that is not fused into the convolution before it",
    "elementwise": "add, mul, scale (with broadcasting)",
    "copy": "data movement: concat, slice, channel shuffle, upsample",
    "layout": "unfold/fold between feature maps and MobileViT tokens (6-D transposes)",
}

FLOPS_PER_ELEMENT: dict[str, int] = {
    "relu": 1,
    "relu6": 2,
    "hardsigmoid": 3,
    "hardswish": 4,
    "sigmoid": 4,
    "tanh": 4,
    "silu": 5,
    "gelu": 8,
    "softmax": 5,
    "layernorm": 8,
    "bn": 2,
    "scale": 1,
    "add": 1,
    "mul": 1,
}

FREE_OPS = ("identity", "dropout", "flatten")
ACTIVATIONS = ("relu", "relu6", "hardsigmoid", "hardswish", "sigmoid", "tanh", "silu", "gelu")
COPY_OPS = ("concat", "slice", "shuffle", "upsample")


@dataclass(frozen=True)
class KindParams:
    """Efficiency of one op kind: fractions of the machine's peak compute and bandwidth."""

    compute_eff: float
    memory_eff: float = 1.0
    overhead_s: float = 0.0


@dataclass(frozen=True)
class Machine:
    """A processor as the model sees it (all rates per second, sizes in bytes)."""

    name: str
    label: str
    """how outputs name the numbers, e.g. 'ESTIMATE: analytical Cortex-A72 model'"""
    peak_flops_core: float
    """FP32 FLOP/s of one core at its sustained clock"""
    cores: int
    dram_bw: float
    """sustained DRAM bandwidth, all cores together"""
    dram_bw_core: float
    """sustained DRAM bandwidth one core reaches"""
    cache_bytes: int
    """size of the last-level cache activations and weights can stay in"""
    cache_bw_core: float
    """bandwidth of one core to data resident in that cache"""
    parallel_eff: float
    """speed-up of n threads = n * parallel_eff ** (n - 1)"""
    grain_flops: float
    """work (FLOPs + bytes) below which an op does not gain from another thread"""
    op_overhead_s: float
    """fixed cost of dispatching one op (one thread)"""
    sync_overhead_s: float
    """extra cost per op and per additional thread (fork/join)"""
    kinds: dict[str, KindParams]
    fused_acts: tuple[str, ...] = ()
    fuse_add: bool = False
    default_threads: int = 1
    sources: dict[str, str] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["format"] = "archdsl-latency-model/1"
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Machine:
        """Parse and check a latency-model file's text (:mod:`.calibfile`; ValueError if invalid)."""
        from .calibfile import parse_machine

        return parse_machine(text)

    @classmethod
    def load(cls, path: str | Path) -> Machine:
        """Read a latency-model file (regular files up to 4 MiB only; see :mod:`.calibfile`)."""
        from .calibfile import load_machine

        return load_machine(str(path))

    def with_kinds(self, **kinds: KindParams) -> Machine:
        return replace(self, kinds={**self.kinds, **kinds})


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


def conv_kind(node: Node, c_in: int) -> str:
    a = node.args
    if a.groups == 1:
        return "conv_1x1" if a.k == 1 else "conv_dense"
    if a.groups == c_in:
        return "conv_dw"
    return "conv_grouped"


def cost_items(graph: Graph, machine: Machine | None = None) -> list[CostItem]:
    """The graph lowered as a runtime runs it (folds, re-parameterisation, fusion), with costs."""
    fused_acts = set(machine.fused_acts) if machine else set()
    fuse_add = machine.fuse_add if machine else False
    nodes = graph.node_map()
    consumers = graph.consumers()
    types = {i.name: i.type for i in graph.inputs} | {n.id: n.out for n in graph.nodes}

    def only_consumer(src: str, dst: str) -> bool:
        return consumers.get(src) == [dst]

    # Batch norm folded into the convolution it follows.
    folded: dict[str, str] = {}  # bn id -> conv id
    for n in graph.nodes:
        if n.op == "bn":
            src = nodes.get(n.inputs[0])
            if src is not None and src.op == "conv" and only_consumer(src.id, n.id):
                folded[n.id] = src.id

    def conv_of(ref: str) -> Node | None:
        """The convolution producing ``ref`` (through a folded BN), if any."""
        node = nodes.get(ref)
        if node is None:
            return None
        if node.op == "bn" and ref in folded:
            return nodes[folded[ref]]
        return node if node.op == "conv" else None

    # Re-parameterisation: add(conv(X) [-> bn], ..., bn(X), X) -> one conv.
    merged_away: set[str] = set()
    merged_adds: dict[str, str] = {}  # add id -> kept conv id
    for n in graph.nodes:
        if n.op != "add":
            continue
        roots, convs, bns_of_x = set(), [], []
        for ref in n.inputs:
            conv = conv_of(ref)
            node = nodes.get(ref)
            if conv is not None and only_consumer(ref, n.id) and (ref == conv.id or only_consumer(conv.id, ref)):
                roots.add(conv.inputs[0])
                convs.append(conv)
                if ref != conv.id:
                    bns_of_x.append(ref)
            elif node is not None and node.op == "bn" and only_consumer(ref, n.id):
                roots.add(node.inputs[0])
                bns_of_x.append(ref)
            else:
                roots.add(ref)
        if len(roots) != 1 or not convs:
            continue
        a0 = convs[0].args
        if any((c.args.s, c.args.groups, c.args.c, c.args.d) != (a0.s, a0.groups, a0.c, 1) for c in convs):
            continue
        if any(c.args.k % 2 == 0 for c in convs):
            continue
        keep = max(convs, key=lambda c: (c.args.k, c.macs))
        merged_adds[n.id] = keep.id
        merged_away.update(c.id for c in convs if c.id != keep.id)
        merged_away.update(b for b in bns_of_x if b not in folded)

    # Fusion of an activation / residual add into the convolution before it.
    fused: dict[str, str] = {}
    for n in graph.nodes:
        if not n.inputs:
            continue
        src_id = n.inputs[0]
        conv = conv_of(src_id) or (nodes[merged_adds[src_id]] if src_id in merged_adds else None)
        if conv is None and src_id in fused and nodes[src_id].op == "add":
            conv = nodes[fused[src_id]]  # conv + residual add + activation (one fused kernel)
        if n.op in ACTIVATIONS and n.op in fused_acts and conv is not None and only_consumer(src_id, n.id):
            fused[n.id] = conv.id
        elif n.op == "add" and fuse_add and n.id not in merged_adds and len(n.inputs) == 2:
            for ref in n.inputs:
                c = conv_of(ref)
                if c is not None and only_consumer(ref, n.id):
                    fused[n.id] = c.id
                    break

    items: list[CostItem] = []
    for n in graph.nodes:
        ins = [types[i] for i in n.inputs]
        in_bytes = sum(t.numel for t in ins) * BYTES
        out_bytes = n.out.numel * BYTES
        w_bytes = n.params * BYTES
        elems = n.out.numel

        def item(kind: str, flops: float, act: float = in_bytes + out_bytes, weights: float = w_bytes, note="", n=n):
            items.append(CostItem(n.id, n.op, kind, float(flops), float(act), float(weights), note))

        if n.op in FREE_OPS:
            item("free", 0, 0, 0, "alias")
        elif n.id in folded:
            item("free", 0, 0, 0, f"folded into {folded[n.id]}")
        elif n.id in merged_away:
            item("free", 0, 0, 0, "re-parameterised")
        elif n.id in merged_adds:
            item("free", 0, 0, 0, f"re-parameterised into {merged_adds[n.id]}")
        elif n.id in fused and n.op == "add":
            other = max(t.numel for t in ins) * BYTES
            item("elementwise", elems, other, 0, f"fused into {fused[n.id]}")
        elif n.id in fused:
            item("free", 0, 0, 0, f"fused into {fused[n.id]}")
        elif n.op == "conv":
            flops = 2 * n.macs
            if n.id in merged_adds.values():
                add = next(a for a, c in merged_adds.items() if c == n.id)
                out_bytes = nodes[add].out.numel * BYTES
            item(conv_kind(n, ins[0].c), flops, in_bytes + out_bytes)
        elif n.op == "linear":
            item("linear", 2 * n.macs)
        elif n.op == "mhsa":
            p, tokens, c = n.out.shape
            heads = n.args.heads
            attn = p * heads * tokens * tokens
            flops = 2 * n.macs + FLOPS_PER_ELEMENT["softmax"] * attn
            # qkv (3x), attention matrix written and read, context, output
            act = in_bytes + 3 * out_bytes + 2 * attn * BYTES + 2 * out_bytes
            item("attention", flops, act)
        elif n.op in ("maxpool", "avgpool"):
            item("pool", elems * n.args.k * n.args.k)
        elif n.op == "gap":
            item("pool", ins[0].numel)
        elif n.op == "blurpool":
            f = n.args.filt
            item("blurpool", 2 * elems * f * f, 2 * in_bytes + out_bytes)
        elif n.op == "softmax":
            kind = "softmax" if n.out.layout == "chw" else "activation"
            item(kind, FLOPS_PER_ELEMENT["softmax"] * elems)
        elif n.op in ("layernorm", "bn"):
            item("norm", FLOPS_PER_ELEMENT[n.op] * elems)
        elif n.op in ACTIVATIONS:
            kind = "elementwise" if n.op in ("relu", "relu6") else "activation"
            item(kind, FLOPS_PER_ELEMENT[n.op] * elems)
        elif n.op in ("add", "mul", "scale"):
            item("elementwise", FLOPS_PER_ELEMENT[n.op] * elems * max(1, len(ins) - 1))
        elif n.op in COPY_OPS:
            item("copy", 0)
        elif n.op in ("unfold", "fold"):
            item("layout", 0)
        else:  # an op this model does not know: count its traffic as a copy
            item("copy", 0, note=f"unknown op '{n.op}', costed as a copy")
    return items


def speedup(machine: Machine, threads: int) -> float:
    return threads * machine.parallel_eff ** (threads - 1)


def item_time(item: CostItem, machine: Machine, threads: int, weights_in_dram: bool, batch: int = 1) -> float:
    """Predicted seconds of one cost item (``batch`` samples) on ``threads`` threads."""
    if item.kind == "free":
        return 0.0
    kp = machine.kinds.get(item.kind) or machine.kinds["copy"]
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


def predict(graph: Graph, machine: Machine, threads: int | None = None, batch: int = 1) -> Prediction:
    """Predicted latency of one inference of ``batch`` samples."""
    threads = threads or machine.default_threads
    if not 1 <= threads <= machine.cores:
        raise ValueError(f"{machine.name} has {machine.cores} cores; threads must be 1..{machine.cores}")
    items = cost_items(graph, machine)
    weights_in_dram = sum(it.weight_bytes for it in items) > machine.cache_bytes
    timed = [(it, item_time(it, machine, threads, weights_in_dram, batch)) for it in items]
    by_kind: dict[str, float] = {}
    for it, t in timed:
        if t:
            by_kind[it.kind] = by_kind.get(it.kind, 0.0) + t
    return Prediction(sum(t for _, t in timed), threads, by_kind, timed)

"""The Cortex-A72 (Raspberry Pi 4 class) as a :class:`~.machine.Machine`: data for :mod:`.latency`.

Every number predicted with it is an ESTIMATE (the ``a72`` target labels it so in the table, the
JSON and the results store). Where each constant comes from (``../shared/design.md`` §4 is the
project's fact sheet; the published timings are ncnn's Raspberry Pi 4 benchmark, 4 threads):

============================  ==================  ==================================================
constant                      value               source
============================  ==================  ==================================================
cores, clock                  4 × 1.5 GHz         design.md §4 (BCM2711, Raspberry Pi 4)
FP32 peak per core            12 GFLOP/s          design.md §4 (128-bit NEON, 4 lanes × FMA × 1.5 GHz)
L1D / L2                      32 KiB / 1 MiB      design.md §4 (L2 shared by the 4 cores)
DRAM bandwidth (all cores)    5 GB/s              design.md §4 (sustained, LPDDR4)
DRAM bandwidth (one core)     3.5 GB/s            assumption: one core cannot saturate the controller
L2 bandwidth (one core)       12 GB/s             assumption: half of 16 B/cycle at 1.5 GHz
parallel efficiency           0.92 per thread     assumption: 4 threads = 3.1× one thread
work grain per thread         1e5 FLOP + B        assumption: smaller ops run on fewer threads
op overhead                   8 µs (+4 µs/thread) assumption: layer dispatch + OpenMP fork/join
dense / 1×1 conv efficiency   0.57 / 0.24         fitted to two published timings (ResNet-18,
                                                  MobileNetV2); the other three are held out
other kinds                   see A72_KINDS       assumptions from kernel arithmetic intensity
fused activations             relu, relu6,        ncnn's convolution fusion (relu, clip, sigmoid,
                              sigmoid, hardswish  hardswish); silu/gelu stay separate ops
int8 conv / linear throughput 2× fp32 MACs/cycle  assumption from the ISA (``--quantize int8``): the
                              (the same           A72 is ARMv8.0-A, so no SDOT/UDOT (ARMv8.2's
                              efficiencies)       optional dot product); int8 GEMM kernels use
                                                  SMULL/SMLAL(2) (8 int8×int8→int16 products per
                                                  128-bit instruction) + SADALP, against FMLA's 4
                                                  fp32 lanes, at equal issue rates assumed (the
                                                  rates in ARM's Cortex-A72 Software Optimization
                                                  Guide, UAN 0016A, were not checked for this
                                                  factor). Not validated on a Pi
============================  ==================  ==================================================

``benchmarks/a72_validation.py`` compares the estimates with the five published Pi 4 timings
(MobileNetV2 72.6 ms, MobileNetV3 56.3 ms, ShuffleNetV2 29.8 ms, EfficientNet-B0 94.4 ms,
ResNet-18 176.2 ms) and prints the errors; docs/bench.md has the table. Treat the estimates as
relative figures (Figure 3a's "× FB-Net C"), not as a promise of absolute milliseconds.

The constants live here, in the analysis layer, rather than with the ``a72`` target of
:mod:`archdsl.bench`: they are data, and an estimate needs nothing of the bench package (no
onnxruntime, no store), so lint rules or a design-space search can use them directly.
"""

from __future__ import annotations

from archdsl.analysis.machine import KindParams, Machine

A72_KINDS: dict[str, KindParams] = {
    # fitted: the two factors that reproduce ResNet-18 (176.2 ms) and MobileNetV2 (72.6 ms) exactly
    # (benchmarks/a72_validation.py --fit); MobileNetV3, ShuffleNetV2, EfficientNet-B0 are held out
    "conv_dense": KindParams(compute_eff=0.57, memory_eff=0.8),
    "conv_1x1": KindParams(compute_eff=0.24, memory_eff=0.8),
    # assumptions, each relative to the fitted two where the kernel is alike:
    "conv_grouped": KindParams(compute_eff=0.28, memory_eff=0.7),  # per-group dense conv: half of dense
    "conv_dw": KindParams(compute_eff=0.12, memory_eff=0.6),  # k*k MACs per loaded value: no register reuse
    "linear": KindParams(compute_eff=0.24, memory_eff=0.8),  # a GEMM/GEMV: as the 1x1 conv
    "attention": KindParams(compute_eff=0.24, memory_eff=0.6),  # GEMMs + softmax + transposes
    "pool": KindParams(compute_eff=0.15, memory_eff=0.7),  # streaming, memory-bound
    "blurpool": KindParams(compute_eff=0.12, memory_eff=0.6),  # pad copy + a depthwise conv
    "softmax": KindParams(compute_eff=0.08, memory_eff=0.4),  # exp + a strided reduction over channels
    "norm": KindParams(compute_eff=0.15, memory_eff=0.6),  # two passes
    "activation": KindParams(compute_eff=0.20, memory_eff=0.7),  # NEON polynomial exp
    "elementwise": KindParams(compute_eff=0.50, memory_eff=0.8),  # streaming
    "copy": KindParams(compute_eff=1.0, memory_eff=0.6),
    "layout": KindParams(compute_eff=1.0, memory_eff=0.3),  # 6-D transposes: poor locality
}

A72 = Machine(
    name="a72",
    label="ESTIMATE: analytical Cortex-A72 model (Raspberry Pi 4 class), not a measurement",
    peak_flops_core=12e9,
    cores=4,
    dram_bw=5e9,
    dram_bw_core=3.5e9,
    cache_bytes=1 << 20,
    cache_bw_core=12e9,
    parallel_eff=0.92,
    grain_flops=1e5,
    op_overhead_s=8e-6,
    sync_overhead_s=4e-6,
    kinds=A72_KINDS,
    fused_acts=("relu", "relu6", "sigmoid", "hardswish"),
    fuse_add=False,
    default_threads=4,
    sources={
        "peak_flops_core, cores, cache_bytes, dram_bw": "shared/design.md section 4",
        "fit": "conv_dense and conv_1x1 efficiency: ncnn Raspberry Pi 4 timings of ResNet-18 and MobileNetV2",
        "other": "assumptions, documented in archdsl.analysis.a72 and docs/bench.md",
        "int8_speedup": "ISA assumption: ARMv8.0-A has no SDOT; SMLAL gives 8 int8 MACs per instruction vs FMLA's 4 "
        "fp32 lanes, equal issue rates assumed; not validated on a device",
    },
)

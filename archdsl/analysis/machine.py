"""A processor as the latency analysis (:mod:`.latency`) sees it: a :class:`Machine`.

A machine is data: its peak compute and bandwidths, the cache activations and weights can stay
in, the cost of dispatching an op, and one :class:`KindParams` per op kind (the kinds of
:data:`archdsl.ops.COST_KINDS`: a depthwise convolution reaches a smaller fraction of the peak
than a dense one). It also says what its runtime fuses into the convolution before it: the
activation ops by name (:attr:`Machine.fused_acts`; ncnn fuses ReLU but not SiLU, say) and the
residual ``add`` (:attr:`Machine.fuse_add`).

:mod:`.a72` holds the Cortex-A72 constants with their sources; ``archdsl bench calibrate``
(:mod:`archdsl.bench.calibrate`) measures a host's and stores them as JSON
(:meth:`Machine.to_json`, format ``archdsl-latency-model/1``); :mod:`.machine_file` reads such a
file back without trusting it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from archdsl.ops import COST_KINDS

FORMAT = "archdsl-latency-model/1"

MACHINE_KINDS: tuple[str, ...] = tuple(k for k in COST_KINDS if k != "free")
"""The op kinds a machine has efficiencies for (every cost kind but ``free``, which costs nothing)."""


INT8_SPEEDUP: dict[str, float] = {k: 2.0 for k in ("conv_dense", "conv_1x1", "conv_grouped", "conv_dw", "linear")}
"""The default int8 factors: the ops ``--quantize int8`` quantises (ONNX Conv and Gemm) run at twice the
fp32 MAC rate (8 int8 MACs per 128-bit NEON SMLAL/SMLAL2 instruction against 4 fp32 lanes per FMLA, on
an ARMv8.0-A core without the SDOT dot-product instructions: :mod:`.a72` has the source)."""


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
    """activation ops (by name) the runtime fuses into the convolution before them"""
    fuse_add: bool = False
    """the runtime fuses a residual ``add`` into the convolution producing one of its inputs"""
    default_threads: int = 1
    int8_speedup: dict[str, float] = field(default_factory=lambda: dict(INT8_SPEEDUP))
    """compute-throughput factor of int8 kernels over fp32 per op kind (``--quantize int8``); kinds
    not listed stay fp32 in a quantised model (softmax, attention, element-wise)"""
    sources: dict[str, str] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["format"] = FORMAT
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Machine:
        """Parse and check a latency-model file's text (:mod:`.machine_file`; ValueError if invalid)."""
        from archdsl.analysis.machine_file import parse_machine

        return parse_machine(text)

    @classmethod
    def load(cls, path: str | Path) -> Machine:
        """Read a latency-model file (regular files up to 4 MiB only; see :mod:`.machine_file`)."""
        from archdsl.analysis.machine_file import load_machine

        return load_machine(str(path))

    def with_kinds(self, **kinds: KindParams) -> Machine:
        return replace(self, kinds={**self.kinds, **kinds})

"""Validate the latency estimator: the a72 model against published Pi 4 timings, the same model
calibrated on this machine against this machine's measurements.

    python benchmarks/a72_validation.py                  # everything, writes benchmarks/results/a72_*
    python benchmarks/a72_validation.py --part a72       # only the published-timings check (instant)
    python benchmarks/a72_validation.py --fit            # re-derive the two fitted A72 factors

Part 1 (a72): the analytical Cortex-A72 model at 4 threads against ncnn's published Raspberry Pi 4
timings (shared/design.md section 4). MobileNetV3-L and ResNet-18 are zoo specs; MobileNetV2,
ShuffleNetV2 1.0 and EfficientNet-B0 are written below (counts equal torchvision's / timm's).
Two factors (dense 3x3 and 1x1 convolution efficiency) are fitted to ResNet-18 and MobileNetV2
(``--fit``); MobileNetV3, ShuffleNetV2 and EfficientNet-B0 are held out.

Part 2 (host): ``archdsl bench calibrate`` on this machine (micro-benchmarks only), then every zoo
spec measured with onnxruntime (1 thread, interleaved rounds) and compared with the calibrated
model's prediction: error per spec (acceptance: within +-25%) and the rank correlation.
On a shared machine use ``--clock cpu`` (process CPU time; with one thread, the wall time an idle
machine would show); the default here is cpu, and the wall-clock medians are reported beside it.

Part 3: the Figure-3a table (throughput relative to FB-Net C) estimated for the A72, next to the
paper's claims.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import archdsl
from archdsl.analysis.a72 import A72
from archdsl.analysis.latency import predict
from archdsl.bench.stats import pairwise_order, spearman

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
ZOO = [ROOT / "specs" / "attendnext.arch", *sorted((ROOT / "specs" / "baselines").glob("*.arch"))]

# ncnn benchmark, Raspberry Pi 4 Model B (BCM2711, 4 x Cortex-A72 at 1.5 GHz), 4 threads, ms
PUBLISHED_MS = {
    "mobilenetv2_100": 72.6,
    "mobilenetv3_large_100": 56.3,
    "shufflenetv2_100": 29.8,
    "efficientnet_b0": 94.4,
    "resnet18": 176.2,
}
FITTED_ON = ("resnet18", "mobilenetv2_100")

# Figure 3a of the AttendNeXt paper: AttendNeXt's speed-up over each net on the Cortex-A72
PAPER_SPEEDUP = {
    "fbnetc_100": "> 10x",
    "mobileone_s1": "> 10x",
    "ofa_62": "> 6x",
    "mobilenetv3_large_100": "> 6x",
    "mobilevit_xs": "~ 4x",
}

EXTRA_SPECS = {
    "mobilenetv2_100": """
import std

# MobileNetV2 1.0 (Sandler et al. 2018), torchvision layout: 3,504,872 parameters, 300.8M MACs.
net mobilenetv2_100(classes = 1000) {
    input image [3, 224, 224]
    stem = conv_bn_act(32, k = 3, s = 2, act = "relu6")
    b1 = ds_conv(16, act = "relu6")
    b2 = inverted_residual(24, act = "relu6") * 2 first(s = 2)
    b3 = inverted_residual(32, act = "relu6") * 3 first(s = 2)
    b4 = inverted_residual(64, act = "relu6") * 4 first(s = 2)
    b5 = inverted_residual(96, act = "relu6") * 3
    b6 = inverted_residual(160, act = "relu6") * 3 first(s = 2)
    b7 = inverted_residual(320, act = "relu6")
    head = conv_bn_act(1280, k = 1, act = "relu6") -> gap -> flatten -> linear(classes)
}
""",
    "shufflenetv2_100": """
import std

# ShuffleNetV2 1.0x (Ma et al. 2018), torchvision layout: 2,278,604 parameters, 145M MACs.
block shuffle_unit(c) {
    columns(2, split = true, join = "shuffle") {
        left: identity
        right: conv_bn_act(c / 2, k = 1) -> conv(c / 2, k = 3, groups = c / 2) -> bn -> conv_bn_act(c / 2, k = 1)
    }
}

block shuffle_down(c) {
    columns(join = "shuffle") {
        left: conv(in.c, k = 3, s = 2, groups = in.c) -> bn -> conv_bn_act(c / 2, k = 1)
        right: conv_bn_act(c / 2, k = 1) -> conv(c / 2, k = 3, s = 2, groups = c / 2) -> bn
               -> conv_bn_act(c / 2, k = 1)
    }
}

net shufflenetv2_100(classes = 1000) {
    input image [3, 224, 224]
    stem = conv_bn_act(24, k = 3, s = 2) -> maxpool(3, 2, 1)
    stage2 = shuffle_down(116) -> shuffle_unit(116) * 3
    stage3 = shuffle_down(232) -> shuffle_unit(232) * 7
    stage4 = shuffle_down(464) -> shuffle_unit(464) * 3
    head = conv_bn_act(1024, k = 1) -> gap -> flatten -> linear(classes)
}
""",
    "efficientnet_b0": """
import std

# EfficientNet-B0 (Tan & Le 2019), timm layout (SE reduction rounded by make_divisible here):
# 5.32M parameters (timm 5.29M), 386M MACs.
net efficientnet_b0(classes = 1000) {
    input image [3, 224, 224]
    stem = conv_bn_act(32, k = 3, s = 2, act = "silu")
    b1 = ds_conv(16, act = "silu", se_ratio = 0.25)
    b2 = inverted_residual(24, k = 3, act = "silu", se_ratio = 0.25 / 6) * 2 first(s = 2)
    b3 = inverted_residual(40, k = 5, act = "silu", se_ratio = 0.25 / 6) * 2 first(s = 2)
    b4 = inverted_residual(80, k = 3, act = "silu", se_ratio = 0.25 / 6) * 3 first(s = 2)
    b5 = inverted_residual(112, k = 5, act = "silu", se_ratio = 0.25 / 6) * 3
    b6 = inverted_residual(192, k = 5, act = "silu", se_ratio = 0.25 / 6) * 4 first(s = 2)
    b7 = inverted_residual(320, k = 3, act = "silu", se_ratio = 0.25 / 6)
    head = conv_bn_act(1280, k = 1, act = "silu") -> gap -> flatten -> linear(classes)
}
""",
}


def published_graphs() -> dict[str, object]:
    from archdsl.resolve import load_graph

    graphs = {name: load_graph(f"{name}.arch", text=text.lstrip()) for name, text in EXTRA_SPECS.items()}
    for name in ("mobilenetv3_large_100", "resnet18"):
        graphs[name] = archdsl.load(ROOT / "specs" / "baselines" / f"{name}.arch")
    return graphs


def fit_a72(graphs) -> tuple[float, float]:
    """conv_dense and conv_1x1 compute efficiencies that reproduce ResNet-18 and MobileNetV2 exactly."""
    dense, pw = A72.kinds["conv_dense"].compute_eff, A72.kinds["conv_1x1"].compute_eff

    def solve(kind: str, net: str, other: tuple[str, float]) -> float:
        lo, hi = 0.02, 2.0
        for _ in range(60):
            mid = (lo + hi) / 2
            m = A72.with_kinds(
                **{kind: replace(A72.kinds[kind], compute_eff=mid)},
                **{other[0]: replace(A72.kinds[other[0]], compute_eff=other[1])},
            )
            t = predict(graphs[net], m, 4).seconds * 1e3
            lo, hi = (mid, hi) if t > PUBLISHED_MS[net] else (lo, mid)
        return (lo + hi) / 2

    for _ in range(10):
        dense = solve("conv_dense", "resnet18", ("conv_1x1", pw))
        pw = solve("conv_1x1", "mobilenetv2_100", ("conv_dense", dense))
    return dense, pw


def part_a72() -> dict:
    graphs = published_graphs()
    rows = []
    for name, ms in PUBLISHED_MS.items():
        g = graphs[name]
        pred = predict(g, A72, 4)
        rows.append(
            {
                "net": name,
                "params": g.total_params,
                "macs": g.total_macs,
                "published_ms": ms,
                "estimated_ms": round(pred.seconds * 1e3, 2),
                "error": round(pred.seconds * 1e3 / ms - 1, 4),
                "role": "fitted" if name in FITTED_ON else "held out",
            }
        )
    est = [r["estimated_ms"] for r in rows]
    pub = [r["published_ms"] for r in rows]
    same, pairs = pairwise_order(est, pub)
    return {"rows": rows, "spearman": round(spearman(est, pub), 4), "pairs_ordered": [same, pairs]}


def part_fig3a() -> dict:
    rows = []
    graphs = {p: archdsl.load(p) for p in ZOO}
    base = next(g for g in graphs.values() if g.name == "fbnetc_100")
    t_base = predict(base, A72, 4).seconds
    t_att = predict(next(g for g in graphs.values() if g.name == "attendnext"), A72, 4).seconds
    for g in graphs.values():
        t = predict(g, A72, 4).seconds
        rows.append(
            {
                "net": g.name,
                "params": g.total_params,
                "macs": g.total_macs,
                "estimated_ms": round(t * 1e3, 2),
                "relative_throughput": round(t_base / t, 3),
                "attendnext_speedup": round(t / t_att, 3),
                "paper_speedup": PAPER_SPEEDUP.get(g.name, ""),
            }
        )
    return {"rows": rows}


def part_host(runs: int, clock: str) -> dict:
    from archdsl.bench.artefact import onnx_file
    from archdsl.bench.calibrate import calibrate, summary_lines
    from archdsl.bench.runner import measure

    t0 = time.perf_counter()
    machine = calibrate(1)
    t_cal = time.perf_counter() - t0
    (RESULTS / "a72_host_calibration.json").write_text(machine.to_json() + "\n")
    graphs = [archdsl.load(p) for p in ZOO]
    cpu: list[list[float]] = [[] for _ in graphs]
    wall: list[list[float]] = [[] for _ in graphs]
    with tempfile.TemporaryDirectory() as tmp:
        files = [onnx_file(g, Path(tmp)) for g in graphs]
        rounds = 3
        for r in range(rounds):
            for i, f in enumerate(files):
                res = measure(str(f), 3 if r == 0 else 1, max(1, runs // rounds), 1)
                cpu[i] += res["cpu_timings_s"]
                wall[i] += res["timings_s"]
    rows = []
    for g, c, w in zip(graphs, cpu, wall, strict=True):
        pred = predict(g, machine, 1).seconds
        meas = statistics.median(c if clock == "cpu" else w)
        rows.append(
            {
                "net": g.name,
                "predicted_ms": round(pred * 1e3, 3),
                "measured_ms": round(meas * 1e3, 3),
                "measured_cpu_ms": round(statistics.median(c) * 1e3, 3),
                "measured_wall_ms": round(statistics.median(w) * 1e3, 3),
                "error": round(pred / meas - 1, 4),
            }
        )
    p = [r["predicted_ms"] for r in rows]
    m = [r["measured_ms"] for r in rows]
    same, pairs = pairwise_order(p, m)
    return {
        "calibration_seconds": round(t_cal, 1),
        "calibration_summary": summary_lines(machine),
        "clock": clock,
        "runs": runs,
        "rows": rows,
        "spearman": round(spearman(p, m), 4),
        "pairs_ordered": [same, pairs],
        "max_abs_error": round(max(abs(r["error"]) for r in rows), 4),
        "within_25pct": all(abs(r["error"]) <= 0.25 for r in rows),
    }


def markdown(report: dict) -> str:
    out = [
        "# Latency estimator validation",
        "",
        f"Generated by `python benchmarks/a72_validation.py` on {report['machine']}.",
        "",
    ]
    if "a72" in report:
        a = report["a72"]
        out += [
            "## a72 model vs published Raspberry Pi 4 timings (ncnn, 4 threads)",
            "",
            "| net | params | MMACs | published ms | estimated ms | error | role |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for r in a["rows"]:
            out.append(
                f"| {r['net']} | {r['params'] / 1e6:.2f}M | {r['macs'] / 1e6:.0f} | {r['published_ms']:.1f} | "
                f"{r['estimated_ms']:.1f} | {100 * r['error']:+.0f}% | {r['role']} |"
            )
        out += ["", f"Spearman {a['spearman']:.2f}; pairs in the right order {a['pairs_ordered'][0]}/"
                f"{a['pairs_ordered'][1]}.", ""]  # fmt: skip
    if "fig3a" in report:
        out += [
            "## Figure 3a, estimated for the Cortex-A72 (4 threads, FB-Net C = 1x)",
            "",
            "| net | params | MMACs | estimated ms | throughput vs FB-Net C | AttendNeXt speed-up | paper |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for r in report["fig3a"]["rows"]:
            out.append(
                f"| {r['net']} | {r['params'] / 1e6:.2f}M | {r['macs'] / 1e6:.0f} | {r['estimated_ms']:.1f} | "
                f"{r['relative_throughput']:.2f}x | {r['attendnext_speedup']:.2f}x | {r['paper_speedup']} |"
            )
        out.append("")
    if "host" in report:
        h = report["host"]
        out += [
            f"## Host calibration ({h['calibration_seconds']} s of micro-benchmarks), validated on the zoo",
            "",
            "```",
            *h["calibration_summary"],
            "```",
            "",
            f"Measured: onnxruntime, 1 thread, {h['runs']} runs per spec in 3 interleaved rounds; the error uses "
            f"the {'process CPU time' if h['clock'] == 'cpu' else 'wall time'} median.",
            "",
            "| net | predicted ms | measured ms (CPU) | measured ms (wall) | error |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in h["rows"]:
            out.append(
                f"| {r['net']} | {r['predicted_ms']:.2f} | {r['measured_cpu_ms']:.2f} | {r['measured_wall_ms']:.2f} | "
                f"{100 * r['error']:+.1f}% |"
            )
        out += [
            "",
            f"Spearman {h['spearman']:.3f}; pairs in the right order {h['pairs_ordered'][0]}/{h['pairs_ordered'][1]}; "
            f"max |error| {100 * h['max_abs_error']:.1f}%; all within +-25%: {h['within_25pct']}.",
            "",
        ]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("all", "a72", "host"), default="all")
    ap.add_argument("--fit", action="store_true", help="print the fitted A72 conv efficiencies and exit")
    ap.add_argument("--runs", type=int, default=30, help="timed runs per spec on the host")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = ap.parse_args()
    if args.fit:
        dense, pw = fit_a72(published_graphs())
        print(f"conv_dense compute_eff = {dense:.3f}\nconv_1x1 compute_eff = {pw:.3f}")
        return 0
    report: dict = {"machine": f"{platform.node()} ({platform.machine()}), Python {platform.python_version()}"}
    if args.part in ("all", "a72"):
        report["a72"] = part_a72()
        report["fig3a"] = part_fig3a()
    if args.part in ("all", "host"):
        report["host"] = part_host(args.runs, args.clock)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.part == "all" else f"_{args.part}"
    (RESULTS / f"a72_validation{suffix}.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (RESULTS / f"a72_validation{suffix}.md").write_text(text)
    print(text)
    ok = report.get("host", {}).get("within_25pct", True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

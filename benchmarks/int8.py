"""int8 against fp32, per spec: model size, host onnxruntime latency, agreement of the outputs.

    python benchmarks/int8.py [--size 224] [--images 32] [--rounds 5] [--runs 10] [SPEC ...]

For every spec (default: specs/attendnext.arch and specs/baselines/*.arch) it compiles the fp32
model (``archdsl compile --backend onnx``) and the int8 one (``--quantize int8 --calibration
DIR``), then measures with this machine's onnxruntime, one intra-op thread:

- size of both ``.onnx`` files;
- latency: ``--rounds`` rounds, each timing ``--runs`` inferences of fp32 then of int8
  (interleaved, so that a change of the machine's load hits both); the median per inference of
  the process CPU time (the machine is shared: CPU time is what an idle machine's wall time would
  be with one thread) and of the wall time;
- agreement: on the calibration images and on as many held-out images, the fraction of images
  whose top-1 class is the same for int8 and fp32, the largest absolute output difference and
  that difference relative to the largest |fp32 output|.

The calibration set is **synthetic and deterministic** (no data set is downloaded): seeded smooth
random fields, Gaussian noise at 1/16 of the resolution upsampled bilinearly plus fine noise at
0.3×, per channel, roughly zero-mean unit-variance like normalised photographs, saved as ``.npy``
inputs (C×H×W). The weights are the seeded initialisation (``--seed``), not trained ones: the
logits of an untrained net are close together, so top-1 agreement here is a stress test of the
quantisation error, not a statement about ImageNet accuracy. Results go to
benchmarks/results/int8.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def images(n: int, size: int, seed: int) -> np.ndarray:
    """``n`` synthetic images ``3×size×size`` (float32): smooth seeded fields plus fine noise."""
    rng = np.random.default_rng(seed)
    low = max(2, size // 16)
    out = np.empty((n, 3, size, size), np.float32)
    grid = np.linspace(0, low - 1, size)
    i0 = np.clip(np.floor(grid).astype(int), 0, low - 2)
    f = (grid - i0).astype(np.float32)
    for k in range(n):
        coarse = rng.standard_normal((3, low, low)).astype(np.float32)
        rows = coarse[:, i0, :] * (1 - f)[None, :, None] + coarse[:, i0 + 1, :] * f[None, :, None]
        full = rows[:, :, i0] * (1 - f)[None, None, :] + rows[:, :, i0 + 1] * f[None, None, :]
        out[k] = full + 0.3 * rng.standard_normal((3, size, size)).astype(np.float32)
    return out


def compile_spec(spec: Path, out: Path, size: int, seed: int, calibration: Path | None) -> None:
    argv = [sys.executable, "-m", "archdsl", "compile", str(spec), "--backend", "onnx", "-o", str(out)]
    argv += ["--input-size", str(size), "--seed", str(seed)]
    if calibration:
        argv += ["--quantize", "int8", "--calibration", str(calibration)]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        raise SystemExit(f"compiling {spec} failed:\n{proc.stderr}")


def session(path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def outputs(sess: ort.InferenceSession, xs: np.ndarray) -> np.ndarray:
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[None]})[0] for x in xs])


def agreement(y32: np.ndarray, y8: np.ndarray) -> dict:
    diff = float(np.max(np.abs(y8.astype(np.float64) - y32)))
    scale = float(np.max(np.abs(y32)))
    return {
        "top1_agreement": float(np.mean(np.argmax(y32, 1) == np.argmax(y8, 1))),
        "fp32_distinct_top1": len(set(np.argmax(y32, 1).tolist())),
        "max_abs_diff": diff,
        "rel_max_diff": diff / scale if scale else None,
        "max_abs_fp32": scale,
    }


def latency(sessions: dict[str, ort.InferenceSession], x: np.ndarray, rounds: int, runs: int) -> dict:
    name = next(iter(sessions.values())).get_inputs()[0].name
    wall: dict[str, list[float]] = {k: [] for k in sessions}
    cpu: dict[str, list[float]] = {k: [] for k in sessions}
    for s in sessions.values():
        for _ in range(3):
            s.run(None, {name: x})
    for _ in range(rounds):
        for key, s in sessions.items():
            for _ in range(runs):
                c0, t0 = time.process_time(), time.perf_counter()
                s.run(None, {name: x})
                wall[key].append(time.perf_counter() - t0)
                cpu[key].append(time.process_time() - c0)
    return {k: {"cpu_ms": float(np.median(cpu[k]) * 1e3), "wall_ms": float(np.median(wall[k]) * 1e3)} for k in sessions}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("specs", nargs="*", type=Path)
    ap.add_argument("--size", type=int, default=None, help="input height and width (default: each spec's own)")
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    specs = args.specs or [ROOT / "specs/attendnext.arch", *sorted((ROOT / "specs/baselines").glob("*.arch"))]
    import archdsl

    rows = []
    with tempfile.TemporaryDirectory(prefix="archdsl-int8-bench.") as tmp:
        for spec in specs:
            size = args.size or archdsl.load(spec).inputs[0].type.shape[-1]
            calib = images(args.images, size, seed=1000 + args.seed)
            held_out = images(args.images, size, seed=2000 + args.seed)
            cdir = Path(tmp) / f"calibration-{spec.stem}"
            cdir.mkdir()
            for i, x in enumerate(calib):
                np.save(cdir / f"img{i:04d}.npy", x)
            fp32, int8 = Path(tmp) / f"{spec.stem}.fp32.onnx", Path(tmp) / f"{spec.stem}.int8.onnx"
            compile_spec(spec, fp32, size, args.seed, None)
            compile_spec(spec, int8, size, args.seed, cdir)
            s32, s8 = session(fp32), session(int8)
            row = {
                "spec": spec.stem,
                "input_size": size,
                "fp32_mb": fp32.stat().st_size / 1e6,
                "int8_mb": int8.stat().st_size / 1e6,
            }
            row["latency"] = latency({"fp32": s32, "int8": s8}, calib[:1], args.rounds, args.runs)
            row["calibration_images"] = agreement(outputs(s32, calib), outputs(s8, calib))
            row["held_out_images"] = agreement(outputs(s32, held_out), outputs(s8, held_out))
            rows.append(row)
            lat, agree = row["latency"], (row["calibration_images"], row["held_out_images"])
            print(
                f"{spec.stem:22} {row['fp32_mb']:6.2f} MB -> {row['int8_mb']:5.2f} MB  "
                f"fp32 {lat['fp32']['cpu_ms']:7.2f} ms  int8 {lat['int8']['cpu_ms']:7.2f} ms (CPU)  "
                f"top-1 {agree[0]['top1_agreement']:.2f}/{agree[1]['top1_agreement']:.2f}",
                flush=True,
            )
    facts = {
        "machine": platform.machine(),
        "processor": platform.processor(),
        "onnxruntime": ort.__version__,
        "threads": 1,
        "input_size": args.size or "each spec's own",
        "images": args.images,
        "rounds": args.rounds,
        "runs_per_round": args.runs,
        "seed": args.seed,
        "calibration_set": "synthetic: seeded smooth random fields (1/16-resolution Gaussian upsampled) + 0.3x noise",
        "weights": "seeded initialisation (untrained)",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "int8.json").write_text(json.dumps({"facts": facts, "results": rows}, indent=2) + "\n")
    (args.out / "int8.md").write_text(markdown(facts, rows))
    print(f"wrote {args.out / 'int8.json'} and {args.out / 'int8.md'}")
    return 0


def markdown(facts: dict, rows: list[dict]) -> str:
    lines = [
        "# int8 (QDQ, per-channel, Conv+Gemm quantised) against fp32, host onnxruntime",
        "",
        f"onnxruntime {facts['onnxruntime']} on {facts['machine']}, 1 thread, input: {facts['input_size']}, "
        f"{facts['rounds']}×{facts['runs_per_round']} interleaved runs per model; latency is the median process "
        "CPU time per inference (wall-clock median beside it). Agreement on "
        f"{facts['images']} calibration images / {facts['images']} held-out images ({facts['calibration_set']}); "
        f"weights: {facts['weights']}. `python benchmarks/int8.py` wrote this file.",
        "",
        "| spec | input | fp32 MB | int8 MB | fp32 ms (CPU / wall) | int8 ms (CPU / wall) | int8 speed-up | "
        "top-1 agreement (calib / held-out) | distinct fp32 top-1 | max abs diff (calib) | "
        "rel. max diff (calib / held-out) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lat, c, h = r["latency"], r["calibration_images"], r["held_out_images"]
        speed = lat["fp32"]["cpu_ms"] / lat["int8"]["cpu_ms"]
        lines.append(
            f"| {r['spec']} | {r['input_size']} | {r['fp32_mb']:.2f} | {r['int8_mb']:.2f} | "
            f"{lat['fp32']['cpu_ms']:.2f} / {lat['fp32']['wall_ms']:.2f} | "
            f"{lat['int8']['cpu_ms']:.2f} / {lat['int8']['wall_ms']:.2f} | {speed:.2f}× | "
            f"{c['top1_agreement']:.2f} / {h['top1_agreement']:.2f} | {c['fp32_distinct_top1']} | "
            f"{c['max_abs_diff']:.3g} | "
            f"{c['rel_max_diff']:.3f} / {h['rel_max_diff']:.3f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

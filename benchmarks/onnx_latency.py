"""ONNX latency of every spec: our graph against ``torch.onnx.export`` of timm's implementation.

For each spec under ``specs/`` this compiles the ONNX backend's graph (default options: opset 17,
batch norm folded, branches merged, dynamic batch, seeded weights) and times it with onnxruntime on
the CPU: one intra-op and one inter-op thread, sequential execution, all graph optimisations
(``ORT_ENABLE_ALL``), batch 1, unit-normal input. It reports the median and 90th percentile
latency, the node count of the file and of onnxruntime's optimised graph, and the file size.

Weights are random on both sides. Ours: the backend's seeded numpy initialisation. timm's: its own
initialisation, except that the affine parameters and running statistics of every norm layer are
randomised (scale U(0.5, 1.5), shift N(0, 0.05), mean N(0, 0.1), variance U(0.8, 1.2)) before
export: timm zero-initialises the last BN of residual blocks (``zero_init_last``), and once the
exporter folds that BN the convolution before it is all zeros, which ``torch.onnx.export`` then
stores once for all blocks of a shape (Identity nodes) -- a file smaller than any trained model's.

Where timm has the same network (the baseline specs: ``mobilenetv3_large_100``, ``fbnetc_100``,
``mobileone_s1``, ``mobilevit_xs``, ``resnet18``), timm's model (random init, eval mode) is exported
with ``torch.onnx.export`` (the TorchScript exporter, opset 17, dynamic batch, constant folding)
and timed the same way, interleaved with ours round by round so that machine noise hits both
alike. MobileOne is exported twice: as timm builds it (train-time branches) and re-parameterised
(``timm.utils.reparameterize_model``), the form timm deploys.

timm needs torch 2.14.1 + torchvision 0.29.1, which live in their own environment
(``scripts/setup_timm_env.sh`` → ``.venv-timm``). The export runs there in a subprocess; if that
environment lacks ``onnx``, this script lends it the ``onnx`` (and ``protobuf``, ``ml_dtypes``)
of the running interpreter through a temporary ``PYTHONPATH`` folder of symlinks, changing nothing
in either environment. Without the timm environment the timm columns are left empty.

    python benchmarks/onnx_latency.py                    # all specs, writes benchmarks/results/onnx_latency.{md,json}
    python benchmarks/onnx_latency.py --runs 100 specs/baselines/resnet18.arch
    python benchmarks/onnx_latency.py --timm-python none # ours only
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TIMM_NAMES = ("mobilenetv3_large_100", "fbnetc_100", "mobileone_s1", "mobilevit_xs", "resnet18")

EXPORT = r"""
import json, sys, warnings
warnings.filterwarnings("ignore")
import torch, timm
from timm.utils.model import reparameterize_model

for job in json.loads(sys.argv[1]):
    torch.manual_seed(0)
    model = timm.create_model(job["timm"], pretrained=False).eval()
    with torch.no_grad():  # trained-like norm parameters (see the module docs: zero_init_last)
        for mod in model.modules():
            if isinstance(mod, (torch.nn.BatchNorm2d, torch.nn.LayerNorm, torch.nn.GroupNorm)):
                if getattr(mod, "weight", None) is not None:
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.normal_(0.0, 0.05)
                if getattr(mod, "running_mean", None) is not None:
                    mod.running_mean.normal_(0.0, 0.1)
                    mod.running_var.uniform_(0.8, 1.2)
    if job["reparam"]:
        model = reparameterize_model(model)
    x = torch.randn(1, *job["shape"])
    torch.onnx.export(
        model, (x,), job["out"], dynamo=False, opset_version=17, do_constant_folding=True,
        input_names=["image"], output_names=["output"],
        dynamic_axes={"image": {0: "batch"}, "output": {0: "batch"}},
    )
    print("exported", job["out"], flush=True)
print(json.dumps({"torch": torch.__version__, "timm": timm.__version__}))
"""


PROBE = """
import importlib.util
missing = []
for name in ("onnx", "google.protobuf", "ml_dtypes"):
    try:
        found = importlib.util.find_spec(name) is not None
    except ImportError:
        found = False
    if not found:
        missing.append(name)
print(",".join(missing))
"""


@dataclass
class Measure:
    label: str
    path: str
    size: int
    nodes: int
    ort_nodes: int = 0
    times_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p90(self) -> float:
        return float(np.percentile(self.times_ms, 90))


def session(path: Path, optimized: Path | None = None) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    if optimized is not None:
        so.optimized_model_filepath = str(optimized)
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def prepare(label: str, path: Path, tmp: Path) -> Measure:
    model = onnx.load(path, load_external_data=False)
    opt = tmp / f"{path.stem}.ort-optimized.onnx"
    session(path, opt)
    ort_nodes = len(onnx.load(opt, load_external_data=False).graph.node)
    return Measure(label, str(path), path.stat().st_size, len(model.graph.node), ort_nodes)


def time_models(models: list[Measure], shape: tuple[int, ...], runs: int, warmup: int, rounds: int) -> None:
    """Interleave the models: ``rounds`` rounds, each running every model runs/rounds times."""
    x = np.random.default_rng(0).standard_normal((1, *shape)).astype(np.float32)
    sessions = [session(Path(m.path)) for m in models]
    feeds = [{s.get_inputs()[0].name: x} for s in sessions]
    for s, f in zip(sessions, feeds, strict=True):
        for _ in range(warmup):
            s.run(None, f)
    per = max(1, runs // rounds)
    for _ in range(rounds):
        for m, s, f in zip(models, sessions, feeds, strict=True):
            for _ in range(per):
                t = time.perf_counter()
                s.run(None, f)
                m.times_ms.append((time.perf_counter() - t) * 1e3)


def timm_python(arg: str | None) -> str | None:
    if arg == "none":
        return None
    candidates = [arg] if arg else [os.environ.get("ARCHDSL_TIMM_PYTHON"), str(ROOT / ".venv-timm" / "bin" / "python")]
    for c in candidates:
        if c and Path(c).is_file():
            probe = subprocess.run([c, "-c", "import timm, torch"], capture_output=True, timeout=300)
            if probe.returncode == 0:
                return c
    return None


def overlay_for(python: str, tmp: Path) -> dict[str, str]:
    """PYTHONPATH lending this interpreter's onnx (and its deps) to ``python`` when it has none."""
    r = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise SystemExit(f"cannot probe the timm environment:\n{r.stderr[-2000:]}")
    missing = r.stdout.strip()
    if not missing:
        return {}
    folder = tmp / "overlay"
    folder.mkdir(exist_ok=True)
    for mod in missing.split(","):
        top = mod.split(".")[0]
        spec = importlib.util.find_spec(top)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"cannot lend '{top}' to the timm environment: not installed here either")
        src = Path(next(iter(spec.submodule_search_locations)))
        if not (folder / top).exists():
            (folder / top).symlink_to(src, target_is_directory=True)
    return {"PYTHONPATH": str(folder)}


def export_timm(python: str, jobs: list[dict], tmp: Path) -> dict:
    env = {**os.environ, **overlay_for(python, tmp)}
    r = subprocess.run([python, "-c", EXPORT, json.dumps(jobs)], capture_output=True, text=True, env=env, timeout=1800)
    if r.returncode != 0:
        raise SystemExit(f"timm export failed:\n{r.stderr[-4000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fmt_row(spec: str, net: str, shape, ours: Measure, theirs: Measure | None) -> str:
    def cols(m: Measure | None) -> list[str]:
        if m is None:
            return ["–"] * 5
        return [f"{m.median:.2f}", f"{m.p90:.2f}", str(m.nodes), str(m.ort_nodes), f"{m.size / 1e6:.2f}"]

    ratio = f"{theirs.median / ours.median:.2f}×" if theirs else "–"
    size = f"{ours.size / theirs.size:.3f}" if theirs else "–"
    label = theirs.label if theirs else "–"
    return "| " + " | ".join([spec, f"{shape[1]}²", *cols(ours), label, *cols(theirs), ratio, size]) + " |"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("specs", nargs="*", help="spec files (default: every spec under specs/)")
    ap.add_argument("--runs", type=int, default=300, help="timed runs per model (default 300)")
    ap.add_argument("--warmup", type=int, default=30, help="untimed runs first (default 30)")
    ap.add_argument("--rounds", type=int, default=10, help="interleaving rounds (default 10)")
    ap.add_argument("--timm-python", help="python of the timm environment ('none': skip timm)")
    ap.add_argument("--out", type=Path, default=RESULTS / "onnx_latency", help="results stem (.md and .json)")
    args = ap.parse_args(argv)

    from archdsl_backends.onnx import build_model, serialize

    import archdsl

    specs = [Path(s) for s in args.specs] or sorted((ROOT / "specs").rglob("*.arch"))
    tpy = timm_python(args.timm_python)
    versions = {"onnxruntime": ort.__version__, "onnx": onnx.__version__, "archdsl": archdsl.__version__}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        graphs = {}
        for spec in specs:
            g = archdsl.load(spec)
            path = tmp / f"{g.name}.onnx"
            path.write_bytes(serialize(build_model(g)))
            graphs[spec] = (g, path)
        jobs = []
        for _, (g, _) in graphs.items():
            if g.name in TIMM_NAMES:
                shape = list(g.inputs[0].type.shape)
                jobs.append({"timm": g.name, "reparam": False, "shape": shape, "out": str(tmp / f"timm_{g.name}.onnx")})
                if g.name.startswith("mobileone"):
                    out = str(tmp / f"timm_{g.name}_reparam.onnx")
                    jobs.append({"timm": g.name, "reparam": True, "shape": shape, "out": out})
        if tpy and jobs:
            print(f"exporting {len(jobs)} timm models with {tpy} ...", file=sys.stderr)
            versions |= export_timm(tpy, jobs, tmp)
        else:
            jobs = []
        rows, records = [], []
        for spec, (g, path) in graphs.items():
            rel = str(spec.resolve().relative_to(ROOT / "specs")) if spec.resolve().is_relative_to(ROOT) else str(spec)
            ours = prepare("archdsl", path, tmp)
            theirs = [
                prepare(f"timm{' (reparam.)' if j['reparam'] else ''}", Path(j["out"]), tmp)
                for j in jobs
                if j["timm"] == g.name
            ]
            print(f"timing {rel} ...", file=sys.stderr)
            time_models([ours, *theirs], g.inputs[0].type.shape, args.runs, args.warmup, args.rounds)
            shape = g.inputs[0].type.shape
            for th in theirs or [None]:
                rows.append(fmt_row(rel, g.name, shape, ours, th))
            records.append(
                {
                    "spec": rel,
                    "net": g.name,
                    "input": list(shape),
                    "archdsl": {k: v for k, v in asdict(ours).items() if k not in ("times_ms", "path")}
                    | {"median_ms": ours.median, "p90_ms": ours.p90},
                    "timm": [
                        {k: v for k, v in asdict(m).items() if k not in ("times_ms", "path")}
                        | {"median_ms": m.median, "p90_ms": m.p90}
                        for m in theirs
                    ],
                }
            )
    head = [
        "# ONNX latency: archdsl's ONNX backend vs torch.onnx.export of timm",
        "",
        f"onnxruntime {ort.__version__} CPU, 1 intra-op + 1 inter-op thread, sequential, ORT_ENABLE_ALL, batch 1, "
        f"{args.runs} timed runs per model after {args.warmup} warm-up runs, interleaved in {args.rounds} rounds. "
        f"Random weights. Machine: {cpu_name()}, {os.cpu_count()} logical CPUs. "
        + (f"timm {versions['timm']}, torch {versions['torch']} (TorchScript exporter, opset 17). " if jobs else "")
        + "Ours: `archdsl compile SPEC --backend onnx` defaults (opset 17, folds on, dynamic batch).",
        "",
        "nodes: in the file; ORT nodes: after onnxruntime's graph optimisations. speed-up: timm median / ours; "
        "size ratio: our file / timm's.",
        "",
        "| spec | input | median ms | p90 ms | nodes | ORT nodes | MB | timm model | median ms | p90 ms | nodes "
        "| ORT nodes | MB | speed-up | size ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    text = "\n".join(head + rows) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(text)
    meta = {"machine": cpu_name(), "cpus": os.cpu_count(), "versions": versions, "runs": args.runs}
    args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": records}, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

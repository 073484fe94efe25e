"""PyTorch latency of every spec: the torch backend's module, its deploy form, and timm's model.

For each spec under ``specs/`` this builds the module ``archdsl.build`` returns (eval mode) and its
deploy form (``--deploy``: batch norm folded, MobileOne branches merged) and times a forward pass:
batch 1, one intra-op and one inter-op thread, ``torch.inference_mode()``, unit-normal input,
warm-up runs first, then timed runs; it reports the median and the 90th percentile.

Where timm has the same network (spec file name → timm model: ``mobilenetv3_large_100``,
``fbnetc_100``, ``mobileone_s1``, ``mobilevit_xs``, ``resnet18``), timm's model (pretrained=False,
eval) is timed in the same process, as users run it (NCHW) and in channels_last memory format
(the format our module runs in), and for MobileOne also re-parameterised with
``timm.utils.reparameterize_model`` (timm's deploy form, to compare with ours). All models of a spec
are timed interleaved, round by round, so that machine noise hits them alike.

Weights are random on both sides; the affine parameters and running statistics of every norm
layer are randomised the same way on both (timm zero-initialises some, which would make folded
convolutions all zeros).

timm needs torch 2.14.1 + torchvision 0.29.1 in their own environment (``scripts/setup_timm_env.sh``
→ ``.venv-timm``, which also installs archdsl). Run this script with that interpreter; run with
another one that lacks timm, it re-executes itself under ``.venv-timm/bin/python`` when that
exists (``--timm-python none`` to stay), and otherwise leaves the timm columns empty.

    python benchmarks/torch_latency.py                      # writes benchmarks/results/torch_latency.{md,json}
    python benchmarks/torch_latency.py --runs 200 specs/baselines/resnet18.arch
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TIMM_NAMES = {
    "mobilenetv3_large_100": "mobilenetv3_large_100",
    "fbnetc_100": "fbnetc_100",
    "mobileone_s1": "mobileone_s1",
    "mobilevit_xs": "mobilevit_xs",
    "resnet18": "resnet18",
}


def _maybe_reexec(timm_python: str) -> None:
    if importlib.util.find_spec("timm") is not None or timm_python == "none":
        return
    exe = Path(timm_python) if timm_python != "auto" else ROOT / ".venv-timm" / "bin" / "python"
    if exe.exists() and Path(sys.executable).resolve() != exe.resolve():
        print(f"torch_latency: timm is not installed here; re-running under {exe}", file=sys.stderr)
        os.execv(str(exe), [str(exe), __file__, *sys.argv[1:], "--timm-python", "none"])


def _randomise_norms(model, seed: int = 0) -> None:
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.LayerNorm, torch.nn.GroupNorm)):
                if getattr(m, "weight", None) is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.05)
                if getattr(m, "running_mean", None) is not None:
                    m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                    m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 0.4 + 0.8)


def _models(spec: Path, use_timm: bool):
    """(label, model, input) for everything timed for one spec."""
    import torch
    from archdsl_backends.torch import reparameterize

    import archdsl

    graph = archdsl.load(spec)
    x = torch.randn(1, *graph.inputs[0].type.shape, generator=torch.Generator().manual_seed(0))
    ours = archdsl.build(spec, seed=0).eval()
    _randomise_norms(ours)
    out = [("ours", ours, x), ("ours deploy", reparameterize(ours), x)]
    name = TIMM_NAMES.get(spec.stem)
    if use_timm and name is not None:
        import timm
        from timm.utils.model import reparameterize_model

        torch.manual_seed(0)
        model = timm.create_model(name, pretrained=False).eval()
        _randomise_norms(model)
        out.append(("timm", model, x))
        cl = timm.create_model(name, pretrained=False).eval()
        cl.load_state_dict(model.state_dict())
        cl = cl.to(memory_format=torch.channels_last)
        # the same NCHW input as everyone else, converted as a user of a channels_last model must
        out.append(("timm channels_last", lambda t, m=cl: m(t.contiguous(memory_format=torch.channels_last)), x))
        if name.startswith("mobileone"):
            out.append(("timm reparam.", reparameterize_model(model), x))
    return graph, out


def _time(models, warmup: int, runs: int, rounds: int) -> dict[str, list[float]]:
    import torch

    samples: dict[str, list[float]] = {label: [] for label, _, _ in models}
    per_round = max(1, runs // rounds)
    with torch.inference_mode():
        for _, model, x in models:
            for _ in range(warmup):
                model(x)
        for _ in range(rounds):
            for label, model, x in models:
                for _ in range(per_round):
                    t0 = time.perf_counter()
                    model(x)
                    samples[label].append(time.perf_counter() - t0)
    return samples


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": 1e3 * statistics.median(ordered),
        "p90_ms": 1e3 * ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
        "runs": len(ordered),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("specs", nargs="*", type=Path, help="spec files (default: every spec under specs/)")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up runs per model (default 10)")
    parser.add_argument("--runs", type=int, default=60, help="timed runs per model (default 60)")
    parser.add_argument("--rounds", type=int, default=6, help="interleaving rounds (default 6)")
    parser.add_argument("--timm-python", default="auto", help="interpreter with timm, or 'none' (default: auto)")
    parser.add_argument("--out", type=Path, default=RESULTS / "torch_latency", help="output stem (.md and .json)")
    args = parser.parse_args(argv)
    _maybe_reexec(args.timm_python)

    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    use_timm = importlib.util.find_spec("timm") is not None
    specs = args.specs or sorted((ROOT / "specs").rglob("*.arch"))
    rows = []
    for spec in specs:
        spec = spec.resolve()
        graph, models = _models(spec, use_timm)
        samples = _time(models, args.warmup, args.runs, args.rounds)
        row = {
            "spec": str(spec.relative_to(ROOT / "specs")) if spec.is_relative_to(ROOT / "specs") else str(spec),
            "input": list(graph.inputs[0].type.shape),
            "params": graph.total_params,
            "timm_model": TIMM_NAMES.get(spec.stem) if use_timm else None,
            "results": {label: _stats(v) for label, v in samples.items()},
        }
        rows.append(row)
        res = row["results"]
        line = ", ".join(f"{k} {v['median_ms']:.2f} ms" for k, v in res.items())
        print(f"{row['spec']}: {line}", file=sys.stderr, flush=True)

    env = {
        "torch": torch.__version__,
        "timm": _version("timm") if use_timm else None,
        "python": platform.python_version(),
        "cpu": _cpu(),
        "logical_cpus": os.cpu_count(),
        "threads": 1,
        "warmup": args.warmup,
        "runs": args.runs,
        "rounds": args.rounds,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"environment": env, "rows": rows}, indent=2) + "\n")
    table = render(rows, env)
    args.out.with_suffix(".md").write_text(table)
    print(table)
    return 0


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cell(res: dict, key: str) -> tuple[str, str]:
    if key not in res:
        return "–", "–"
    return f"{res[key]['median_ms']:.2f}", f"{res[key]['p90_ms']:.2f}"


def render(rows: list[dict], env: dict) -> str:
    out = [
        "# PyTorch latency: archdsl's torch backend vs timm",
        "",
        f"torch {env['torch']}, {env['threads']} intra-op + 1 inter-op thread, eval, `torch.inference_mode()`, "
        f"batch 1, {env['runs']} timed runs per model after {env['warmup']} warm-up runs, interleaved in "
        f"{env['rounds']} rounds. Random weights (norm layers randomised alike). Machine: {env['cpu']}, "
        f"{env['logical_cpus']} logical CPUs. timm {env['timm'] or 'not installed'}. {env['date']}.",
        "",
        "ours: `archdsl.build(spec)`; deploy: `archdsl.build(spec, deploy=True)` (BN folded, MobileOne "
        "branches merged). timm: `timm.create_model(name)` as users run it (NCHW), and in channels_last "
        "(`model.to(memory_format=torch.channels_last)`, the input converted in the timed call, as our "
        "module does in its forward). Speed-up: timm's median / "
        "ours; vs best: against the faster of timm's two formats; deploy speed-up: against the fastest "
        "timm variant (including timm's re-parameterised MobileOne).",
        "",
        "| spec | input | ours median ms | p90 | deploy median ms | p90 | timm model | timm median ms | p90 "
        "| timm channels_last median ms | p90 | speed-up | vs best | deploy speed-up |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        res = row["results"]
        size = "×".join(str(d) for d in row["input"][1:]) or str(row["input"][0])
        ours, ours90 = _cell(res, "ours")
        dep, dep90 = _cell(res, "ours deploy")
        timm_m, timm90 = _cell(res, "timm")
        cl_m, cl90 = _cell(res, "timm channels_last")
        speed = best = dspeed = "–"
        if "timm" in res:
            o = res["ours"]["median_ms"]
            t = res["timm"]["median_ms"]
            tb = min(t, res["timm channels_last"]["median_ms"])
            td = min(v["median_ms"] for k, v in res.items() if k.startswith("timm"))
            speed, best = f"{t / o:.2f}×", f"{tb / o:.2f}×"
            dspeed = f"{td / res['ours deploy']['median_ms']:.2f}×"
        name = row["timm_model"] or "–"
        out.append(
            f"| {row['spec']} | {size} | {ours} | {ours90} | {dep} | {dep90} | {name} | {timm_m} | {timm90} "
            f"| {cl_m} | {cl90} | {speed} | {best} | {dspeed} |"
        )
        if "timm reparam." in res:
            rm, r90 = _cell(res, "timm reparam.")
            out.append(f"| ↳ timm re-parameterised | | | | | | {name} (reparam.) | {rm} | {r90} | | | | | |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())

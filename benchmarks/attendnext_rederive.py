"""AttendNeXt re-derived: a constrained design exploration over specs/spaces/attendnext_family.arch.

Issue 18, item 6. The AttendNeXt paper (section 2.2) found its network by generative synthesis:
maximise a performance function subject to an indicator 1_r of four design constraints. Here:

- generator: Optuna's TPE sampler over the family net's parameters (stem block, per-stage width,
  depth, column count, kernel, DC-AC placement, DC-AC width, unit kind, activation);
- inquisitor: the exact parameter/MAC counts, the lint rules AD101-AD104 (the paper's constraints
  1-4; AD104 reads the recorded top-1, which an untrained point cannot have, so the accuracy
  floor is stood in for by a MAC floor, below) and the analytical Cortex-A72 model (1 thread);
- indicator 1_r: AD101-AD104 report nothing, 3.5M <= params <= 4.0M, MACs >= 200M (OFA-62, found
  by NAS for exactly 75.8% top-1, needs 208M; no baseline reaches it with less); and two of our
  own: at least two DC-AC modules (the paper's network is built around them: without any it would
  not be AttendNeXt), every column at least 16 channels wide and a multiple of 8 (a column
  narrower than a few SIMD registers wastes lanes on any real CPU, which the A72 model does not
  see: measured here, a dense 3x3 conv of 8 channels at 56x56 runs at 40% of the rate of one of 48),
  and stage widths that never shrink (stem <= stage1 <= ... <= stage4, as in every baseline: a
  narrow middle stage is an information bottleneck the MAC floor would not catch), and at least
  MIN_DEPTH weighted layers (conv, linear) on the longest path: without it the search returns
  16-layer nets that meet the MAC floor in one wide last stage. The baselines that reach ~75.8%
  have 44 (MobileOne-S1) to 66 (FBNet-C), the reconstruction 54; ResNet-18's 18 reach 71.5%;
- objective: minimise the A72-model latency (1 thread), i.e. maximise its throughput.

The program is loaded once and every trial resolves it with overrides (the `-p` mechanism of the
CLI). A point that does not resolve is infeasible, with its diagnostic recorded. The top designs
are then measured with onnxruntime on this machine (1 thread, interleaved with the baselines in
rounds, medians of the per-inference process CPU time, which a loaded machine inflates least).

    nice -n 10 python benchmarks/attendnext_rederive.py --trials 400 --host-top 4

writes benchmarks/results/attendnext_rederive.json and .md. `--host-only` re-measures the
committed specs only. Everything printed is an ESTIMATE where it comes from the A72 model.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archdsl.analysis.a72 import A72  # noqa: E402
from archdsl.analysis.latency import predict  # noqa: E402
from archdsl.analysis.summary import summarize  # noqa: E402
from archdsl.diagnostics import DiagnosticError  # noqa: E402
from archdsl.resolve import Resolver, load_program  # noqa: E402

FAMILY = ROOT / "specs" / "spaces" / "attendnext_family.arch"
RESULTS = ROOT / "benchmarks" / "results"
AD = ("AD101", "AD102", "AD103", "AD104")
MIN_PARAMS, MAX_PARAMS, MIN_MACS = 3_500_000, 4_000_000, 200_000_000
MIN_DCAC, COLUMN_MULTIPLE, MIN_COLUMN = 2, 8, 16
MIN_DEPTH = 30
BASELINES = {
    "mobilenetv3_large_100": ROOT / "specs/baselines/mobilenetv3_large_100.arch",
    "ofa_62": ROOT / "specs/baselines/ofa_62.arch",
    "fbnetc_100": ROOT / "specs/baselines/fbnetc_100.arch",
    "mobileone_s1": ROOT / "specs/baselines/mobileone_s1.arch",
    "mobilevit_xs": ROOT / "specs/baselines/mobilevit_xs.arch",
}
SHALLOW = {  # the best host point of a search without the depth floor (16 weighted layers): for comparison
    "stem_block": "stem_blur", "stem_c": 16, "res": False, "act": "relu", "attn_mid": 2,
    "c1": 16, "d1": 1, "n1": 2, "k1": 3, "t1": 1, "a1": False, "c2": 32, "d2": 1, "n2": 2, "k2": 3, "t2": 1,
    "a2": True, "c3": 32, "d3": 1, "n3": 4, "k3": 3, "t3": 1, "a3": True, "d4": 1, "n4": 2, "k4": 3, "t4": 3,
    "a4": True, "c4": 352,
}  # fmt: skip
OURS = {
    "attendnext_v2": ROOT / "specs/attendnext_v2.arch",
    "attendnext (reconstruction)": ROOT / "specs/attendnext.arch",
}


# ---- evaluating one point ---------------------------------------------------------------------
class Family:
    """The family program, loaded once; :meth:`evaluate` resolves, counts, lints and estimates."""

    def __init__(self, path: Path = FAMILY):
        from archdsl.rules import config as cfgmod
        from archdsl.rules.engine import Linter, Overrides

        self.path = path
        self.prog = load_program(path)
        self.name = self.prog.root.nets[0].name
        cfg = Overrides(select=AD).apply(cfgmod.LintConfig())
        self.linter = Linter(config=cfg)
        self.resolved = self.linter.resolved_for(path)
        self.codes = self.resolved.codes_for(path)

    def graph(self, overrides: dict):
        return Resolver(self.prog).resolve(self.name, overrides)

    def lint(self, graph) -> list[str]:
        from archdsl.rules.context import LintContext

        label = str(self.path)
        ctx = LintContext(
            file=label,
            text=self.prog.texts[label],
            program=self.prog,
            graphs={self.name: graph},
            sources=self.linter.sources,
            options=self.resolved.options,
            settings={"root": self.resolved.config.root},
        )
        findings, _ = self.linter.check(ctx, self.codes, self.resolved)
        return [f"{f.code}: {f.message}" for f in findings]

    def evaluate(self, overrides: dict) -> dict:
        try:
            g = self.graph(overrides)
        except DiagnosticError as exc:
            return {"feasible": False, "error": "; ".join(d.message for d in exc.diagnostics)[:300]}
        rec = measure(g)
        rec["lint"] = self.lint(g)
        rec["dcac"] = sum(1 for s in g.scopes if s.kind == "block" and s.name == "dcac")
        rec["narrow_columns"] = narrow_columns(g)
        rec["shrinking"] = shrinking(g)
        rec["depth"] = weighted_depth(g)
        rec["violations"] = violations(rec)
        rec["feasible"] = not rec["violations"]
        return rec


def measure(g) -> dict:
    """Counts and A72-model latencies (1 and 4 threads) of a resolved graph."""
    head = sum(n.params for n in g.nodes if n.id.split(".")[0] == "head")
    return {
        "params": g.total_params,
        "macs": g.total_macs,
        "head_share": round(head / g.total_params, 4),
        "a72_ms_1t": round(predict(g, A72, 1).seconds * 1e3, 2),
        "a72_ms_4t": round(predict(g, A72, 4).seconds * 1e3, 2),
    }


def narrow_columns(g) -> int:
    """How many split columns are narrower than, or not a multiple of, COLUMN_MULTIPLE channels."""
    bad = 0
    for s in g.scopes:
        if s.kind == "columns" and s.args.get("split"):
            first = next((n for n in g.nodes if n.id.startswith(s.path + ".") and n.op == "conv"), None)
            if first is not None and (first.out.shape[0] % COLUMN_MULTIPLE or first.out.shape[0] < MIN_COLUMN):
                bad += 1
    return bad


def weighted_depth(g) -> int:
    """Weighted layers (conv, linear) on the longest input-to-output path."""
    d = {i.name: 0 for i in g.inputs}
    for n in g.nodes:  # topological order
        d[n.id] = max((d.get(r, 0) for r in n.inputs), default=0) + (n.op in ("conv", "linear"))
    return max(d.values())


def shrinking(g) -> int:
    """How many stages (stem, stage1-4) are narrower than the one before."""
    widths = [r.out.shape[0] for r in summarize(g, depth=1) if r.path != "head"]
    return sum(1 for a, b in itertools.pairwise(widths) if b < a)


def violations(rec: dict) -> list[str]:
    out = list(rec.get("lint", []))
    if rec.get("dcac", MIN_DCAC) < MIN_DCAC:
        out.append(f"{rec['dcac']} DC-AC modules, fewer than {MIN_DCAC}")
    if rec.get("depth", MIN_DEPTH) < MIN_DEPTH:
        out.append(f"{rec['depth']} weighted layers deep, fewer than {MIN_DEPTH}")
    if rec.get("shrinking"):
        out.append(f"{rec['shrinking']} stages narrower than the one before")
    if rec.get("narrow_columns"):
        out.append(f"{rec['narrow_columns']} columns narrower than {MIN_COLUMN} or not a multiple of {COLUMN_MULTIPLE}")
    if rec["params"] < MIN_PARAMS or rec["params"] > MAX_PARAMS:
        out.append(f"params {rec['params']:,} outside [{MIN_PARAMS:,}, {MAX_PARAMS:,}]")
    if rec["macs"] < MIN_MACS:
        out.append(f"MACs {rec['macs']:,} below {MIN_MACS:,}")
    return out


def stage_split(g) -> list[dict]:
    return [
        {"stage": r.path, "params": r.params, "macs": r.macs, "out": list(r.out.shape)} for r in summarize(g, depth=1)
    ]


C4 = range(64, 513, 32)


def fit_c4(fam: Family, p: dict) -> dict:
    """The smallest last-stage column width (a multiple of 32) that brings the point into the parameter
    budget: the budget is a band (3.5-4.0M) that random widths rarely hit, so the search samples
    every other choice and solves this one, as compound scaling fits a width to a budget.
    Parameters grow with c4, so a bisection over C4 finds it; when no c4 fits, the point keeps the
    c4 closest to the band and is infeasible."""
    lo, hi = 0, len(C4) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        try:
            n = fam.graph(p | {"c4": C4[mid]}).total_params
        except DiagnosticError:
            return p | {"c4": C4[mid]}
        if n < MIN_PARAMS:
            lo = mid + 1
        else:
            hi = mid
    return p | {"c4": C4[lo]}


# ---- the search --------------------------------------------------------------------------------
def suggest(trial) -> dict:
    """The search space: every structural choice of the family net."""
    p: dict = {
        "stem_block": trial.suggest_categorical("stem_block", ["stem_blur", "stem_blur2", "stem_conv"]),
        "stem_c": trial.suggest_int("stem_c", 16, 32, step=8),
        "res": trial.suggest_categorical("res", [True, False]),
        "act": trial.suggest_categorical("act", ["relu", "silu"]),
        "attn_mid": trial.suggest_categorical("attn_mid", [2, 4, 8]),
    }
    widths = {1: (16, 48, 8), 2: (16, 96, 8), 3: (16, 192, 16)}  # per column; c4 is solved (fit_c4)
    for i in range(1, 5):
        if i in widths:
            lo, hi, step = widths[i]
            p[f"c{i}"] = trial.suggest_int(f"c{i}", lo, hi, step=step)
        p[f"d{i}"] = trial.suggest_int(f"d{i}", 1, 6 if i == 3 else 4)
        p[f"n{i}"] = trial.suggest_categorical(f"n{i}", [2, 4])
        p[f"k{i}"] = trial.suggest_categorical(f"k{i}", [3, 5]) if i <= 2 else 3
        p[f"t{i}"] = trial.suggest_categorical(f"t{i}", [1, 3])
        p[f"a{i}"] = trial.suggest_categorical(f"a{i}", [False, True])
    return p


def search(trials: int, seed: int) -> tuple[list[dict], dict]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    fam = Family()
    records: list[dict] = []

    def objective(trial):
        p = fit_c4(fam, suggest(trial))
        rec = fam.evaluate(p)
        rec["trial"] = trial.number
        rec["params_set"] = p
        records.append(rec)
        trial.set_user_attr("feasible", rec["feasible"])
        if "error" in rec:  # does not resolve: infeasible, with its diagnostic recorded
            trial.set_user_attr("error", rec["error"])
            trial.set_constraint("resolves", 1e3)
            return 1e4
        # Optuna constraints (<= 0 is feasible), scaled so that TPE sees how far a point is.
        trial.set_constraint("min_params", (MIN_PARAMS - rec["params"]) / 1e6)
        trial.set_constraint("max_params", (rec["params"] - MAX_PARAMS) / 1e6)
        trial.set_constraint("min_macs", (MIN_MACS - rec["macs"]) / 1e8)
        trial.set_constraint("lint", float(len(rec["lint"])))
        trial.set_constraint("dcac", float(MIN_DCAC - rec["dcac"]))
        trial.set_constraint("columns", float(rec["narrow_columns"]))
        trial.set_constraint("widths", float(rec["shrinking"]))
        trial.set_constraint("depth", (MIN_DEPTH - rec["depth"]) / 10)
        return rec["a72_ms_1t"]

    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=40)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    info = {"optuna": optuna.__version__, "trials": trials, "seed": seed, "seconds": round(time.perf_counter() - t0, 1)}
    return records, info


def _session(g, workdir: Path):
    import numpy as np
    import onnxruntime as ort

    from archdsl.bench.artefact import onnx_file

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(onnx_file(g, workdir)), so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal([1, *g.inputs[0].type.shape]).astype(np.float32)
    return sess, {sess.get_inputs()[0].name: x}


def _cpu_times(sess, feed, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        c0 = time.process_time()
        sess.run(None, feed)
        out.append(time.process_time() - c0)
    return out


def host_search(trials: int, seed: int, start: list[dict], a72_limit_ms: float, ref: str = "mobilenetv3_large_100"):
    """Second study: TPE on the host onnxruntime latency relative to ``ref``, measured interleaved.

    Same constraints as the first study plus the A72 target (``a72_limit_ms``, 1 thread); a point
    that violates any is not measured. The first study's best points are enqueued as a start.
    Objective: median CPU time of the candidate over the median of ``ref`` (runs alternate in
    rounds, so machine load hits both alike).
    """
    import optuna

    import archdsl

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    fam = Family()
    records: list[dict] = []
    tmp = Path(tempfile.mkdtemp(prefix="attendnext-host-"))
    ref_sess = _session(archdsl.load(BASELINES[ref]), tmp)
    _cpu_times(*ref_sess, 5)

    def objective(trial):
        p = fit_c4(fam, suggest(trial))
        rec = fam.evaluate(p)
        rec["trial"] = trial.number
        rec["params_set"] = p
        records.append(rec)
        if "error" in rec:
            trial.set_constraint("resolves", 1e3)
            return 10.0
        trial.set_constraint("min_params", (MIN_PARAMS - rec["params"]) / 1e6)
        trial.set_constraint("max_params", (rec["params"] - MAX_PARAMS) / 1e6)
        trial.set_constraint("min_macs", (MIN_MACS - rec["macs"]) / 1e8)
        trial.set_constraint("lint", float(len(rec["lint"])))
        trial.set_constraint("dcac", float(MIN_DCAC - rec["dcac"]))
        trial.set_constraint("columns", float(rec["narrow_columns"]))
        trial.set_constraint("widths", float(rec["shrinking"]))
        trial.set_constraint("depth", (MIN_DEPTH - rec["depth"]) / 10)
        trial.set_constraint("a72", (rec["a72_ms_1t"] - a72_limit_ms) / 100)
        if not rec["feasible"] or rec["a72_ms_1t"] > a72_limit_ms:
            return 10.0
        sess = _session(fam.graph(p), tmp)
        _cpu_times(*sess, 3)
        mine, theirs = [], []
        for _ in range(4):
            mine += _cpu_times(*sess, 4)
            theirs += _cpu_times(*ref_sess, 4)
        rec["host_ratio"] = round(statistics.median(mine) / statistics.median(theirs), 4)
        rec["host_cpu_ms"] = round(statistics.median(mine) * 1e3, 3)
        return rec["host_ratio"]

    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=20)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    for p in start:
        study.enqueue_trial({k: v for k, v in p.items() if k != "c4"})
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    info = {"trials": trials, "seed": seed, "reference": ref, "seconds": round(time.perf_counter() - t0, 1)}
    return records, info


# ---- host onnxruntime, interleaved ----------------------------------------------------------------
def host_times(graphs: dict, rounds: int = 5, runs: int = 10, warmup: int = 3) -> dict[str, dict]:
    """Per-inference medians (process CPU time and wall) on onnxruntime, 1 thread, interleaved rounds."""
    with tempfile.TemporaryDirectory() as tmp:
        sessions = {name: _session(g, Path(tmp)) for name, g in graphs.items()}
    cpu: dict[str, list[float]] = {n: [] for n in graphs}
    wall: dict[str, list[float]] = {n: [] for n in graphs}
    for _ in range(rounds):
        for name, (sess, feed) in sessions.items():
            for _ in range(warmup):
                sess.run(None, feed)
            for _ in range(runs):
                c0, w0 = time.process_time(), time.perf_counter()
                sess.run(None, feed)
                cpu[name].append(time.process_time() - c0)
                wall[name].append(time.perf_counter() - w0)
    return {
        n: {
            "cpu_ms": round(statistics.median(cpu[n]) * 1e3, 3),
            "wall_ms": round(statistics.median(wall[n]) * 1e3, 3),
            "samples": len(cpu[n]),
        }
        for n in graphs
    }


def proxies(graphs: dict, resolution: int = 64) -> dict[str, dict]:
    """Zero-cost accuracy PROXIES (archdsl.evaluators, branch p18-eval) at initialisation, seed 0.

    NASWOT (Mellor et al. 2021) and synflow (Tanaka et al. 2020), both higher-is-better, at a
    ``resolution``² input (the evaluators re-resolve the spec; 32² is too small for a net that
    downsamples 32×). Proxies, not accuracies.
    """
    from archdsl.evaluators import load_evaluator

    out: dict[str, dict] = {}
    for name, g in graphs.items():
        out[name] = {}
        for ev in ("naswot", "synflow"):
            try:
                out[name][ev] = round(load_evaluator(ev).evaluate(g, seed=0, options={"resolution": resolution}), 3)
            except DiagnosticError as exc:
                out[name][ev] = None
                out[name][ev + "_error"] = exc.diagnostics[0].message
    return out


# ---- reporting ---------------------------------------------------------------------------------------
def table(rows: dict[str, dict], base: str = "fbnetc_100") -> str:
    b = rows[base]
    lines = [
        "| net | params | MACs | head share | A72 ms (1 thread) | × FBNet-C | A72 ms (4 threads) | × FBNet-C "
        "| host ORT ms (CPU) | × FBNet-C | host ORT ms (wall) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        h = r.get("host", {})
        hx = f"{b['host']['cpu_ms'] / h['cpu_ms']:.2f}×" if h and b.get("host") else "—"
        lines.append(
            f"| {name} | {r['params']:,} | {r['macs'] / 1e6:.0f}M | {r['head_share'] * 100:.1f}% "
            f"| {r['a72_ms_1t']:.1f} | {b['a72_ms_1t'] / r['a72_ms_1t']:.2f}× "
            f"| {r['a72_ms_4t']:.1f} | {b['a72_ms_4t'] / r['a72_ms_4t']:.2f}× "
            f"| {h.get('cpu_ms', '—')} | {hx} | {h.get('wall_ms', '—')} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--host-top", type=int, default=4, help="confirm this many best feasible points on host ORT")
    ap.add_argument("--host-trials", type=int, default=0, help="trials of the second, host-measured study")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--host-only", action="store_true", help="no search: measure the committed specs")
    ap.add_argument("--no-host", action="store_true")
    ap.add_argument("--proxies", action="store_true", help="NASWOT and synflow of ours and the top designs (slow)")
    ap.add_argument("--out", default=str(RESULTS / "attendnext_rederive"))
    args = ap.parse_args(argv)

    import archdsl

    out: dict = {"constraints": {"lint": list(AD), "params": [MIN_PARAMS, MAX_PARAMS], "min_macs": MIN_MACS}}
    fam = Family()
    top: list[dict] = []
    if not args.host_only:
        records, info = search(args.trials, args.seed)
        feas = sorted((r for r in records if r["feasible"]), key=lambda r: r["a72_ms_1t"])
        out["search"] = info | {
            "feasible": len(feas),
            "unresolved": sum(1 for r in records if "error" in r),
            "best": feas[:10],
        }
        print(f"{len(records)} trials, {len(feas)} feasible, in {info['seconds']} s", file=sys.stderr)
        if args.host_trials:
            fb = measure(archdsl.load(BASELINES["fbnetc_100"]))["a72_ms_1t"]
            start = []
            for r in feas:
                if r["params_set"] not in start:
                    start.append(r["params_set"])
                if len(start) >= 10:
                    break
            hrec, hinfo = host_search(args.host_trials, args.seed, start, fb / 2)
            measured = sorted((r for r in hrec if "host_ratio" in r), key=lambda r: r["host_ratio"])
            out["host_search"] = hinfo | {"measured": len(measured), "best": measured[:10]}
            print(f"host study: {len(hrec)} trials, {len(measured)} measured, in {hinfo['seconds']} s", file=sys.stderr)
            feas = measured
        seen: set = set()
        for r in feas:
            key = (r["params"], r["macs"])
            if key not in seen:
                seen.add(key)
                top.append(r)
            if len(top) >= args.host_top:
                break
        for r in top:
            keys = ("trial", "params", "macs", "a72_ms_1t", "a72_ms_4t", "host_ratio")
            print(json.dumps({k: r.get(k) for k in keys}), file=sys.stderr)
            print("  ", json.dumps(r["params_set"]), file=sys.stderr)
    graphs = {name: archdsl.load(p) for name, p in OURS.items() if p.exists()}
    for i, r in enumerate(top):
        graphs[f"search #{i + 1} (trial {r['trial']})"] = fam.graph(r["params_set"])
    if args.host_only:
        graphs["family point, 16 layers (no depth floor)"] = fam.graph(SHALLOW)
    graphs |= {name: archdsl.load(p) for name, p in BASELINES.items()}
    rows = {name: measure(g) for name, g in graphs.items()}
    for name, g in graphs.items():
        if name in OURS:
            rows[name]["stages"] = stage_split(g)
    if not args.no_host:
        for name, h in host_times(graphs, rounds=args.rounds).items():
            rows[name]["host"] = h
    if args.proxies:
        scored = {n: g for n, g in graphs.items() if n not in BASELINES}
        for name, pr in proxies(scored).items():
            rows[name]["proxy"] = pr
    out["rows"] = rows
    out["top"] = [{"trial": r["trial"], "params_set": r["params_set"]} for r in top]
    Path(args.out + ".json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    md = ["# AttendNeXt re-derived (benchmarks/attendnext_rederive.py)", ""]
    md += ["A72 columns: ESTIMATE (analytical Cortex-A72 model). Host: onnxruntime, 1 thread, interleaved", ""]
    if "search" in out:
        s = out["search"]
        md += [
            f"Search: Optuna {s['optuna']} TPE, {s['trials']} trials, seed {s['seed']}, {s['seconds']} s; "
            f"{s['feasible']} feasible, {s['unresolved']} unresolved.",
            "",
        ]
    md += [table(rows), ""]
    scored = [(n, r["proxy"]) for n, r in rows.items() if "proxy" in r]
    if scored:
        md += ["Zero-cost PROXIES at initialisation (seed 0, 64×64 input; higher is better; not accuracies):", ""]
        md += ["| net | NASWOT | synflow |", "|---|---:|---:|"]
        md += [f"| {n} | {p.get('naswot')} | {p.get('synflow')} |" for n, p in scored]
        md += [""]
    Path(args.out + ".md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

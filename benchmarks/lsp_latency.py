"""Latency of the language server (`archdsl lsp`), as an editor sees it.

A pygls client starts `python -m archdsl lsp` and, for specs/attendnext.arch and a generated spec
of about 5,000 lines (benchmarks/core_speed.py's generator), measures:

  * change → diagnostics: from sending a textDocument/didChange to receiving the
    textDocument/publishDiagnostics of that version, for a typo that makes an E201 error, for the
    fix that makes the spec compile again (then the lint rules run too), and for a new line at the
    top of the file (every definition moves: the incremental parser shifts cached ASTs);
  * hover: the round trip of a textDocument/hover on a stage name, while the server is idle, and
    sent right after a change (answered while the change is being checked).

Targets (issue 14): under 100 ms on attendnext.arch, under 1 s on the 5,000-line spec. The
server's debounce (30 ms by default) is part of every change → diagnostics time. Then, in
process, where the time of one analysis goes: parse + load, resolve, lint (Analysis.timings) and
the top functions of a profile.

Writes benchmarks/results/lsp_latency.json and lsp_latency.md. Run: python benchmarks/lsp_latency.py
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from core_speed import generated_spec  # noqa: E402

OUT_JSON = ROOT / "benchmarks" / "results" / "lsp_latency.json"
OUT_MD = ROOT / "benchmarks" / "results" / "lsp_latency.md"
LOAD = [0.0, 0.0]
REPEATS = {"attendnext.arch": 20, "generated (5k lines)": 5}


class Session:
    def __init__(self) -> None:
        self.client = LanguageClient("lsp-latency", "1")
        self.arrived: dict[tuple[str, int | None], tuple[float, list]] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_publish(params: types.PublishDiagnosticsParams):
            self.arrived[(params.uri, params.version)] = (time.perf_counter(), list(params.diagnostics))

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params):
            if params.type == types.MessageType.Error:
                print("server error:", params.message, file=sys.stderr)

    async def start(self) -> None:
        await self.client.start_io(sys.executable, "-m", "archdsl", "lsp")
        await self.client.initialize_async(
            types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=ROOT.as_uri())
        )
        self.client.initialized(types.InitializedParams())

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    async def wait(self, uri: str, version: int, timeout: float = 120) -> tuple[float, list]:
        deadline = time.perf_counter() + timeout
        while (uri, version) not in self.arrived:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no diagnostics for version {version}")
            await asyncio.sleep(0.0005)
        return self.arrived[(uri, version)]


class Doc:
    def __init__(self, session: Session, path: Path, text: str):
        self.s = session
        self.uri = path.as_uri()
        self.text = text
        self.version = 1

    async def open(self) -> float:
        t0 = time.perf_counter()
        self.s.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=self.uri, language_id="archdsl", version=1, text=self.text)
            )
        )
        t1, _ = await self.s.wait(self.uri, 1)
        return t1 - t0

    def pos(self, offset: int) -> types.Position:
        line = self.text.count("\n", 0, offset)
        return types.Position(line=line, character=offset - (self.text.rfind("\n", 0, offset) + 1))

    def send_replace(self, old: str, new: str) -> float:
        a = self.text.index(old)
        return self.send_edit(a, a + len(old), new)

    def send_edit(self, a: int, b: int, new: str) -> float:
        rng = types.Range(start=self.pos(a), end=self.pos(b))
        self.text = self.text[:a] + new + self.text[b:]
        self.version += 1
        t0 = time.perf_counter()
        self.s.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=[types.TextDocumentContentChangePartial(range=rng, text=new)],
            )
        )
        return t0

    async def change(self, old: str, new: str) -> tuple[float, list]:
        t0 = self.send_replace(old, new)
        t1, diags = await self.s.wait(self.uri, self.version)
        return t1 - t0, diags

    async def insert(self, at: int, new: str) -> float:
        t0 = self.send_edit(at, at, new)
        t1, _ = await self.s.wait(self.uri, self.version)
        return t1 - t0

    async def hover(self, needle: str) -> tuple[float, str]:
        pos = self.pos(self.text.index(needle) + 1)
        t0 = time.perf_counter()
        h = await self.s.client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=self.uri), position=pos)
        )
        return time.perf_counter() - t0, (h.contents.value if h else "")


def _stats(xs: list[float]) -> dict:
    xs = sorted(xs)
    return {
        "median_ms": round(1e3 * statistics.median(xs), 1),
        "p90_ms": round(1e3 * xs[min(len(xs) - 1, int(0.9 * len(xs)))], 1),
        "min_ms": round(1e3 * xs[0], 1),
        "n": len(xs),
    }


async def measure(name: str, path: Path, text: str, typo: tuple[str, str], stage: str) -> dict:
    s = Session()
    await s.start()
    doc = Doc(s, path, text)
    res: dict = {"spec": name, "lines": text.count("\n"), "open_ms": round(1e3 * await doc.open(), 1)}
    n = REPEATS[name]
    typo_t, fix_t, line_t, hover_t, busy_t = [], [], [], [], []
    for _ in range(n):
        dt, diags = await doc.change(*typo)
        assert any(d.code == "E201" for d in diags), [d.code for d in diags]
        typo_t.append(dt)
        dt, diags = await doc.change(typo[1], typo[0])
        assert not any(d.severity == types.DiagnosticSeverity.Error for d in diags)
        fix_t.append(dt)
        res["findings"] = len(diags)
        line_t.append(await doc.insert(doc.text.index("\n") + 1, "\n"))
        dt, value = await doc.hover(stage)
        assert "`[" in value, value
        hover_t.append(dt)
        # a hover sent right after a change is answered while the server checks it
        doc.send_replace(typo[0], typo[1])
        dt, _ = await doc.hover(stage)
        busy_t.append(dt)
        await s.wait(doc.uri, doc.version)
        await doc.change(typo[1], typo[0])
    res["typo_to_E201"] = _stats(typo_t)
    res["fix_to_clean_lint"] = _stats(fix_t)
    res["new_line_at_top"] = _stats(line_t)
    res["hover_idle"] = _stats(hover_t)
    res["hover_while_checking"] = _stats(busy_t)
    await s.stop()
    return res


def where_the_time_goes(path: Path, text: str, typo: tuple[str, str]) -> dict:
    """One analysis of each kind in process: its phases, and a profile of the fix (full lint)."""
    from archdsl.lsp.analysis import analyze
    from archdsl.lsp.incremental import IncrementalParser

    parser = IncrementalParser()
    out = {}
    first = analyze(text, path, parser, 1)
    out["first open"] = {k: round(1e3 * v, 1) for k, v in first.timings.items()}
    broken = text.replace(*typo, 1)
    out["typo (E201)"] = {k: round(1e3 * v, 1) for k, v in analyze(broken, path, parser, 2).timings.items()}
    prof = cProfile.Profile()
    prof.enable()
    fixed = analyze(text, path, parser, 3)
    prof.disable()
    out["fix (compiles, lint runs)"] = {k: round(1e3 * v, 1) for k, v in fixed.timings.items()}
    moved = "\n" + text
    out["new line at top"] = {k: round(1e3 * v, 1) for k, v in analyze(moved, path, parser, 4).timings.items()}
    from archdsl.syntax import parse_text

    whole = []
    for _ in range(3):
        t0 = time.perf_counter()
        parse_text(text, str(path))
        whole.append(time.perf_counter() - t0)
    out["yardstick: parse_text of the whole file"] = {"parse+load": round(1e3 * statistics.median(whole), 1)}
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(18)
    return {"phases_ms": out, "profile_of_fix": buf.getvalue()}


def _md(results: list[dict], profiles: dict) -> str:
    lines = [
        "# Language server latency (benchmarks/lsp_latency.py)",
        "",
        f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}, "
        f"{os.cpu_count()} CPUs, load average {LOAD[0]:.1f} before and {LOAD[1]:.1f} after the run; "
        "server started with `python -m archdsl lsp`, default debounce 30 ms (included below).",
        "",
        "| spec | lines | typo → E201 | fix → clean + lint | new line at top | hover (idle) | hover while checking |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(r: dict, k: str) -> str:
        return f"{r[k]['median_ms']} ms (p90 {r[k]['p90_ms']})"

    for r in results:
        lines.append(
            f"| {r['spec']} | {r['lines']} | {cell(r, 'typo_to_E201')} | {cell(r, 'fix_to_clean_lint')} | "
            f"{cell(r, 'new_line_at_top')} | {cell(r, 'hover_idle')} | {cell(r, 'hover_while_checking')} |"
        )
    lines += [
        "",
        "Medians over the repeats (p90 in brackets); targets: under 100 ms for attendnext.arch, under 1 s",
        "",
    ]
    lines += ["## Where the time goes (one analysis in process, ms)", ""]
    for name, prof in profiles.items():
        lines.append(f"### {name}")
        lines.append("")
        lines.append("| edit | " + " | ".join(["parse+load", "resolve", "lint"]) + " |")
        lines.append("|---|---|---|---|")
        for edit, t in prof["phases_ms"].items():
            lines.append(f"| {edit} | {t.get('parse+load', '')} | {t.get('resolve', '')} | {t.get('lint', '—')} |")
        lines.append("")
    big = profiles.get("generated (5k lines)")
    if big:
        lines += ["### Profile of the fix on the generated spec (cumulative)", "", "```text"]
        lines += [x for x in big["profile_of_fix"].splitlines() if x.strip()][:34]
        lines += ["```", ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    LOAD[0] = os.getloadavg()[0]
    att = ROOT / "specs" / "attendnext.arch"
    with tempfile.TemporaryDirectory() as tmp:
        gen = Path(tmp) / "generated.arch"
        gen_text = generated_spec(5000)
        gen.write_text(gen_text)
        cases = [
            ("attendnext.arch", att, att.read_text(), ("dcac(mid = 8", "dcax(mid = 8"), "stage3 ="),
            ("generated (5k lines)", gen, gen_text, ("s250 = b250(16)", "s250 = b25O(16)"), "s250 ="),
        ]
        results = []
        profiles = {}
        for name, path, text, typo, stage in cases:
            results.append(asyncio.run(measure(name, path, text, typo, stage)))
            profiles[name] = where_the_time_goes(path, text, typo)
            print(json.dumps(results[-1]), flush=True)
    LOAD[1] = os.getloadavg()[0]
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(
        json.dumps(
            {
                "load_average": LOAD,
                "cpus": os.cpu_count(),
                "results": results,
                "phases_ms": {k: v["phases_ms"] for k, v in profiles.items()},
            },
            indent=2,
        )
        + "\n"
    )
    OUT_MD.write_text(_md(results, profiles))
    print(OUT_MD.read_text())


if __name__ == "__main__":
    main()

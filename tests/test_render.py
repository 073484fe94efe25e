"""The graphviz backend on every spec, and `archdsl render` as a user meets it.

Structural assertions read the DOT through Graphviz itself (``dot -Tjson0``), so what is checked
is what Graphviz understood: clusters per stage and per column, the colours and shapes of the DC-AC
layers, ×N labels of rolled-up repeats. Tests that need the `dot` program skip, with the reason,
where it is not installed (CI installs it); the missing-`dot` path is tested with PATH stripped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest
from archdsl_backends.graphviz import BACKEND, THEMES, OptionError, RenderOptions, figure, render, render_dot

import archdsl
from tests.conftest import ROOT, run_cli

ATTENDNEXT = ROOT / "specs" / "attendnext.arch"
PAPER = THEMES["paper"]
DOT = shutil.which("dot")
needs_dot = pytest.mark.skipif(
    DOT is None, reason="the Graphviz 'dot' program is not installed (apt-get install graphviz); CI installs it"
)
ATTENTION = {"dcac", "attention_condenser"}


@cache
def load(path: Path):
    return archdsl.load(path)


def dot_json(text: str) -> dict:
    """The DOT as Graphviz parsed it: nodes by name (attributes resolved), clusters, edges."""
    res = subprocess.run([DOT, "-Tjson0"], input=text.encode(), capture_output=True, check=True)
    data = json.loads(res.stdout)
    objects = data.get("objects", [])
    nodes = {o["name"]: o for o in objects if "nodes" not in o and "subgraphs" not in o and "_gvid" in o}
    clusters = {o["name"]: o for o in objects if o["name"].startswith("cluster")}
    by_id = {o["_gvid"]: o["name"] for o in objects}
    edges = [(by_id[e["tail"]], by_id[e["head"]], e) for e in data.get("edges", [])]
    return {"graph": data, "nodes": nodes, "clusters": clusters, "edges": edges}


def svg_cluster_titles(svg: bytes) -> set[str]:
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    out = set()
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        if g.get("class") == "cluster":
            title = g.find("s:title", ns)
            out.add(title.text if title is not None else "")
    return out


def scopes_with_nodes(graph, kind: str) -> list:
    ids = [n.id for n in graph.nodes]
    return [s for s in graph.scopes if s.kind == kind and any(i == s.path or i.startswith(s.path + ".") for i in ids)]


def inside_attention(graph, path: str) -> bool:
    return any(s.kind == "block" and s.name in ATTENTION and path.startswith(s.path + ".") for s in graph.scopes)


# ---- every spec ------------------------------------------------------------------------------------


@needs_dot
def test_spec_renders_dot_svg_png_with_one_cluster_per_stage_and_column(spec_path):
    graph = load(spec_path)
    text = render_dot(graph)
    assert text == render_dot(graph), "DOT must be byte-identical for the same spec and options"
    assert re.search(r"^digraph ", text, flags=re.M)

    svg = render(graph, RenderOptions(), "svg")
    titles = svg_cluster_titles(svg)  # parses as XML
    stages = {f"cluster_{s.path}" for s in scopes_with_nodes(graph, "stage")}
    assert stages and stages <= titles, f"missing stage clusters: {sorted(stages - titles)}"
    png = render(graph, RenderOptions(), "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"

    # every primitive op, every repeat expanded: one cluster per stage and per column
    full = render(graph, RenderOptions(depth=3, expand=True), "svg")
    titles = svg_cluster_titles(full)
    columns = {f"cluster_{s.path}" for s in scopes_with_nodes(graph, "column") if not inside_attention(graph, s.path)}
    assert (stages | columns) <= titles, f"missing clusters: {sorted((stages | columns) - titles)}"


@needs_dot
def test_spec_ops_expanded_is_the_ir(spec_path):
    """At --depth ops --expand the drawing is the IR: node ids are paths, edges are its edges."""
    graph = load(spec_path)
    parsed = dot_json(render_dot(graph, RenderOptions(depth=3, expand=True)))
    ir_ids = {n.id for n in graph.nodes}
    assert ir_ids <= set(parsed["nodes"])
    drawn = {(t, h) for t, h, _ in parsed["edges"]}
    ir_edges = {(src, n.id) for n in graph.nodes for src in n.inputs}
    assert ir_edges <= drawn
    assert all(t in ir_ids | {i.name for i in graph.inputs} for t, h in drawn if h != "output")


@needs_dot
def test_spec_dcac_layers_and_rolled_up_repeats(spec_path):
    graph = load(spec_path)
    parsed = dot_json(render_dot(graph))
    nodes = parsed["nodes"]
    # DC-AC / attention condenser: condense orange, embed yellow, expand blue, each its own shape
    fills = {"condense": PAPER.condense, "embed": PAPER.embed, "expand": PAPER.expand}
    blocks = [s for s in graph.scopes if s.kind == "block"]
    for block in (s for s in blocks if s.name in ATTENTION):
        members = [n for n in graph.nodes if n.id.startswith(block.path + ".")]
        pools = [n.id for n in members if n.op == "maxpool"]
        ups = [n.id for n in members if n.op == "upsample"]
        assert pools and ups
        if any(b is not block and (block.path + ".").startswith(b.path + ".") for b in blocks):
            continue  # inside another block (a stage written as one block call): drawn as that block
        if pools[0] not in nodes:  # a later iteration of a rolled-up run of DC-ACs: drawn as the first
            assert any(re.fullmatch(r"cluster_.*\.\d+\.\.\d+", c) for c in parsed["clusters"])
            continue
        assert f"cluster_{block.path}" in parsed["clusters"] or any(
            re.fullmatch(re.escape(f"cluster_{block.path.rsplit('.', 1)[0]}") + r"\.\d+\.\.\d+", c)
            for c in parsed["clusters"]
        )
        for nid in pools:
            assert nodes[nid]["fillcolor"] == fills["condense"] and "condense" in nodes[nid]["label"]
        for nid in ups:
            assert nodes[nid]["fillcolor"] == fills["expand"] and "expand" in nodes[nid]["label"]
        embeds = [o for name, o in nodes.items() if name.startswith(block.path + ".") and "embed" in o["label"]]
        assert embeds and all(o["fillcolor"] == fills["embed"] for o in embeds)
        # greyscale: condense narrows, expand widens along the flow
        assert float(nodes[pools[0]]["distortion"]) > 0 > float(nodes[ups[0]]["distortion"])

    # every iteration of an outer repeat is drawn once: as itself or inside a ×N box
    scope_paths = [(s.path, s.kind) for s in graph.scopes]
    for rep in scopes_with_nodes(graph, "repeat"):
        if any(k in ("block", "repeat") and rep.path.startswith(p + ".") for p, k in scope_paths) or any(
            k == "block" and p == rep.path for p, k in scope_paths
        ):
            continue  # inside a block (one box at this level) or inside another repeat
        count = rep.args["count"]
        covered = [0] * count
        runs = dict(nodes)
        runs.update({name.removeprefix("cluster_"): obj for name, obj in parsed["clusters"].items()})
        for name, obj in runs.items():
            m = re.fullmatch(re.escape(rep.path) + r"\.(\d+)\.\.(\d+)", name)
            if m:
                lo, hi = int(m.group(1)), int(m.group(2))
                assert f"×{hi - lo + 1}" in obj["label"], obj["label"]
                for k in range(lo, hi + 1):
                    covered[k] += 1
                continue
            m = re.match(re.escape(rep.path) + r"\.(\d+)(\.|$)", name)
            if m and name in nodes:
                covered[int(m.group(1))] = 1
        assert all(covered), f"{rep.path}: iterations not drawn: {[k for k, c in enumerate(covered) if not c]}"


# ---- AttendNeXt: the Figure-1 picture --------------------------------------------------------------


@needs_dot
def test_attendnext_figure_structure():
    graph = load(ATTENDNEXT)
    parsed = dot_json(render_dot(graph))
    clusters, nodes = parsed["clusters"], parsed["nodes"]
    assert parsed["graph"]["rankdir"] == "LR"
    for stage in ("stem", "stage1", "stage2", "stage3", "stage4", "head"):
        assert f"cluster_{stage}" in clusters
    for s in (1, 2):
        for c in range(4):
            assert f"cluster_stage{s}.columns.col{c}" in clusters
        assert nodes[f"stage{s}.columns.concat"]["shape"] == "circle"  # the merge is visible
        assert "project" in nodes[f"stage{s}.columns.project"]["label"]
        assert "conv_bn_act ×" in nodes[f"stage{s}.columns.col0.conv_bn_act.0..{s}"]["label"]
    # stage 3: the first bottleneck (projection shortcut) and the nine identical ones
    assert "×9" in nodes["stage3.bottleneck.1..9"]["label"]
    assert "with proj" in nodes["stage3.bottleneck.0"]["label"]
    # AADS: its own shape and the word, not only a colour
    for aads in ("stem.aads", "stem.aads_1", "stage2.aads", "stage3.aads", "stage4.aads"):
        assert nodes[aads]["shape"] == "invhouse" and "AADS" in nodes[aads]["label"] and "↓2" in nodes[aads]["label"]
    # the DC-AC of stage 1, as in Figure 1
    assert nodes["stage1.dcac.attn.maxpool"]["fillcolor"] == PAPER.condense
    assert nodes["stage1.dcac.attn.conv"]["fillcolor"] == PAPER.embed
    assert nodes["stage1.dcac.attn.upsample"]["fillcolor"] == PAPER.expand
    assert nodes["stage1.dcac.mul"]["shape"] == "circle"


def test_attendnext_depths():
    graph = load(ATTENDNEXT)
    stages = figure(graph, RenderOptions(depth=1))
    assert [b.id for b in stages.boxes()] == ["image", *graph.stages, "output"]
    assert {c.id for c in stages.clusters()} == set(graph.stages)
    ops = figure(graph, RenderOptions(depth=3))
    blocks = figure(graph, RenderOptions(depth=2))
    assert len(list(stages.boxes())) < len(list(blocks.boxes())) < len(list(ops.boxes()))
    expanded = figure(graph, RenderOptions(depth=2, expand=True))
    ids = {b.id for b in expanded.boxes()}
    assert {f"stage3.bottleneck.{i}" for i in range(10)} <= ids


def test_goldens_are_current():
    path = ROOT / "scripts" / "regen_render_goldens.py"
    spec = importlib.util.spec_from_file_location("regen_render_goldens", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert len(mod.GOLDENS) >= 2
    for name in mod.GOLDENS:
        golden = mod.GOLDEN_DIR / name
        assert golden.exists(), f"missing {golden}; run python scripts/regen_render_goldens.py"
        assert mod.render_golden(name) == golden.read_text(encoding="utf-8"), (
            f"{name} differs from the rendering; if the change is intended, run "
            "python scripts/regen_render_goldens.py and review the diff"
        )


def test_focus():
    graph = load(ATTENDNEXT)
    fig = figure(graph, RenderOptions(depth=3, focus="stage1.dcac"))
    ids = {b.id for b in fig.boxes()}
    assert ids == {n.id for n in graph.nodes if n.id.startswith("stage1.dcac.")} | {"stem.aads_1", "output"}
    roles = {b.id: b.role for b in fig.boxes()}
    assert roles["stem.aads_1"] == "external" and roles["stage1.dcac.feat.upsample"] == "expand"
    # a statement inside a block (not a scope of its own) can be focused too
    attn = figure(graph, RenderOptions(depth=3, focus="stage1.dcac.attn"))
    assert {b.id for b in attn.boxes()} >= {"stage1.dcac.attn.maxpool", "stage1.dcac.attn.softmax"}
    stage3 = figure(graph, RenderOptions(depth=3, expand=True, focus="stage3"))
    assert {c.id for c in stage3.clusters()} >= {f"stage3.bottleneck.{i}" for i in range(10)}
    with pytest.raises(OptionError) as exc:
        figure(graph, RenderOptions(focus="stage3.bottlenek"))
    assert "did you mean 'stage3.bottleneck'" in exc.value.diagnostics[0].help


def test_themes_and_greyscale():
    graph = load(ATTENDNEXT)
    mono = render_dot(graph, RenderOptions(theme="mono"))
    colours = set(re.findall(r'"#([0-9a-f]{6})"', mono))
    assert colours and all(c[0:2] == c[2:4] == c[4:6] for c in colours), "mono uses greys only"
    dark = render_dot(graph, RenderOptions(theme="dark"))
    assert f'bgcolor="{THEMES["dark"].background}"' in dark
    # the same boxes and edges in every theme, and shapes tell the roles apart without colour
    strip = re.compile(r'(fillcolor|color|fontcolor|bgcolor|COLOR)="[^"]*"')
    assert strip.sub("", mono).replace("theme mono", "") == strip.sub("", render_dot(graph)).replace("theme paper", "")
    with pytest.raises(OptionError):
        RenderOptions(theme="neon")


def test_shapes_on_edges():
    graph = load(ATTENDNEXT)
    fig = figure(graph, RenderOptions(shapes=True))
    labels = {(e.tail, e.head): e.label for e in fig.edges}
    assert labels[("image", "stem.conv")] == "3×224×224"
    assert all(e.label for e in fig.edges)
    assert not any(e.label for e in figure(graph).edges)


def test_backend_hook(tmp_path):
    graph = load(ATTENDNEXT)
    assert BACKEND.name == "graphviz" and BACKEND.unsupported(graph) == []
    from archdsl.backend import CompileRequest
    from archdsl.backend import load as load_backend

    assert load_backend("graphviz") is BACKEND
    res = BACKEND.compile(graph, CompileRequest(output=tmp_path / "fig.dot", options={"depth": "ops"}))
    assert res.artefacts == [tmp_path / "fig.dot"]
    assert res.artefacts[0].read_text() == render_dot(graph, RenderOptions(depth=3))
    res = BACKEND.compile(graph, CompileRequest(output=tmp_path / "out", emit=("dot",)))
    assert res.artefacts == [tmp_path / "out" / "attendnext.dot"]
    with pytest.raises(OptionError):
        BACKEND.compile(graph, CompileRequest(output=tmp_path / "x.dot", options={"depht": 3}))


# ---- the command line ------------------------------------------------------------------------------


def test_cli_dot_is_deterministic_across_processes(tmp_path):
    outs = []
    for seed in ("1", "2"):
        res = run_cli("render", str(ATTENDNEXT), "-o", "-", "--format", "dot", env={"PYTHONHASHSEED": seed})
        assert res.returncode == 0, res.stderr
        outs.append(res.stdout)
    assert outs[0] == outs[1]
    assert outs[0] == render_dot(load(ATTENDNEXT))


@needs_dot
def test_cli_formats_from_extension(tmp_path):
    res = run_cli("render", str(ATTENDNEXT), "-o", str(tmp_path / "a.svg"), "-d", "stages")
    assert res.returncode == 0, res.stderr
    assert "wrote" in res.stderr
    ET.fromstring((tmp_path / "a.svg").read_bytes())
    for name, magic in (("a.png", b"\x89PNG"), ("a.pdf", b"%PDF"), ("a.gv", b"// archdsl render")):
        res = run_cli("render", str(ATTENDNEXT), "-o", str(tmp_path / name), "-q", "-d", "1")
        assert res.returncode == 0, res.stderr
        assert (tmp_path / name).read_bytes().startswith(magic)
    # --format wins over the extension; without -o the file is <net>.svg in the current directory
    res = run_cli("render", str(ATTENDNEXT), "-o", str(tmp_path / "x.txt"), "--format", "dot", "-d", "1")
    assert res.returncode == 0 and (tmp_path / "x.txt").read_text().startswith("// archdsl render")
    res = run_cli("render", str(ATTENDNEXT), "-d", "1", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "attendnext.svg").exists()


def test_cli_usage_errors(tmp_path):
    for args, needle in (
        (["--theme", "neon"], "unknown theme"),
        (["--focus", "stage9"], "no stage, block or op"),
        (["--depth", "7"], "depth must be"),
        (["-o", str(tmp_path / "x.jpg")], "extension"),
        (["--format", "gif"], "unknown format"),
    ):
        res = run_cli("render", str(ATTENDNEXT), *args)
        assert res.returncode == 2, (args, res.stderr)
        assert needle in res.stderr
    bad = tmp_path / "bad.arch"
    bad.write_text("net bad {\n    input image [3, 32, 32]\n    x = conv(8) -> nosuchop\n}\n")
    res = run_cli("render", str(bad), "-o", str(tmp_path / "bad.dot"))
    assert res.returncode == 1 and "nosuchop" in res.stderr
    assert not (tmp_path / "bad.dot").exists()


def test_cli_without_dot_binary(tmp_path):
    """No Graphviz on PATH: images fail with how to install it (exit 3); DOT still works."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {"PATH": str(empty)}
    res = run_cli("render", str(ATTENDNEXT), "-o", str(tmp_path / "a.svg"), env=env)
    assert res.returncode == 3, res.stderr
    assert "'dot' program was not found" in res.stderr
    assert "apt-get install graphviz" in res.stderr and "--format dot" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "a.svg").exists()
    res = run_cli("render", str(ATTENDNEXT), "-o", str(tmp_path / "a.dot"), env=env)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "a.dot").read_text() == render_dot(load(ATTENDNEXT))


def test_cli_help_documents_options():
    res = run_cli("render", "--help")
    assert res.returncode == 0
    for word in ("--depth", "--expand", "--focus", "--shapes", "--theme", "paper", "dark", "mono", "greyscale"):
        assert word in res.stdout, word
    assert re.search(r"^\s+render\b", run_cli("--help").stdout, flags=re.M)


def test_cli_import_stays_light():
    """`archdsl check` must not pay for Graphviz: importing the CLI imports no graphviz package."""
    code = "import sys, archdsl.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'graphviz'))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=os.environ)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


GRAPHVIZ_BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'graphviz':
            raise ImportError('blocked: ' + name, name='graphviz')
sys.meta_path.insert(0, Block())
sys.argv = ['archdsl'] + sys.argv[1:]
from archdsl.cli import main
main()
"""


def test_cli_without_graphviz_package(tmp_path):
    """The `graphviz` Python package missing: a clear message and exit 3, no traceback."""
    res = subprocess.run(
        [sys.executable, "-c", GRAPHVIZ_BLOCKER, "render", str(ATTENDNEXT), "-o", str(tmp_path / "a.svg")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert res.returncode == 3, res.stderr
    assert "pip install 'archdsl[render]'" in res.stderr and "Traceback" not in res.stderr

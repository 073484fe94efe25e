"""RegNet's width rule, written in the language (the example in docs/language.md), against a
transcription of timm's ``generate_regnet`` + ``adjust_widths_groups_comp`` (timm/models/regnet.py),
for every RegNet configuration timm defines."""

from __future__ import annotations

import math
import re

import pytest

from archdsl.resolve import load_graph
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "language.md").read_text()
EXAMPLE = next(t for t in re.findall(r"```arch\n(.*?)```", DOC, flags=re.S) if "net regnetx" in t)

# timm's model_cfgs: (w0, wa, wm, depth, group_size, bottle_ratio)
CONFIGS = {
    "regnetx_002": (24, 36.44, 2.49, 13, 8, 1.0),
    "regnetx_004": (24, 24.48, 2.54, 22, 16, 1.0),
    "regnetx_006": (48, 36.97, 2.24, 16, 24, 1.0),
    "regnetx_008": (56, 35.73, 2.28, 16, 16, 1.0),
    "regnetx_016": (80, 34.01, 2.25, 18, 24, 1.0),
    "regnetx_032": (88, 26.31, 2.25, 25, 48, 1.0),
    "regnetx_040": (96, 38.65, 2.43, 23, 40, 1.0),
    "regnetx_064": (184, 60.83, 2.07, 17, 56, 1.0),
    "regnetx_080": (80, 49.56, 2.88, 23, 120, 1.0),
    "regnetx_120": (168, 73.36, 2.37, 19, 112, 1.0),
    "regnetx_160": (216, 55.59, 2.1, 22, 128, 1.0),
    "regnetx_320": (320, 69.86, 2.0, 23, 168, 1.0),
    "regnety_002": (24, 36.44, 2.49, 13, 8, 1.0),
    "regnety_004": (48, 27.89, 2.09, 16, 8, 1.0),
    "regnety_006": (48, 32.54, 2.32, 15, 16, 1.0),
    "regnety_008": (56, 38.84, 2.4, 14, 16, 1.0),
    "regnety_016": (48, 20.71, 2.65, 27, 24, 1.0),
    "regnety_032": (80, 42.63, 2.66, 21, 24, 1.0),
    "regnety_040": (96, 31.41, 2.24, 22, 64, 1.0),
    "regnety_064": (112, 33.22, 2.27, 25, 72, 1.0),
    "regnety_080": (192, 76.82, 2.19, 17, 56, 1.0),
    "regnety_120": (168, 73.36, 2.37, 19, 112, 1.0),
    "regnety_160": (200, 106.23, 2.48, 18, 112, 1.0),
    "regnety_320": (232, 115.89, 2.53, 20, 232, 1.0),
    "regnetw_040": (48, 14.5, 2.226, 28, 8, 4.0),
    "regnetz_005": (16, 10.7, 2.51, 21, 4, 4.0),
    "regnetz_040": (48, 14.5, 2.226, 28, 8, 4.0),
}


def timm_stages(w0, wa, wm, depth, group_size, b):
    """generate_regnet, then np.unique and adjust_widths_groups_comp, with Python's math (np.round and
    round both halve to even)."""
    exps = [round(math.log((i * wa + w0) / w0) / math.log(wm)) for i in range(depth)]
    widths = [round(w0 * wm**e / 8) * 8 for e in exps]
    stage_widths = sorted(set(widths))
    depths = [widths.count(w) for w in stage_widths]
    bottleneck = [int(w * b) for w in stage_widths]
    groups = [min(group_size, w) for w in bottleneck]
    bottleneck = [int(round(w / g) * g) for w, g in zip(bottleneck, groups, strict=True)]
    return [int(w / b) for w in bottleneck], depths, groups


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("regnet") / "regnetx.arch"
    path.write_text(EXAMPLE)
    return path


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_documented_width_rule_is_timms(name, spec):
    w0, wa, wm, depth, group, b = CONFIGS[name]
    g = load_graph(spec, overrides={"w0": w0, "wa": wa, "wm": wm, "depth": depth, "group": group, "b": b})
    stages = [s for s in g.scopes if s.kind == "block" and s.name == "regnet_stage"]
    widths, depths, groups = timm_stages(w0, wa, wm, depth, group, b)
    assert len(widths) == len(stages) == 4
    assert [s.args["w"] for s in stages] == widths
    assert [s.args["g"] for s in stages] == groups
    blocks = [s for s in g.scopes if s.kind == "block" and s.name == "regnet_x_block"]
    assert [sum(1 for blk in blocks if blk.path.startswith(st.path + ".")) for st in stages] == depths
    assert sum(depths) == depth
    # and the ops really have those widths: each stage ends at its width, grouped by its group width
    for st, w, gw in zip(stages, widths, groups, strict=True):
        nodes = [n for n in g.nodes if n.id.startswith(st.path + ".")]
        assert nodes[-1].out.c == w
        grouped = [n for n in nodes if n.id.endswith(".body.conv_1")]  # the 3x3 of each block
        assert len(grouped) == len([blk for blk in blocks if blk.path.startswith(st.path + ".")])
        assert {n.args.groups for n in grouped} == {round(w * b) // gw}


def test_the_default_is_timms_regnetx_002(spec):
    g = load_graph(spec)
    assert sum(n.params for n in g.nodes) == 2_684_792  # timm: regnetx_002, 2.68M parameters
    assert g.nodes[-1].out.shape == (1000,)


@pytest.mark.timm
def test_parameter_counts_match_installed_timm(spec):
    timm = pytest.importorskip("timm")
    for name in ("regnetx_002", "regnetx_004", "regnetx_016", "regnetx_032"):
        w0, wa, wm, depth, group, b = CONFIGS[name]
        g = load_graph(spec, overrides={"w0": w0, "wa": wa, "wm": wm, "depth": depth, "group": group, "b": b})
        model = timm.create_model(name, pretrained=False)
        assert sum(n.params for n in g.nodes) == sum(p.numel() for p in model.parameters()), name


@pytest.mark.parametrize("name", list(CONFIGS))
def test_timms_per_block_rule_evaluates_as_timm_computes_it(name, tmp_path):
    """The literal per-block formula, evaluated by archdsl, is timm's width for every block."""
    w0, wa, wm, depth, _, _ = CONFIGS[name]
    rule = "round(w0 * wm ** round(log((w0 + i * wa) / w0) / log(wm)) / 8) * 8"
    lines = [f"net t(w0 = {w0}, wa = {wa}, wm = {wm}) {{", "    input x [3, 8, 8]"]
    for i in range(depth):
        lines.append(f"    b{i} = x -> conv({rule.replace(' i ', f' {i} ')})")
    path = tmp_path / "t.arch"
    path.write_text("\n".join(lines) + "\n}\n")
    got = [n.out.c for n in load_graph(path).nodes]
    exps = [round(math.log((i * wa + w0) / w0) / math.log(wm)) for i in range(depth)]
    assert got == [round(w0 * wm**e / 8) * 8 for e in exps]

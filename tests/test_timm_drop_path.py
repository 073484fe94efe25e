"""``drop_path_rate`` of timm's create_model reaches the net's ``drop_path`` ops (no timm needed:
archdsl.timm.create is what a registered entry point calls)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from archdsl.timm import create

SPEC = """import std

block unit(c, dpr = 0.0) {
    residual { conv(c, k = 3) -> bn -> relu -> drop_path(p = dpr) }
}

net tiny(classes = 10, drop_path_rate = 0.0) {
    input image [3, 16, 16]
    stem = conv(8, k = 3) -> bn -> relu
    stage1 = unit(8, dpr = drop_path_rate) * 2
    head = gap -> flatten -> linear(classes)
}

net plain(classes = 10) {
    input image [3, 16, 16]
    stem = conv(8, k = 3) -> bn -> relu
    head = gap -> flatten -> linear(classes)
}
"""


def test_the_rate_sets_the_nets_drop_path_ops(tmp_path):
    spec = tmp_path / "tiny.arch"
    spec.write_text(SPEC)
    model = create(spec, "tiny", drop_path_rate=0.25)
    drops = [n for n in model.graph.nodes if n.op == "drop_path"]
    assert len(drops) == 2 and all(n.args.p == 0.25 for n in drops)
    assert all(n.args.p == 0.0 for n in create(spec, "tiny").graph.nodes if n.op == "drop_path")


def test_a_rate_for_a_net_without_the_parameter_is_refused(tmp_path):
    spec = tmp_path / "tiny.arch"
    spec.write_text(SPEC)
    with pytest.raises(ValueError, match="no drop_path_rate parameter"):
        create(spec, "plain", drop_path_rate=0.1)
    assert create(spec, "plain", drop_path_rate=0.0) is not None

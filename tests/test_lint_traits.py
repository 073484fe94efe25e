"""Lint follows the op registry's traits, not op names.

Each test registers a temporary op under a new name (a copy of an existing op's spec with other
traits, put into the registry with monkeypatch, so it is gone after the test) and shows that the
rules treat it by its traits: a new norm is a norm to AR206, a new activation to AR205, a new alias
is looked through, a new blur pool anti-aliases. The argument schema is borrowed from the op it
copies, so the IR accepts the node as it is.
"""

from __future__ import annotations

import dataclasses

import pytest

from archdsl.ops import OPS, Traits
from archdsl.ops.base import name_label
from archdsl.rules.engine import lint_text


def register(monkeypatch, name: str, like: str, **traits: bool) -> None:
    spec = dataclasses.replace(OPS[like], name=name, traits=Traits(**traits), label=name_label(name))
    monkeypatch.setitem(OPS, name, spec)


def codes(
    body: str, select: list[str], image: str = "[3, 32, 32]", head: str = "gap -> flatten -> linear(10)"
) -> list[str]:
    text = f"import std\n\nnet example {{\n    input image {image}\n{body}\n    head = {head}\n}}\n"
    res = lint_text(text, select=select)
    assert res.spec_errors == [], [d.message for d in res.spec_errors]
    return [f.code for f in res.findings]


NORM = dict(norm=True, per_pixel=True)  # a group-norm-like op: normalises, mixes channels
CHANNEL_NORM = dict(norm=True, per_channel=True, per_pixel=True, linear=True)  # batch-norm-like
ACT = dict(activation=True, per_channel=True, per_pixel=True, elementwise=True, saves_output=True)
ALIAS = dict(alias=True, view=True, per_channel=True, per_pixel=True, linear=True)


def test_a_registered_norm_is_a_norm_to_duplicate_norm(monkeypatch):
    register(monkeypatch, "xnorm", "layernorm", **NORM)
    assert codes("    stem = conv(16, k = 3) -> xnorm -> xnorm -> relu", ["AR206"]) == ["AR206"]
    assert codes("    stem = conv(16, k = 3) -> bn -> xnorm -> relu", ["AR206"]) == ["AR206"]
    # the same op without the trait is not a norm
    register(monkeypatch, "xnorm", "layernorm", per_pixel=True)
    assert codes("    stem = conv(16, k = 3) -> xnorm -> xnorm -> relu", ["AR206"]) == []


def test_the_message_names_the_registered_op(monkeypatch):
    register(monkeypatch, "xnorm", "layernorm", **NORM)
    res = lint_text(
        "net n {\n    input image [3, 8, 8]\n    a = conv(8) -> bn -> xnorm\n}\n",
        select=["AR206"],
    )
    assert [f.message for f in res.findings] == ["'xnorm' directly after 'bn': the tensor is normalised twice"]


def test_a_registered_alias_is_looked_through(monkeypatch):
    register(monkeypatch, "xskip", "identity", **ALIAS)
    assert codes("    stem = conv(16, k = 3) -> bn -> xskip -> bn -> relu", ["AR206"]) == ["AR206"]
    assert codes("    stem = conv(16, k = 3, bias = true) -> xskip -> bn -> relu", ["AR208"]) == ["AR208"]
    # an op that is not the identity stands between the two norms
    register(monkeypatch, "xskip", "identity", per_channel=True, per_pixel=True)
    assert codes("    stem = conv(16, k = 3) -> bn -> xskip -> bn -> relu", ["AR206"]) == []
    assert codes("    stem = conv(16, k = 3, bias = true) -> xskip -> bn -> relu", ["AR208"]) == []


def test_a_registered_activation_after_the_global_pool(monkeypatch):
    register(monkeypatch, "xact", "relu", **ACT)
    body = "    stem = conv(16, k = 3) -> bn -> relu\n    tail = gap -> flatten -> xact"
    assert codes(body, ["AR205"], head="linear(10)") == ["AR205"]
    # a gate is not flagged, and neither is an op that is not an activation
    register(monkeypatch, "xact", "relu", gate=True, **ACT)
    assert codes(body, ["AR205"], head="linear(10)") == []
    register(monkeypatch, "xact", "relu", per_channel=True, per_pixel=True)
    assert codes(body, ["AR205"], head="linear(10)") == []


def test_a_registered_reshape_is_looked_through_to_the_pool(monkeypatch):
    register(monkeypatch, "xflat", "flatten", reshape=True, view=True, linear=True)
    body = "    stem = conv(16, k = 3) -> bn -> relu\n    tail = gap -> xflat -> relu"
    assert codes(body, ["AR205"], head="linear(10)") == ["AR205"]
    register(monkeypatch, "xflat", "flatten", view=True)
    assert codes(body, ["AR205"], head="linear(10)") == []


def test_point_wise_ops_between_depthwise_convolutions(monkeypatch):
    register(monkeypatch, "xact", "relu", **ACT)
    body = "    stem = conv(16, k = 3) -> bn -> relu\n    s1 = dw(k = 3) -> xact -> dw(k = 3)"
    assert codes(body, ["AR204"]) == ["AR204"]
    # an op that mixes channels separates them
    register(monkeypatch, "xact", "relu", per_pixel=True, elementwise=True)
    assert codes(body, ["AR204"]) == []


def test_a_batch_norm_like_op_cancels_the_bias(monkeypatch):
    register(monkeypatch, "xbn", "bn", **CHANNEL_NORM)
    assert codes("    stem = conv(16, k = 3, bias = true) -> xbn -> relu", ["AR208"]) == ["AR208"]
    # a norm over the channels of each pixel (layer or group norm) does not
    register(monkeypatch, "xbn", "bn", **NORM)
    assert codes("    stem = conv(16, k = 3, bias = true) -> xbn -> relu", ["AR208"]) == []


BLUR = dict(strided=True, per_channel=True, linear=True)


def test_a_registered_blur_pool_anti_aliases(monkeypatch):
    register(monkeypatch, "xblur", "blurpool", antialias=True, **BLUR)
    body = "    stem = conv(16, k = 3) -> bn -> relu -> xblur(3, 2)"
    assert codes(body, ["AD103"], "[3, 64, 64]") == []
    assert codes("    stem = conv(16, k = 3) -> xblur(3, 1) -> conv(16, k = 3, s = 2)", ["AD103"], "[3, 64, 64]") == []
    # without the trait it is a box-like filter, not a blur: flagged
    register(monkeypatch, "xblur", "blurpool", **BLUR)
    assert codes(body, ["AD103"], "[3, 64, 64]") == ["AD103"]


def test_a_non_linear_strided_op_after_a_blur_still_aliases(monkeypatch):
    register(monkeypatch, "xmax", "maxpool", strided=True, per_channel=True)
    body = "    stem = conv(16, k = 3) -> bn -> relu -> blurpool(3, s = 1) -> xmax(2)"
    res = lint_text(
        f"net n {{\n    input image [3, 64, 64]\n{body}\n    head = gap -> flatten -> linear(10)\n}}\n",
        select=["AD103"],
    )
    assert [f.code for f in res.findings] == ["AD103"]
    assert res.findings[0].help.startswith("pool at stride 1, then blur-pool: xmax(k, s = 1")
    # a linear one after a stride-1 blur is anti-aliased
    register(monkeypatch, "xmax", "maxpool", **BLUR)
    assert codes(body, ["AD103"], "[3, 64, 64]") == []


@pytest.mark.parametrize(("traits", "fires"), [(dict(strided=True, linear=True), True), (dict(linear=True), False)])
def test_strided_point_wise_conv_follows_the_stride_trait(monkeypatch, traits, fires):
    register(monkeypatch, "xconv", "conv", **traits)
    found = codes("    stem = xconv(16, k = 1, s = 2) -> bn -> relu", ["AD102"], "[3, 64, 64]")
    assert found == (["AD102"] if fires else [])


def test_channel_widths_of_a_registered_layer(monkeypatch):
    register(monkeypatch, "xconv", "conv", strided=True, linear=True)
    assert codes("    stem = xconv(20, k = 3) -> bn -> relu", ["AR203"]) == ["AR203"]
    # depthwise by its groups, whatever its name: exempt
    assert codes("    stem = conv(24, k = 3) -> xconv(24, k = 3, groups = 24)", ["AR203"]) == []


@pytest.mark.parametrize("name", sorted(OPS))
def test_the_traits_lint_reads_are_consistent(name):
    """What the predicates of archdsl/rules/graphutil.py assume of the registry's traits."""
    t = OPS[name].traits
    if t.antialias:
        assert t.strided and t.linear and t.per_channel, "a blur pool is a strided linear per-channel filter"
    if t.alias or t.reshape:
        assert t.linear, "the identity and a reshape are linear"
    if t.gate:
        assert t.activation
    if t.norm:
        assert not t.activation and not t.alias

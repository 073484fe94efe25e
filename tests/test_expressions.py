"""The expression sub-language: timm-identical rounding, errors, no host evaluation."""

from __future__ import annotations

import math

import pytest

from archdsl.diagnostics import DiagnosticError
from archdsl.resolve import load_graph
from archdsl.resolve.expr import make_divisible, scale_depth


def timm_make_divisible(v, divisor=8, min_value=None, round_limit=0.9):
    """timm.layers.helpers.make_divisible, transcribed as the independent oracle."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


# (value, divisor, expected): hand-checked against timm's definition
TABLE = [
    (32, 8, 32),
    (24, 8, 24),
    (20, 8, 24),
    (10, 8, 16),
    (12, 8, 16),
    (11.9, 8, 16),
    (3, 8, 8),
    (16 * 0.75, 8, 16),
    (32 * 0.75, 8, 24),
    (40 * 1.25, 8, 48),
    (72 * 0.25, 8, 24),
    (120 * 0.25, 8, 32),
    (960 * 0.25, 8, 240),
    (1280 * 1.0, 8, 1280),
    (84, 4, 84),
    (21, 4, 20),
    (10, 4, 12),
    (37, 8, 40),
    (100, 16, 96),
    (57, 8, 56),
]


@pytest.mark.parametrize(("v", "divisor", "expected"), TABLE)
def test_make_divisible_table(v, divisor, expected):
    assert make_divisible(v, divisor) == expected
    assert timm_make_divisible(v, divisor) == expected


def test_make_divisible_matches_timm_on_a_grid():
    for v in [x / 4 for x in range(1, 4000)]:
        for d in (1, 2, 4, 8, 16):
            assert make_divisible(v, d) == timm_make_divisible(v, d), (v, d)


@pytest.mark.timm
def test_make_divisible_matches_installed_timm():
    timm_helpers = pytest.importorskip("timm.layers.helpers")
    for v in [x / 3 for x in range(1, 3000)]:
        for d in (4, 8):
            assert make_divisible(v, d) == timm_helpers.make_divisible(v, d)


@pytest.mark.parametrize(("n", "mult", "expected"), [(3, 1.2, 4), (2, 0.5, 1), (4, 1.1, 5), (1, 1.0, 1), (10, 0.35, 4)])
def test_scale_depth_rounds_up_like_timm(n, mult, expected):
    assert scale_depth(n, mult) == expected == math.ceil(n * mult)


def _net(expr: str) -> str:
    return f"net t(width = 1.0) {{\n    input x [3, 16, 16]\n    y = conv({expr})\n}}\n"


@pytest.mark.parametrize(
    ("expr", "channels"),
    [
        ("8 + 8", 16),
        ("3 * 4", 12),
        ("17 // 2", 8),
        ("17 % 5", 2),
        ("-(-8)", 8),
        ("(2 + 2) * 2", 8),
        ("make_divisible(30)", 32),
        ("make_divisible(30, divisor = 4)", 32),
        ("scale_channels(32, 0.75)", 24),
        ("max(4, 7)", 7),
        ("min(4, 7)", 4),
        ("ceil(7.1)", 8),
        ("floor(7.9)", 7),
        ("round(7.5)", 8),
        ("int(9.9)", 9),
        ("16 if width > 0.5 else 8", 16),
        ("16 if width > 2 and true else 8", 8),
        ("24 / 3", 8),
        ("abs(-5)", 5),
        ("scale_depth(3, 1.5)", 5),
    ],
)
def test_expressions_evaluate(expr, channels, tmp_path):
    p = tmp_path / "t.arch"
    p.write_text(_net(expr))
    g = load_graph(p)
    assert g.nodes[0].out.shape[0] == channels


@pytest.mark.parametrize(
    ("expr", "code"),
    [
        ("8 / 0", "E260"),
        ("true + 1", "E260"),
        ('"a" * 2', "E260"),
        ("8 if 1 else 2", "E261"),
        ("not 3", "E261"),
        ("__import__(8)", "E203"),
        ("x.q", "E250"),
        ("width.c", "E250"),
        ("10 ** 3", None),
        ("99999999999 * 99999999999", "E505"),
        ("min(1)", "E304"),
        ("max(1, 2, 3)", "E303"),
        ("make_divisible(v = 8, w = 3)", "E302"),
    ],
)
def test_expression_errors_are_located(expr, code, tmp_path):
    p = tmp_path / "t.arch"
    p.write_text(_net(expr))
    with pytest.raises(DiagnosticError) as exc:
        load_graph(p)
    d = exc.value.diagnostics[0]
    if code:
        assert d.code == code
    assert d.span is not None and d.span.line == 3

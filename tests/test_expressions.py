"""The expression sub-language: timm-identical rounding, Python's arithmetic (checked against
Python's own on random expressions), located errors, magnitude limits, no host evaluation."""

from __future__ import annotations

import ast as pyast
import math
import operator
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archdsl.diagnostics import DiagnosticError
from archdsl.resolve import load_graph
from archdsl.resolve.expr import Evaluator, make_divisible, scale_depth
from archdsl.syntax import parse_text


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
        ("10 ** 30", "E505"),
        ("99999999999 * 99999999999", "E505"),
        ("min(1)", "E304"),
        ("round(1, 2, 3)", "E303"),
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


# ---- powers, logarithms and the other functions ------------------------------------------------


def value(text: str):
    """What archdsl makes of an expression (parsed as a net parameter's default)."""
    default = parse_text(f"net t(v = {text})\n", "t.arch").nets[0].params[0].default

    def lookup(name, span):
        raise AssertionError(f"no names here: {name}")

    return Evaluator(lookup).eval(default)


# (archdsl text, what Python computes for the same text): the second column is Python itself
PYTHON = [
    ("-2 ** 2", -(2**2)),
    ("2 ** -1", 2**-1),
    ("2 ** 3 ** 2", 2**3**2),
    ("(2 ** 3) ** 2", (2**3) ** 2),
    ("(-2) ** 2", (-2) ** 2),
    ("(-2) ** 3", (-2) ** 3),
    ("-2 ** -2", -(2**-2)),
    ("2 * 3 ** 2", 2 * 3**2),
    ("-3 ** 2 * 2", -(3**2) * 2),
    ("2 ** 0.5", 2**0.5),
    ("0 ** 0", 0**0),
    ("(-8) ** 2.0", (-8) ** 2.0),
    ("10 ** 18", 10**18),
    ("1 ** 1000000000000", 1**1000000000000),
    ("(-1) ** 1000000000001", (-1) ** 1000000000001),
    ("pow(2, 10)", pow(2, 10)),
    ("pow(2, -2)", pow(2, -2)),
    ("log(8, 2)", math.log(8, 2)),
    ("log(100, 10)", math.log(100, 10)),
    ("log(1)", math.log(1)),
    ("log(2.5)", math.log(2.5)),
    ("exp(0)", math.exp(0)),
    ("exp(1.5)", math.exp(1.5)),
    ("min(3, 1, 2)", min(3, 1, 2)),
    ("max(3, 1, 2.5)", max(3, 1, 2.5)),
    ("max(2, 2.0)", max(2, 2.0)),
    ("min(4, 7)", min(4, 7)),
    ("round(2.5)", round(2.5)),
    ("round(3.5)", round(3.5)),
    ("round(-2.5)", round(-2.5)),
    ("round(7)", 7),
    ("round(1234, -2)", round(1234, -2)),
    ("round(1250, -2)", round(1250, -2)),
    ("round(2.675, 2)", round(2.675, 2)),
    ("round(5, -1000000000000)", 0),
    ("round(5.5, -1000000000000)", round(5.5, -1000000000000)),
    ("round(7.25, 1000000000000)", round(7.25, 1000000000000)),
    ("round(w0 * wm ** 2 / 8) * 8", round(24 * 2.49**2 / 8) * 8),
]


@pytest.mark.parametrize(("text", "expected"), PYTHON, ids=[t for t, _ in PYTHON])
def test_powers_and_functions_are_pythons(text, expected):
    got = value(text.replace("w0", "24").replace("wm", "2.49"))
    assert got == expected
    assert type(got) is type(expected)


# (text, code, the text the caret is under)
ERRORS = [
    ("2 ** 10000", "E505", "2 ** 10000"),
    ("2 ** 10 ** 18", "E505", "2 ** 10 ** 18"),
    ("9 ** 9 ** 9", "E505", "9 ** 9 ** 9"),
    ("1.5 ** 1000", "E505", "1.5 ** 1000"),
    ("0.5 ** -1000", "E505", "0.5 ** -1000"),
    ("pow(10, 19)", "E505", "pow(10, 19)"),
    ("exp(1000)", "E505", "exp(1000)"),
    ("exp(42)", "E505", "exp(42)"),
    ("0 ** -1", "E260", "0 ** -1"),
    ("0.0 ** -0.5", "E260", "0.0 ** -0.5"),
    ("(-8) ** 0.5", "E260", "(-8) ** 0.5"),
    ("pow(-8, 1 / 3)", "E260", "pow(-8, 1 / 3)"),
    ("log(0)", "E260", "0"),
    ("log(-1)", "E260", "-1"),
    ("log(8, 1)", "E260", "1"),
    ("log(8, -2)", "E260", "-2"),
    ("log(8, base = 0)", "E260", "base = 0"),
    ("min(1)", "E304", "min(1)"),
    ("max()", "E304", "max()"),
    ("pow(2)", "E304", "pow(2)"),
    ("round(1, 2, 3)", "E303", "3"),
    ("round(1.5, 0.5)", "E320", "0.5"),
    ('min(1, "a")', "E320", '"a"'),
    ("max(1, true)", "E320", "true"),
    ("log(x = 2, x = 3)", "E305", "x = 3"),
    ("log(base = 2, 8)", "E305", "8"),
    ("exp(y = 1)", "E302", "y = 1"),
    ('2 ** "a"', "E260", '2 ** "a"'),
]


@pytest.mark.parametrize(("text", "code", "at"), ERRORS, ids=[t for t, _, _ in ERRORS])
def test_expression_errors_are_located_where_they_are(text, code, at):
    t0 = time.perf_counter()
    with pytest.raises(DiagnosticError) as exc:
        value(text)
    assert time.perf_counter() - t0 < 2.0  # refused from the operands' sizes, never computed
    d = exc.value.diagnostics[0]
    assert d.code == code, d.message
    line = f"net t(v = {text})"
    assert line[d.span.col - 1 : d.span.end_col - 1] == at


def test_an_error_in_a_net_names_the_argument(tmp_path):
    p = tmp_path / "t.arch"
    p.write_text(_net("log(width - 1)"))
    with pytest.raises(DiagnosticError) as exc:
        load_graph(p)
    d = exc.value.diagnostics[0]
    assert (d.code, d.span.line, d.span.col) == ("E260", 3, 18)
    assert "log() of 0.0" in d.message


# ---- against Python's own arithmetic -----------------------------------------------------------

LIMIT = 10**18
PY_FUNCS = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "pow": pow,
    "floor": math.floor,
    "ceil": math.ceil,
    "log": math.log,
    "exp": math.exp,
}
PY_OPS = {
    pyast.Add: operator.add,
    pyast.Sub: operator.sub,
    pyast.Mult: operator.mul,
    pyast.Div: operator.truediv,
    pyast.FloorDiv: operator.floordiv,
    pyast.Mod: operator.mod,
    pyast.Pow: operator.pow,
}


class Refused(Exception):
    """What archdsl must report instead of a value: the code."""


def _checked(v):
    if isinstance(v, complex):
        raise Refused("E260")
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        raise Refused("E505")
    if abs(v) > LIMIT:
        raise Refused("E505")
    return v


def python_value(node):
    """Python's own operators and functions over Python's own parse of the same text, held to the
    documented magnitude limit after every operator and call."""
    if isinstance(node, pyast.Expression):
        return python_value(node.body)
    if isinstance(node, pyast.Constant):
        return node.value
    if isinstance(node, pyast.UnaryOp):
        v = python_value(node.operand)
        return -v if isinstance(node.op, pyast.USub) else +v
    if isinstance(node, (pyast.BinOp, pyast.Call)):
        if isinstance(node, pyast.BinOp):
            fn = PY_OPS[type(node.op)]
            args = [python_value(node.left), python_value(node.right)]
        else:
            fn = PY_FUNCS[node.func.id]
            args = [python_value(a) for a in node.args]
        if fn is round and len(args) == 2:
            if isinstance(args[1], float):  # the language takes a whole number where Python wants an int
                if not args[1].is_integer():
                    raise Refused("E320")
                args[1] = int(args[1])
            if isinstance(args[0], int) and args[1] < -20:
                return 0  # Python's answer for |x| <= 1e18, without making 10 ** -ndigits here
        if fn in (operator.pow, pow):
            a, b = args
            if a not in (0, 1, -1) and b > 0 and b * math.log2(abs(a)) > 200:
                raise Refused("E505")  # surely above 1e18 (and too big to compute here)
        try:
            return _checked(fn(*args))
        except (ZeroDivisionError, ValueError):
            raise Refused("E260") from None
        except OverflowError:
            raise Refused("E505") from None
    raise AssertionError(pyast.dump(node))


LEAF = st.one_of(st.integers(0, 12), st.sampled_from([0.5, 1.5, 2.25, 3.0, 0.1, 7.75])).map(repr)


def _bracket(t: str) -> str:
    return f"({t})"


EXPR = st.recursive(
    LEAF,
    lambda kids: st.one_of(
        st.tuples(kids, st.sampled_from(["+", "-", "*", "/", "//", "%", "**"]), kids).map(
            lambda t: _bracket(f"{t[0]} {t[1]} {t[2]}")
        ),
        kids.map(lambda k: _bracket(f"-{k}")),
        st.tuples(st.sampled_from(["min", "max"]), st.lists(kids, min_size=2, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        st.tuples(st.sampled_from(["abs", "round", "floor", "ceil", "exp", "log"]), kids).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
        st.tuples(st.sampled_from(["round", "log", "pow"]), kids, kids).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(kids, st.integers(-3, 3)).map(lambda t: f"round({t[0]}, {t[1]})"),
    ),
    max_leaves=8,
)

# flat chains leave the grouping to the parsers: precedence and associativity must be Python's
OPERAND = st.tuples(st.sampled_from(["", "-", "--"]), st.integers(0, 6)).map(lambda t: f"{t[0]}{t[1]}")
FLAT = st.tuples(
    OPERAND, st.lists(st.tuples(st.sampled_from(["+", "-", "*", "//", "%", "**", "/"]), OPERAND), max_size=5)
).map(lambda t: t[0] + "".join(f" {op} {x}" for op, x in t[1]))


def _compare(text: str) -> None:
    try:
        want = python_value(pyast.parse(text, mode="eval"))
    except Refused as r:
        with pytest.raises(DiagnosticError) as exc:
            value(text)
        assert exc.value.diagnostics[0].code == str(r), text
        return
    got = value(text)
    assert got == want and type(got) is type(want), (text, got, want)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPR)
def test_random_expressions_compute_what_python_computes(text):
    _compare(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FLAT)
def test_random_operator_chains_group_as_in_python(text):
    _compare(text)

"""One argument binder: ops, blocks, nets (extends and -p overrides), columns, residual and the
expression functions report argument mistakes with the same codes and the same words."""

from __future__ import annotations

import sys

import pytest

from archdsl.diagnostics import DiagnosticError
from archdsl.ops import OPS
from archdsl.resolve import load_graph
from archdsl.resolve.binding import COLUMNS, RESIDUAL, op_signature
from archdsl.resolve.functions import FUNCTIONS
from archdsl.syntax import ast

BLOCK = "block b(c, k = 3) {\n    conv(c, k = k)\n}\n"
BASE = "net base(width = 8, k = 3) {\n    input x [3, 16, 16]\n    y = conv(width, k = k)\n}\n"


def _net(body: str, head: str = "") -> str:
    return f"{head}net t {{\n    input x [3, 16, 16]\n    y = {body}\n}}\n"


def _diag(tmp_path, text: str, net: str | None = None, **overrides):
    p = tmp_path / "t.arch"
    p.write_text(text)
    with pytest.raises(DiagnosticError) as exc:
        load_graph(p, net=net, overrides=overrides or None)
    return exc.value.diagnostics[0]


# (spec, code, message, help): the same mistake, whatever takes the arguments
CASES = {
    # E302: an unknown argument, with a did-you-mean that knows PyTorch's names
    "op_unknown": (
        _net("conv(8, kernel_size = 3)"),
        "E302",
        "'conv' has no argument 'kernel_size'",
        "did you mean 'k'?",
    ),
    "block_unknown": (
        _net("b(8, kernel = 3)", BLOCK),
        "E302",
        "block 'b' has no argument 'kernel'",
        "did you mean 'k'?",
    ),
    "extends_unknown": (
        BASE + "net child extends base(kernel = 5) { }\n",
        "E302",
        "net 'base' has no parameter 'kernel'",
        "did you mean 'k'?",
    ),
    "columns_unknown": (
        _net('columns(2, joins = "add") { conv(8) }'),
        "E302",
        "columns has no argument 'joins'",
        "did you mean 'join'?",
    ),
    "residual_unknown": (_net("residual(scale = 2) { conv(3) }"), "E302", "residual has no argument 'scale'", None),
    "function_unknown": (
        _net("conv(make_divisible(30, div = 4))"),
        "E302",
        "make_divisible() has no argument 'div'",
        None,
    ),
    # E303: too many positional arguments
    "op_too_many": (_net("conv(8, 3, 1, 1)"), "E303", "'conv' takes 3 positional arguments (c, k, s)", None),
    "block_too_many": (_net("b(8, 3, 1)", BLOCK), "E303", "block 'b' takes 2 arguments (c, k)", None),
    "extends_too_many": (
        BASE + "net child extends base(8, 3, 1) { }\n",
        "E303",
        "net 'base' takes 2 parameters (width, k)",
        None,
    ),
    "columns_too_many": (_net("columns(2, true) { conv(8) }"), "E303", "columns takes 1 positional argument (n)", None),
    "residual_too_many": (_net("residual(2) { conv(3) }"), "E303", "residual takes no arguments", None),
    "function_too_many": (_net("conv(round(8, 0, 1))"), "E303", "round() takes 2 arguments (x, ndigits)", None),
    # E304: a missing argument
    "op_missing": (_net("conv(k = 3)"), "E304", "'conv' needs argument 'c' (output channels)", "e.g. conv(c = ...)"),
    "block_missing": (_net("b(k = 3)", BLOCK), "E304", "block 'b' needs argument 'c'", "/t.arch:1:9"),
    "function_missing": (_net("conv(scale_depth(3))"), "E304", "scale_depth() needs argument 'mult'", None),
    "function_too_few": (_net("conv(max(8))"), "E304", "max() needs at least 2 arguments", None),
    # E305: positional after keyword, or the same argument twice
    "op_after_keyword": (_net("conv(k = 3, 8)"), "E305", "positional argument after a keyword argument", None),
    "block_twice": (_net("b(8, c = 8)", BLOCK), "E305", "argument 'c' given twice", None),
    "extends_twice": (
        BASE + "net child extends base(width = 4, width = 2) { }\n",
        "E305",
        "parameter 'width' given twice",
        None,
    ),
    "columns_twice": (
        _net('columns(2, join = "add", join = "mul") { conv(8) }'),
        "E305",
        "argument 'join' given twice",
        None,
    ),
    "function_twice": (_net("conv(log(x = 8, x = 4))"), "E305", "argument 'x' given twice", None),
    # E320: a value of the wrong kind
    "block_tensor": (_net("b(x)", BLOCK), "E320", "argument 'c' of block 'b' must be a value, not a tensor", None),
    "columns_tensor": (
        _net('columns(2, join = "project", out = x) { conv(8) }'),
        "E320",
        "argument 'out' of columns must be a value, not a tensor",
        None,
    ),
    "function_string": (
        _net('conv(round("8"))'),
        "E320",
        "argument 'x' of round() must be a number, got a string \"8\"",
        None,
    ),
    # E311: a tensor handed to an op that takes its input from the pipeline
    "op_tensor": (
        _net("conv(x, 8)"),
        "E311",
        "'conv' takes its input from the pipeline, not as an argument",
        "write x -> conv(...)",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_argument_mistakes_read_alike(name, tmp_path):
    text, code, message, help = CASES[name]
    net = "child" if "net child" in text else None
    d = _diag(tmp_path, text, net=net)
    assert (d.code, d.message) == (code, message)
    if help is not None:
        assert d.help is not None and d.help.endswith(help)  # (a path is relative to where it was read)
    assert d.span is not None


def test_an_unknown_override_is_reported_before_a_missing_parameter(tmp_path):
    """-p widht=1 for a net whose width has no default: the typo is the mistake, not the default."""
    d = _diag(tmp_path, "net t(width) {\n    input x [3, 16, 16]\n    y = conv(width)\n}\n", widht=1)
    assert (d.code, d.message, d.help) == ("E302", "net 't' has no parameter 'widht'", "did you mean 'width'?")


def test_a_missing_net_parameter_points_at_it(tmp_path):
    d = _diag(tmp_path, "net t(width) {\n    input x [3, 16, 16]\n    y = conv(width)\n}\n")
    assert (d.code, d.message, d.span.line, d.span.col) == ("E304", "net 't' needs a value for parameter 'width'", 1, 7)
    assert d.help == "give it a default in the spec, or pass width=... on the command line"


def test_first_overrides_an_argument_given_by_position(tmp_path):
    """first(c = 16) replaces the channels written positionally (before: E305 'given twice')."""
    p = tmp_path / "t.arch"
    p.write_text(_net("conv(8, k = 3) * 3 first(c = 16, s = 2)"))
    g = load_graph(p)
    assert [(n.out.c, n.args.s) for n in g.nodes] == [(16, 2), (8, 1), (8, 1)]


def test_first_overrides_reach_the_head_of_a_group_and_a_block(tmp_path):
    p = tmp_path / "t.arch"
    p.write_text(_net("((b(8) -> bn) -> relu) * 2 first(c = 4, k = 1)", BLOCK))
    convs = [n for n in load_graph(p).nodes if n.op == "conv"]
    assert [(n.out.c, n.args.k) for n in convs] == [(4, 1), (8, 3)]


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ("conv(8) * 2 first(kernel = 3)", "E302", "'conv' has no argument 'kernel'"),
        ("conv(8) * 2 first(16)", "E308", "first(...) takes keyword arguments, e.g. first(s = 2)"),
        ("conv(8) * 2 first(s = 2, s = 1)", "E305", "argument 's' given twice"),
    ],
)
def test_first_arguments_are_bound_like_any_others(body, code, message, tmp_path):
    d = _diag(tmp_path, _net(body))
    assert (d.code, d.message) == (code, message)
    assert d.span.col > _net(body).splitlines()[2].index("first")


def test_every_op_signature_is_its_schema():
    for name, spec in OPS.items():
        sig = op_signature(spec)
        fields = {k: f for k, f in spec.args.model_fields.items() if k != "op"}
        assert [p.name for p in sig.params] == list(fields), name
        assert set(sig.positional) <= set(fields), name
        assert {p.name for p in sig.params if p.required} == {k for k, f in fields.items() if f.is_required()}, name


def test_built_ins_and_functions_are_described_as_data():
    assert COLUMNS.positional == ("n",)
    assert {p.name: p.default for p in COLUMNS.params} == {"n": None, "split": False, "join": "concat", "out": None}
    assert RESIDUAL.params == ()
    for name, f in FUNCTIONS.items():
        assert f.signature.name == name and f.doc, name


def test_the_resolver_makes_no_ast_nodes(tmp_path):
    """Built-ins, first(...) and string parameters naming ops are expanded through the builder:
    resolving makes no AST node (the resolver once built Call/Arg/Num nodes to call itself)."""
    text = (
        'block act_block(act = "relu") {\n    conv(8) -> act\n}\n'
        "net t {\n    input x [8, 16, 16]\n"
        '    a = columns(2, split = true, join = "shuffle") { conv(4) }\n'
        '    b = columns(2, join = "project", out = 8) { conv(4) }\n'
        '    c = act_block("silu") * 2 first(act = "gelu")\n'
        "    d = residual { conv(8) -> bn }\n"
        "}\n"
    )
    p = tmp_path / "t.arch"
    p.write_text(text)
    from archdsl.resolve import Resolver, load_program

    prog = load_program(p)
    made: list[str] = []
    kinds = tuple(v for v in vars(ast).values() if isinstance(v, type) and v.__module__ == ast.__name__)

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_name == "__init__" and isinstance(frame.f_locals.get("self"), kinds):
            made.append(type(frame.f_locals["self"]).__name__)

    sys.setprofile(profile)
    try:
        g = Resolver(prog).resolve("t")
    finally:
        sys.setprofile(None)
    assert made == []
    assert {n.op for n in g.nodes} >= {"slice", "shuffle", "conv", "silu", "gelu", "add"}

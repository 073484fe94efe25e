"""The resolver's op cache (archdsl/resolve/opcache.py) and its pause of the garbage collector
(archdsl/resolve/gcpause.py) change nothing but the speed: a failure is located at every call site
that makes it, values that compare equal but validate differently stay apart, the cache is
bounded, and a warm cache gives the very graphs a cold one gives."""

from __future__ import annotations

import dataclasses
import gc
import json
from pathlib import Path

import pytest

from archdsl.diagnostics import DiagnosticError
from archdsl.ops import OPS, OpError, TensorType
from archdsl.resolve import Resolver, load_graph, load_program, opcache
from archdsl.resolve.gcpause import paused_gc

ROOT = Path(__file__).resolve().parent.parent


def _errors(text: str) -> list:
    with pytest.raises(DiagnosticError) as exc:
        load_graph("t.arch", text=text)
    return exc.value.diagnostics


def _net(*lines: str) -> str:
    return "net t {\n    input x [4, 8, 8]\n" + "".join(f"    {line}\n" for line in lines) + "}\n"


@pytest.fixture(autouse=True)
def _cold_cache():
    opcache.clear()
    yield
    opcache.clear()


def test_a_shape_error_is_located_at_every_call_that_makes_it():
    # the same call twice: the second is a cache hit, its E404 still points at its own 'groups'
    diags = _errors(_net("a = conv(6, groups = 4)", "b = x -> conv(6, groups = 4)"))
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [("E404", 3, 17), ("E404", 4, 22)]
    assert diags[0].message == diags[1].message == "conv: groups=4 does not divide the 6 output channels"


def test_a_schema_error_is_located_at_every_call_that_makes_it():
    diags = _errors(_net("a = conv(0)", "b = x -> conv(0)", "c = x -> conv(c = 0)"))
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [("E321", 3, 14), ("E321", 4, 19), ("E321", 5, 19)]


def test_an_error_inside_a_repeated_block_is_noted_at_each_use():
    text = "block b(g) {\n    conv(6, groups = g)\n}\n" + _net("a = b(4)", "c = x -> b(4)")
    diags = _errors(text)
    assert [d.code for d in diags] == ["E404", "E404"]
    assert [d.notes[-1] for d in diags] == [
        "in block 'b' used at t.arch:6:9",
        "in block 'b' used at t.arch:7:14",
    ]


def test_the_context_of_a_join_is_named_at_each_call():
    # columns' join goes through the cache with a context of its own, located at each columns(...)
    cols = 'columns(join = "add") {\n        p: conv(4)\n        q: conv(8)\n    }'
    diags = _errors(_net(f"a = {cols}", f"b = x -> {cols}"))
    assert [d.message.split(":")[0] for d in diags] == ["joining the columns", "joining the columns"]
    assert [d.span.line for d in diags] == [3, 7]


def test_values_that_compare_equal_are_different_calls():
    # true == 1 and 0.0 == -0.0 in Python; as arguments they are not the same
    diags = _errors(_net("a = conv(4, bias = true)", "b = x -> conv(4, bias = 1)"))
    assert [(d.code, d.span.line) for d in diags] == [("E320", 4)]
    g = load_graph("t.arch", text=_net("a = scale(init = 0.0) -> scale(init = -0.0) -> scale(init = 0.0)"))
    assert [json.dumps(n.args.model_dump(mode="json")["init"]) for n in g.nodes] == ["0.0", "-0.0", "0.0"]
    diags = _errors(_net("a = conv(4, k = 3)", "b = x -> conv(4, k = 3.0)"))  # a window is an int or a tuple
    assert [(d.code, d.span.line) for d in diags] == [("E320", 4)]
    g = load_graph("t.arch", text=_net("a = conv(4, k = 3) -> conv(4, k = (3, 3))"))
    assert [n.args.k for n in g.nodes] == [3, 3]


def test_the_same_call_on_another_input_type_is_another_call():
    g = load_graph("t.arch", text=_net("a = conv(4) -> avgpool(2) -> conv(4) -> gap -> conv(4)"))
    convs = [n for n in g.nodes if n.op == "conv"]
    assert [n.out.shape for n in convs] == [(4, 8, 8), (4, 4, 4), (4, 1, 1)]
    assert [n.macs for n in convs] == [16 * 64, 16 * 16, 16]


def test_a_warm_cache_gives_the_graphs_a_cold_one_gives():
    prog = load_program(ROOT / "specs" / "attendnext.arch")
    points = [{"width": w, "depth": d} for w in (0.5, 0.75, 1.0) for d in (0.75, 1.0)]
    cold = []
    for p in points:
        opcache.clear()
        cold.append(Resolver(prog).resolve("attendnext", overrides=p).to_json())
    warm = [Resolver(prog).resolve("attendnext", overrides=p).to_json() for p in points]
    assert warm == cold
    assert len(opcache._CACHE) > 0


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(opcache, "MAX_ENTRIES", 5)
    load_graph("t.arch", text=_net("a = conv(4) -> conv(5) -> conv(6) -> conv(7) -> conv(8) -> conv(9) -> conv(10)"))
    assert 0 < len(opcache._CACHE) <= 5


def test_an_op_registered_under_the_same_name_gets_its_own_results():
    relu = OPS["relu"]

    def refuse(args, ins):
        raise OpError("refused", code="E402")

    other = dataclasses.replace(relu, infer=refuse)
    t = TensorType(shape=(4, 8, 8))
    assert opcache.infer_op(relu, {}, [t]).out == t
    assert opcache.infer_op(other, {}, [t]).op_error is not None
    assert opcache.infer_op(relu, {}, [t]).op_error is None


def test_the_collector_is_paused_and_restored():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause leaves the outer one alone
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # a caller's own choice is kept
    finally:
        gc.enable()
    with pytest.raises(DiagnosticError):
        load_graph("t.arch", text=_net("a = conv(0)"))
    assert gc.isenabled()  # restored on errors too

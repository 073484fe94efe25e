"""The resolver's work is bounded, not only what it makes (issue 12, items 4 and 14).

Repeats of zero ops, nested columns, blocks that repeat blocks, false groups, long expressions
evaluated per repetition, many nets extending an expensive one: each is charged to one budget of
steps (``Limits.max_steps``, E506) and refused instead of running for minutes. Every op's output,
a concat's summed channels included, is held to the dimension and element limits.

Most tests run in-process with a small budget so that, on code without the budget, they fail
quickly (the spec simply resolves) instead of hanging; the issue's own examples run as
subprocesses with a deadline and a peak-memory bound.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archdsl.diagnostics import DiagnosticError, SourceMap
from archdsl.resolve import DEFAULT_LIMITS, Limits, Program, Resolver, load_program
from archdsl.syntax import ast, parse_text
from tests.conftest import ROOT, SPECS

SMALL = Limits(max_steps=2_000)


def _resolve_all(tmp_path: Path, text: str, limits: Limits = DEFAULT_LIMITS) -> Resolver:
    path = tmp_path / "spec.arch"
    path.write_text(text)
    r = Resolver(load_program(path), limits)
    for name in r.net_names():
        r.resolve(name)
    return r


def _codes(tmp_path: Path, text: str, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    with pytest.raises(DiagnosticError) as exc:
        _resolve_all(tmp_path, text, limits)
    for d in exc.value.diagnostics:
        assert d.span is not None and d.span.line >= 1, d  # located
    return [d.code for d in exc.value.diagnostics]


def _net(body: str, *, blocks: str = "", shape: str = "3, 8, 8") -> str:
    return f"{blocks}\nnet n {{\n    input x [{shape}]\n    {body}\n}}\n"


# ---- the issue's examples, as a user runs them ----------------------------------------------
ISSUE = {
    "four_zero_repeats": _net("y = ((((relu * 0) * 10000) * 10000) * 10000)"),
    "two_zero_repeats": _net("y = ((relu * 0) * 1000) * 1000"),
    "nested_columns": _net("y = columns(1024) { columns(1024) { relu * 0 } }"),
}


# The child's peak memory is read by a small launcher: a process forked from this (large) pytest
# process would report pytest's resident size as its own peak, since ru_maxrss survives exec.
_LAUNCH = """
import json, os, subprocess, sys
with open(sys.argv[1], "wb") as out:
    child = subprocess.Popen(sys.argv[3:], stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
    _, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[2], "w") as res:
    json.dump({"rc": os.waitstatus_to_exitcode(status), "rss_mb": usage.ru_maxrss / 1024}, res)
"""


def _check_in_subprocess(spec: Path, deadline: float) -> tuple[int, str, float, float]:
    """``archdsl check SPEC`` as a user runs it: exit code, output, seconds, peak MB (killed at the deadline)."""
    out, res = spec.with_suffix(".out"), spec.with_suffix(".json")
    argv = [sys.executable, "-c", _LAUNCH, str(out), str(res), sys.executable, "-m", "archdsl", "check", str(spec)]
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=spec.parent, start_new_session=True)
    try:
        proc.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"archdsl check still running after {deadline:.0f} s")
    seconds = time.monotonic() - start
    result = json.loads(res.read_text())
    return result["rc"], out.read_text(errors="replace"), seconds, result["rss_mb"]


@pytest.mark.parametrize("name", list(ISSUE))
def test_issue_examples_are_refused_quickly_in_little_memory(name, tmp_path):
    spec = tmp_path / f"{name}.arch"
    spec.write_text(ISSUE[name])
    rc, output, seconds, rss_mb = _check_in_subprocess(spec, deadline=20)
    assert rc == 1, output
    assert "error[E506]" in output and f"{name}.arch:4:" in output, output
    assert "Traceback" not in output
    assert seconds < 15, f"took {seconds:.1f} s"
    assert rss_mb < 400, f"peak memory {rss_mb:.0f} MB"


# ---- every kind of expansion work is charged --------------------------------------------------
EXPANSIONS = {
    "zero_op_repeats": _net("y = ((relu * 0) * 100) * 100 -> relu"),
    "false_groups": _net("y = ((relu if false) * 100) * 100 -> relu"),
    "nested_columns": _net("y = columns(64) { columns(64) { relu * 0 } }"),
    "labelled_columns_of_repeats": _net(
        'y = columns(join = "add") {\n' + "".join(f"        c{i}: (relu * 0) * 100\n" for i in range(30)) + "    }"
    ),
    "blocks_repeating_blocks": _net(
        "y = c() * 10 -> relu",
        blocks="block a() { y = (relu * 0) * 10 }\nblock b() { y = a() * 10 }\nblock c() { y = b() * 10 }",
    ),
    "first_on_every_outer_iteration": _net("y = ((dropout -> (relu * 0) * 100) * 30 first(p = 0.2)) -> relu"),
    "expression_per_repetition": _net("y = dropout(p = 0 * (" + " + ".join(["1"] * 200) + ")) * 20"),
    "block_defaults_per_use": _net(
        "y = wide() * 50",
        blocks="block wide(" + ", ".join(f"p{i} = {i} + 1" for i in range(40)) + ") { y = relu }",
    ),
    "long_names_nested_deep": _net(
        "y = b0()",
        blocks="\n".join(
            f"block b{i}() {{ {'n' * 2000}{i} = {f'b{i + 1}()' if i < 9 else '(relu * 0) * 100'} }}" for i in range(10)
        ),
    ),
}


@pytest.mark.parametrize("name", list(EXPANSIONS))
def test_expansion_work_is_charged_to_the_budget(name, tmp_path):
    assert "E506" in _codes(tmp_path, EXPANSIONS[name], SMALL)


def test_the_budget_error_says_where_and_why(tmp_path):
    with pytest.raises(DiagnosticError) as exc:
        _resolve_all(tmp_path, EXPANSIONS["zero_op_repeats"], SMALL)
    (d,) = exc.value.diagnostics
    assert d.code == "E506" and "2,000 steps" in d.message
    assert d.span.line == 4
    assert any("in repetition" in n for n in d.notes)
    assert d.help and "multiply" in d.help


def test_a_spent_budget_stops_the_net_at_once(tmp_path):
    """The statements after the one that spent the budget are not tried one by one."""
    text = _net("y = ((relu * 0) * 100) * 100\n" + "".join(f"    z{i} = relu\n" for i in range(200)))
    assert _codes(tmp_path, text, SMALL) == ["E506"]


def test_the_nets_of_a_file_share_one_budget(tmp_path):
    """Many nets extending one expensive net cost the file once, not once per net."""
    text = "net p {\n    input x [3, 8, 8]\n    y = (relu * 0) * 300 -> relu\n}\n"
    text += "".join(f"net c{i} extends p {{ }}\n" for i in range(20))
    with pytest.raises(DiagnosticError) as exc:
        _resolve_all(tmp_path, text, SMALL)
    (d,) = exc.value.diagnostics
    assert d.code == "E506"
    r = Resolver(load_program(tmp_path / "spec.arch"), SMALL)
    failures = []
    for name in r.net_names():
        try:
            r.resolve(name)
        except DiagnosticError as e:
            failures.append((name, e.diagnostics[0]))
    assert failures and all(d.code == "E506" for _, d in failures)
    assert len(failures) < len(r.net_names())
    later = [d for _, d in failures[1:]]
    assert later and all("is not resolved" in d.message for d in later)


def test_a_fresh_resolver_has_a_fresh_budget(tmp_path):
    text = _net("y = (relu * 0) * 300 -> relu")
    _resolve_all(tmp_path, text, SMALL)
    _resolve_all(tmp_path, text, SMALL)


def test_real_specs_use_a_small_part_of_the_budget():
    for path in SPECS:
        r = Resolver(load_program(path))
        if not r.net_names():
            continue  # a file of search spaces only (specs/spaces/): nothing of its own to resolve
        for name in r.net_names():
            r.resolve(name)
        used = r.budget.limit - r.budget.left
        assert 0 < used < DEFAULT_LIMITS.max_steps // 50, (path, used)


def test_the_generated_5000_line_benchmark_spec_fits_with_room(tmp_path):
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.core_speed import generated_spec
    finally:
        sys.path.remove(str(ROOT))
    r = _resolve_all(tmp_path, generated_spec())
    assert r.budget.limit - r.budget.left < DEFAULT_LIMITS.max_steps // 5


def test_a_net_near_the_op_limit_fits_the_budget(tmp_path):
    text = _net(
        "y = (conv(8, k = 3) -> bn -> relu) * 10000\n    z = (conv(8, k = 3) -> bn -> relu) * 6000", shape="8, 8, 8"
    )
    r = _resolve_all(tmp_path, text)
    assert r.budget.left > 0


# ---- extends -----------------------------------------------------------------------------------
def test_a_long_chain_of_extends_is_refused(tmp_path):
    text = "net n0 {\n    input x [3, 8, 8]\n    y = relu\n}\n"
    text += "".join(f"net n{i} extends n{i - 1} {{ }}\n" for i in range(1, 80))
    path = tmp_path / "spec.arch"
    path.write_text(text)
    r = Resolver(load_program(path))
    r.resolve("n64")
    for name in ("n65", "n79"):
        with pytest.raises(DiagnosticError) as exc:
            r.resolve(name)
        assert [d.code for d in exc.value.diagnostics] == ["E501"]
        assert "extend each other more than 64 deep" in exc.value.diagnostics[0].message
    # the same answer whatever was resolved before
    with pytest.raises(DiagnosticError):
        Resolver(load_program(path)).resolve("n79")


def _big_nets(n: int) -> tuple[ast.NetDef, ast.NetDef]:
    """A parent with n statements and a child overriding every one (built as AST: parsing is slow)."""
    mod = parse_text(
        "net p {\n    input x [3, 8, 8]\n    meta { k = 1 }\n    a = relu\n}\n"
        "net c extends p {\n    input x [3, 4, 4]\n    meta { k = 2 }\n    a = relu\n}\n",
        "big.arch",
    )
    p, c = mod.nets
    inp, meta, assign = p.body

    def many(first):
        return tuple(dataclasses.replace(assign, name=f"a{i}") for i in range(n)) + first

    p = dataclasses.replace(p, body=(inp, *many(()), *(meta,) * (n // 10)))
    c = dataclasses.replace(c, body=(c.body[0], *many(()), *(c.body[1],) * (n // 10)))
    return p, c


def test_extending_a_big_net_is_linear():
    p, c = _big_nets(30_000)
    prog = Program(ast.Module("big.arch", nets=[p, c]), SourceMap(), nets={"p": p, "c": c})
    r = Resolver(prog, Limits(max_steps=10**9))
    t0 = time.monotonic()
    _params, body, _depth = r._flatten(c, ())
    assert time.monotonic() - t0 < 10, "extends merge is super-linear"
    assert body[0] == c.body[0]  # the child's input replaces the parent's, first
    assert sum(isinstance(s, ast.InputStmt) for s in body) == 1
    assigns = [s for s in body if isinstance(s, ast.Assign)]
    assert [s.name for s in assigns] == [f"a{i}" for i in range(30_000)]
    metas = [s for s in body if isinstance(s, ast.MetaStmt)]
    keys = [(e.key, e.value.value) for m in metas for e in m.entries]
    assert keys == [("k", 2)]  # each later meta k = ... drops the earlier ones


def test_extends_merge_keeps_its_meaning(tmp_path):
    text = """
net p(w = 8) {
    meta { a = 1  b = 2 }
    input x [3, 8, 8]
    s = conv(w)
    t = relu
}
net c extends p(w = 16) {
    input x [3, 16, 16]
    meta { b = 3 }
    s = conv(w * 2)
    u = relu
    meta { c = 4 }
}
"""
    path = tmp_path / "spec.arch"
    path.write_text(text)
    g = Resolver(load_program(path)).resolve("c")
    assert g.inputs[0].type.shape == (3, 16, 16)
    assert g.meta == {"a": 1, "b": 3, "c": 4}
    assert list(g.stages) == ["s", "t", "u"]
    assert g.nodes[0].out.shape == (32, 16, 16)


# ---- block bodies and defaults ----------------------------------------------------------------
def test_a_block_with_many_statements_costs_linear_time(tmp_path):
    body = "\n".join(["    relu * 0"] * 4000)
    text = f"block wide() {{\n{body}\n}}\n" + _net("y = wide * 3 -> relu")
    path = tmp_path / "spec.arch"
    path.write_text(text)
    prog = load_program(path)
    t0 = time.monotonic()
    Resolver(prog).resolve("n")
    assert time.monotonic() - t0 < 10, "each statement of a block body rescans the whole body"


def test_a_tensor_as_a_block_default_is_a_clear_error(tmp_path):
    text = _net("y = b()", blocks="block b(c = in) { conv(8) }")
    with pytest.raises(DiagnosticError) as exc:
        _resolve_all(tmp_path, text)
    (d,) = exc.value.diagnostics
    assert d.code == "E320" and "default of parameter 'c'" in d.message
    assert (d.span.line, d.span.col) == (1, 13)


# ---- every op's output is held to the size limits ----------------------------------------------
@pytest.mark.parametrize(
    ("body", "shape", "code", "op"),
    [
        ("y = columns(2) { relu }", "1000000, 1, 1", "E501", "concat"),
        ('y = columns(2, join = "shuffle") { relu }', "1000000, 1, 1", "E501", "concat"),
        ('y = columns(2, join = "project", out = 8) { relu }', "1000000, 1, 1", "E501", "concat"),
        ("y = columns(8) { relu }", "600, 256, 256", "E502", "concat"),
        ("a = relu\n    b = relu\n    y = concat(a, b)", "1000000, 1, 1", "E501", "concat"),
        ("y = residual { columns(2) { relu } -> conv(1000000) }", "1000000, 1, 1", "E501", "concat"),
    ],
)
def test_every_op_output_is_held_to_the_limits(body, shape, code, op, tmp_path):
    with pytest.raises(DiagnosticError) as exc:
        _resolve_all(tmp_path, _net(body, shape=shape))
    (d,) = exc.value.diagnostics
    assert d.code == code and f"'{op}' makes a tensor" in d.message, d
    lines = _net(body, shape=shape).splitlines()
    assert lines[d.span.line - 1].lstrip().startswith("y = "), d.span  # at the statement that makes it


def test_the_element_limit_of_the_command_line_applies_to_joins(tmp_path):
    text = _net("y = columns(4) { relu }", shape="16, 32, 32")
    _resolve_all(tmp_path, text)
    with pytest.raises(DiagnosticError) as exc:
        _resolve_all(tmp_path, text, Limits(max_elements=16 * 32 * 32 * 3))
    assert exc.value.diagnostics[0].code == "E502"

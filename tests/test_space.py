"""Search spaces (archdsl/space/): the domain model, seeded sampling, the default point, resolving
points (structural ones included: repeat counts, column counts, kernel sizes, a string parameter
naming a block, a conditional group), selection by name, and the CLI on spaces."""

from __future__ import annotations

import random
import textwrap

import pytest

import archdsl
from archdsl.diagnostics import DiagnosticError
from archdsl.space import (
    Choice,
    Fixed,
    FloatRange,
    IntRange,
    check_points,
    format_point,
    load_space,
    space_names,
)
from tests.conftest import ROOT, run_cli

TINY = ROOT / "tests" / "fixtures" / "spaces" / "tiny.arch"
EXAMPLE = ROOT / "specs" / "spaces" / "attendnext_widths.arch"

NET = textwrap.dedent(
    """\
    import std

    net small(width = 1.0, depth = 2, classes = 10) {
        input image [3, 32, 32]
        stem = conv(make_divisible(16 * width, 8)) -> bn -> relu
        body = conv_bn_act(16) * depth
        head = gap -> flatten -> linear(classes)
    }
    """
)


def codes(exc: pytest.ExceptionInfo) -> list[str]:
    return [d.code for d in exc.value.diagnostics]


# ---- the model ---------------------------------------------------------------------------------


def test_domains_contain_first_last_and_size():
    c = Choice((3, 5, 7))
    assert (c.first(), c.last(), c.size) == (3, 7, 3)
    assert c.contains(5) and c.contains(5.0) and not c.contains(4)
    assert not Choice((1, 2)).contains(True)  # true is not 1
    assert not Choice((True, False)).contains(1)

    r = IntRange(4, 12, step=2)
    assert (r.first(), r.last(), r.size) == (4, 12, 5)
    assert r.contains(6) and r.contains(6.0) and not r.contains(7) and not r.contains(14) and not r.contains(6.5)

    f = FloatRange(0.5, 2.0, step=0.25)
    assert (f.first(), f.last(), f.size) == (0.5, 2.0, 7)
    assert f.contains(1.25) and not f.contains(1.3) and not f.contains(2.25)
    assert FloatRange(1e-4, 1e-1, log=True).size is None
    assert Fixed("x").contains("x") and not Fixed("x").contains("y")


def test_sampling_is_seeded_and_stays_inside_every_domain():
    loaded = load_space(TINY)
    s = loaded.space
    a = [s.sample(random.Random(7)) for _ in range(3)]
    b = [s.sample(random.Random(7)) for _ in range(3)]
    assert a == b
    rng = random.Random(1)
    points = [s.sample(rng) for _ in range(200)]
    assert len({tuple(p.items()) for p in points}) > 20  # not one point over and over
    for p in points:
        assert list(p) == list(s.searched())  # declaration order
        for k, v in p.items():
            assert s.domains[k].contains(v), (k, v)
    assert {p["cols"] for p in points} == {1, 2, 4}
    assert {p["extra"] for p in points} == {False, True}


def test_log_ranges_sample_inside_their_bounds():
    rng = random.Random(0)
    ints = [IntRange(1, 1000, log=True).sample(rng) for _ in range(500)]
    assert min(ints) >= 1 and max(ints) <= 1000
    assert sum(1 for v in ints if v < 32) > 150  # log-uniform: half the mass below sqrt(1000)
    floats = [FloatRange(1e-4, 1e-1, log=True).sample(rng) for _ in range(500)]
    assert all(1e-4 <= v <= 1e-1 for v in floats)
    assert sum(1 for v in floats if v < 10**-2.5) > 150


def test_space_model_from_the_spec():
    s = load_space(TINY).space
    assert (s.name, s.net) == ("tiny_space", "tiny")
    assert list(s.domains) == ["classes", "stem_block", "depth", "cols", "k", "extra", "width"]
    assert s.domains["classes"] == Fixed(5)
    assert s.domains["depth"] == IntRange(1, 3)
    assert s.domains["width"] == FloatRange(1.0, 2.0, step=0.5)
    assert s.domains["stem_block"] == Choice(("blur_first", "conv_first"))
    assert list(s.searched()) == ["stem_block", "depth", "cols", "k", "extra", "width"]
    assert s.fixed() == {"classes": 5}
    assert s.size() == 2 * 3 * 3 * 2 * 2 * 3
    assert s.domains["depth"].span.line == 25  # located, for diagnostics


def test_default_point_takes_the_nets_default_where_it_lies_inside():
    text = NET + textwrap.dedent(
        """
        space s extends small {
            width = choice(0.5, 0.75)    # the default 1.0 is outside: the first value
            depth = int(1, 4)            # the default 2 is inside
            classes = float(2, 20, step = 2)   # 10 is on the grid
        }
        """
    )
    s = load_space(text=text).space
    assert s.default_point() == {"width": 0.5, "depth": 2, "classes": 10}
    assert s.first_point() == {"width": 0.5, "depth": 1, "classes": 2.0}
    assert s.last_point() == {"width": 0.75, "depth": 4, "classes": 20.0}


# ---- resolving points --------------------------------------------------------------------------


def _ops(graph) -> list[str]:
    return [n.op for n in graph.nodes]


def test_resolve_structural_points():
    loaded = load_space(TINY)
    base = loaded.space.default_point()
    g = loaded.resolve(base)
    assert g.name == "tiny" and g.output_type.shape == (5,)  # the fixed classes = 5 applies
    assert g.params["classes"] == 5

    # repeat count: depth blocks per column
    convs = lambda g: sum(1 for n in g.nodes if n.op == "conv")  # noqa: E731
    assert convs(loaded.resolve({**base, "depth": 3})) - convs(g) == base["cols"]
    # column count
    g4 = loaded.resolve({**base, "cols": 4})
    assert sum(1 for s in g4.scopes if s.kind == "column") == 4
    assert sum(1 for s in g.scopes if s.kind == "column") == 2
    # kernel size
    g5 = loaded.resolve({**base, "k": 5})
    assert {n.args.k for n in g5.nodes if n.id.startswith("body.") and n.op == "conv"} == {5}
    # a string parameter naming a block
    g_cf = loaded.resolve({**base, "stem_block": "conv_first"})
    stem = lambda g: [n.op for n in g.nodes if n.id.startswith("stem.")]  # noqa: E731
    assert stem(g)[0] == "blurpool" and stem(g_cf)[0] == "conv"
    # a conditional group
    assert not any(n.id.startswith("more.") for n in g.nodes)
    assert any(n.id.startswith("more.") for n in loaded.resolve({**base, "extra": True}).nodes)
    # a width multiplier
    assert loaded.resolve({**base, "width": 2.0}).total_params > g.total_params


def test_every_point_of_a_small_space_resolves_and_they_differ():
    loaded = load_space(TINY)
    rng = random.Random(3)
    graphs = [loaded.resolve(loaded.space.sample(rng)) for _ in range(12)]
    assert len({(g.total_params, g.total_macs, len(g.nodes)) for g in graphs}) > 5


def test_resolve_parses_nothing(monkeypatch):
    """The program is parsed once: resolving points never calls the parser."""
    loaded = load_space(TINY)
    import archdsl.syntax.parser as parser

    def refuse(*a, **k):
        raise AssertionError("parsed again")

    monkeypatch.setattr(parser, "_parser", refuse)
    monkeypatch.setattr(parser, "build_ast", refuse)
    rng = random.Random(0)
    for _ in range(5):
        loaded.resolve(loaded.space.sample(rng))


def test_a_failing_point_raises_its_own_located_diagnostics():
    text = NET + "\nspace s extends small {\n    depth = int(1, 20000)\n}\n"
    loaded = load_space(text=text)
    loaded.resolve({"depth": 3})
    with pytest.raises(DiagnosticError) as exc:
        loaded.resolve({"depth": 20000})
    assert codes(exc) == ["E502"]
    assert exc.value.diagnostics[0].span.line == 6  # at the repeat of the net
    # each point gets the whole work budget: many points in a row never run it out
    for d in (1, 2, 3) * 30:
        loaded.resolve({"depth": d})


def test_a_point_with_an_unknown_parameter_is_refused():
    loaded = load_space(TINY)
    with pytest.raises(DiagnosticError) as exc:
        loaded.resolve({"dpeth": 2})
    assert codes(exc) == ["E302"]
    assert "did you mean 'depth'" in exc.value.diagnostics[0].help


def test_check_points_are_default_first_last_and_three_seeded_random():
    s = load_space(TINY).space
    pts = check_points(s)
    labels = [label for label, _ in pts]
    assert labels[:3] == ["default", "all-first", "all-last"]
    assert len(pts) == 6 and pts == check_points(s)
    # equal points are resolved once
    one = load_space(text=NET + "\nspace s extends small {\n    depth = choice(2)\n}\n").space
    assert [label for label, _ in check_points(one)] == ["default"]


def test_format_point_writes_values_as_the_language_does():
    assert format_point({"a": 1, "b": "x", "c": True, "d": None}) == 'a = 1, b = "x", c = true, d = none'


# ---- selection -----------------------------------------------------------------------------------

TWO = NET + textwrap.dedent(
    """
    space narrow extends small {
        width = choice(0.5, 0.75)
    }

    space deep extends small {
        depth = int(2, 6, step = 2)
    }
    """
)


def test_a_file_with_several_spaces_needs_a_name():
    with pytest.raises(DiagnosticError) as exc:
        load_space(text=TWO)
    assert codes(exc) == ["E346"]
    assert "narrow, deep" in exc.value.diagnostics[0].help
    assert load_space(text=TWO, name="deep").space.domains["depth"] == IntRange(2, 6, step=2)
    with pytest.raises(DiagnosticError) as exc:
        load_space(text=TWO, name="narow")
    assert codes(exc) == ["E346"] and "did you mean 'narrow'?" in exc.value.diagnostics[0].help
    with pytest.raises(DiagnosticError) as exc:
        load_space(text=NET)
    assert codes(exc) == ["E346"]


def test_the_space_named_like_the_file_is_chosen(tmp_path):
    path = tmp_path / "deep.arch"
    path.write_text(TWO)
    loaded = load_space(path)
    assert loaded.space.name == "deep"
    assert space_names(loaded.program) == ["narrow", "deep"]
    assert loaded.sources.line(str(path), 3) == "net small(width = 1.0, depth = 2, classes = 10) {"  # for diagnostics


def test_archdsl_load_resolves_a_space_at_its_default_point():
    g = archdsl.load(TINY, net="tiny_space")
    assert g.output_type.shape == (5,)
    assert archdsl.load(TINY, net="tiny").output_type.shape == (10,)  # the net itself, as before


def test_example_space_over_attendnext():
    loaded = load_space(EXAMPLE)
    assert loaded.space.net == "attendnext"
    assert set(loaded.space.searched()) >= {"width", "depth"}
    assert loaded.space.meta["constraint"] == "AD101,AD102,AD103,AD104"
    g = loaded.resolve(loaded.space.default_point())
    assert g.total_params == archdsl.load(ROOT / "specs" / "attendnext.arch").total_params


# ---- the command line ----------------------------------------------------------------------------


def test_check_resolves_the_points_of_a_space():
    res = run_cli("check", str(TINY))
    assert res.returncode == 0, res.stderr
    assert "1 net, 1 space (6 points): no errors" in res.stderr


def test_check_reports_the_first_failing_point_with_its_values(tmp_path):
    path = tmp_path / "s.arch"
    path.write_text(NET + "\nspace s extends small {\n    width = choice(0.5, 1.0)\n    depth = int(1, 20000)\n}\n")
    res = run_cli("check", str(path))
    assert res.returncode == 1
    err = res.stderr
    assert "error[E347]: space 's': the all-last point does not resolve" in err
    assert "= note: width = 1.0, depth = 20000" in err
    assert "error[E502]: repeat count 20,000 is above the limit of 10,000" in err
    assert "= note: at the all-last point of space 's'" in err
    assert "Traceback" not in err


def test_show_on_a_space_uses_its_default_point_and_says_so():
    res = run_cli("show", str(TINY), "--net", "tiny_space")
    assert res.returncode == 0, res.stderr
    assert "net tiny" in res.stdout and "[5] vec" in res.stdout
    assert "note: space 'tiny_space' (net 'tiny') at its default point: " in res.stderr
    # a plain net of the same file, as before: no note
    res = run_cli("show", str(TINY), "--net", "tiny")
    assert res.returncode == 0 and "note:" not in res.stderr and "[10] vec" in res.stdout


def test_show_without_a_name_on_a_file_of_nets_and_spaces(tmp_path):
    path = tmp_path / "mixed.arch"
    path.write_text(TWO)
    res = run_cli("show", str(path))
    assert res.returncode == 1
    assert "error[E204]: the file defines 1 net and 2 spaces, and none is named 'mixed'" in res.stderr
    assert "choose one with --net: small, narrow, deep" in res.stderr
    res = run_cli("show", str(path), "--net", "deeep")
    assert res.returncode == 1 and "did you mean 'deep'?" in res.stderr
    res = run_cli("show", str(path), "--net", "deep", "-p", "depth=6", "--json")
    assert res.returncode == 0, res.stderr
    assert '"depth": 6' in res.stdout
    assert "at its default point and the -p values: depth = 6" in res.stderr


def test_show_on_the_example_space_file():
    res = run_cli("show", str(EXAMPLE))
    assert res.returncode == 0, res.stderr
    assert "note: space 'attendnext_widths'" in res.stderr


def test_a_default_that_depends_on_an_earlier_parameter_uses_its_default_point_value():
    text = textwrap.dedent(
        """\
        import std
        net n(width = 1.0, c = make_divisible(16 * width, 8)) {
            input image [3, 8, 8]
            y = conv(c)
        }
        space s extends n {
            width = choice(2.0, 3.0)     # the default 1.0 is outside: 2.0
            c = int(8, 64, step = 8)     # its default at width 2.0 is 32
        }
        """
    )
    assert load_space(text=text).space.default_point() == {"width": 2.0, "c": 32}


def test_meta_values_are_checked_and_typed():
    text = NET + textwrap.dedent(
        """
        space s extends small {
            depth = int(1, 3)
            meta {
                max_params = 4e6
                min_macs = 2 * 10 ** 8
                max_latency_ms = 12.5
                constraint = "AD101, AD102"
                objectives = "latency:a72, params"
                note = "kept as written"
            }
        }
        """
    )
    meta = load_space(text=text).space.meta
    assert meta == {
        "max_params": 4_000_000,
        "min_macs": 200_000_000,
        "max_latency_ms": 12.5,
        "constraint": "AD101, AD102",
        "objectives": "latency:a72, params",
        "note": "kept as written",
    }
    assert isinstance(meta["max_params"], int)
    bad = text.replace("max_params = 4e6", "max_params = 4e6\n        min_params = 5e6")
    with pytest.raises(DiagnosticError) as exc:
        load_space(text=bad)
    assert codes(exc) == ["E345"] and "no design can meet both" in exc.value.diagnostics[0].message


def test_space_is_still_a_name_where_no_definition_can_start(tmp_path):
    path = tmp_path / "kw.arch"
    path.write_text(
        "import std\nblock space(c) {\n    conv(c)\n}\n\n"
        "net a(space = 8) {\n    input x [3, 8, 8]\n    y = conv(space)\n}\n\n"
        "net b {\n    input x [3, 8, 8]\n    y = space(4)\n}\n"
    )
    assert archdsl.load(path, net="a").nodes[0].args.c == 8
    assert archdsl.load(path, net="b").nodes[0].args.c == 4


def test_a_point_written_as_a_variant_is_the_same_net(tmp_path):
    from archdsl.space import literal, variant_text

    loaded = load_space(TINY)
    point = {**loaded.space.default_point(), "stem_block": "conv_first", "cols": 4, "extra": True, "width": 1.5}
    out = tmp_path / "designs" / "best.arch"
    out.parent.mkdir()
    text = variant_text(loaded, point, "tiny_best", out, doc="rank 1 of the Pareto front")
    out.write_text(text)
    assert text.startswith('import "')
    assert "net tiny_best" in text and 'extends tiny(classes = 5, stem_block = "conv_first"' in text
    assert "# rank 1 of the Pareto front" in text
    g = archdsl.load(out)
    want = loaded.resolve(point)
    assert (g.total_params, g.total_macs, len(g.nodes)) == (want.total_params, want.total_macs, len(want.nodes))
    res = run_cli("check", str(out))
    assert res.returncode == 0, res.stderr
    assert literal('a "b"\\n') == '"a \\"b\\"\\\\n"' and literal(None) == "none" and literal(1e-05) == "1e-05"

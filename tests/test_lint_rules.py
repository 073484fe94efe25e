"""Lint rules: every rule's docstring examples, fixture snapshots, the registry, and acceptance.

Snapshots: tests/fixtures/lint/<CODE>*.arch is linted with the codes its first line names
(``# lint-select: ...``) and compared with <name>.snap (the text report a user sees, carets and
all). ``ARCHDSL_UPDATE_SNAPSHOTS=1 pytest tests/test_lint_rules.py`` rewrites them; review the diff.
"""

from __future__ import annotations

import os
import re
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from archdsl.diagnostics import Severity
from archdsl.rules import Rule
from archdsl.rules.base import parse_doc, validate_rule
from archdsl.rules.config import LintConfig
from archdsl.rules.engine import Linter, lint_text
from archdsl.rules.registry import BUILTIN, FAMILIES, RegistryError, build_registry, default_registry, discover
from archdsl.rules.reporting import render

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "lint"
REGISTRY = build_registry()
RULES = list(REGISTRY.rules)


def check_snapshot(path: Path, actual: str) -> None:
    # positions inside the standard library change whenever std.arch is edited: not this test's business
    actual = re.sub(r"<std>/std\.arch:\d+:\d+", "<std>/std.arch:L:C", actual)
    if os.environ.get("ARCHDSL_UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{path.name} differs (ARCHDSL_UPDATE_SNAPSHOTS=1 to accept)"


def selected(fixture: Path) -> tuple[str, ...] | None:
    first = fixture.read_text(encoding="utf-8").splitlines()[0]
    if first.startswith("# lint-select:"):
        return tuple(s.strip() for s in first.split(":", 1)[1].split(","))
    return None


# ---- the registry -------------------------------------------------------------------------------


def test_builtin_table_is_well_formed():
    codes = [r.code for r in BUILTIN]
    assert len(codes) == len(set(codes)) and len({r.name for r in BUILTIN}) == len(BUILTIN)
    assert {r.family() for r in BUILTIN} == set(FAMILIES)
    for rule in BUILTIN:
        assert validate_rule(rule) == [], rule.code
        assert not rule.code.startswith(("E", "B")), "lint codes must not collide with compiler codes"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_metadata(rule):
    assert isinstance(rule.severity, Severity)
    assert rule.summary().endswith((".", "?", ")")), rule.summary()
    assert len(rule.summary()) <= 110, "keep the first sentence of 'What it does' short: it is the summary"
    assert REGISTRY.get(rule.code) is rule and REGISTRY.get(rule.name) is rule


def test_registry_selectors():
    assert {r.code for r in REGISTRY.expand("AD")} == {"AD101", "AD102", "AD103", "AD104", "AD105"}
    assert [r.code for r in REGISTRY.expand("AD10")] == ["AD101", "AD102", "AD103", "AD104", "AD105"]
    assert [r.code for r in REGISTRY.expand("aliased-downsampling")] == ["AD103"]
    assert len(REGISTRY.expand("ALL")) == len(RULES)
    assert REGISTRY.expand("ZZ") == [] and REGISTRY.expand("nonsense") == []
    assert "AD103" in (REGISTRY.suggestion("AD13") or "") or REGISTRY.suggestion("aliased-downsamplin")


def _plugin(tmp_path: Path, monkeypatch, body: str) -> EntryPoint:
    name = "fake_archlint_" + "".join(c if c.isalnum() else "_" for c in tmp_path.name)
    (tmp_path / f"{name}.py").write_text(body, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return EntryPoint(name="fake", value=f"{name}:RULES", group="archdsl.rules")


PLUGIN = '''
from archdsl.diagnostics import Severity
from archdsl.rules import Rule, RuleOptions

class Options(RuleOptions):
    max_kernel: int = 5

class HugeKernel(Rule):
    """
    ## What it does
    Flags convolutions with kernels larger than `max-kernel`.

    ## Why is this bad?
    Big kernels are slow.

    ## Example
    ```arch
    net example {
        input image [3, 32, 32]
        stem = conv(8, k = 7)
    }
    ```

    ## Use instead
    ```arch
    net example {
        input image [3, 32, 32]
        stem = conv(8, k = 3)
    }
    ```

    ## Options
    - `max-kernel` (integer, default 5): the largest kernel allowed.
    """
    code = "%s"
    name = "%s"
    severity = Severity.WARNING
    options = Options

    def check_graph(self, ctx, graph, options):
        for node in graph.nodes:
            if node.op == "conv" and node.args.k > options.max_kernel:
                span, notes = ctx.locate(graph, node.id)
                yield self.finding(f"k = {node.args.k}", span, notes=notes, net=graph.name, path=node.id)

RULES = [HugeKernel]
'''


def test_third_party_rules_load_through_entry_points(tmp_path, monkeypatch):
    ep = _plugin(tmp_path, monkeypatch, PLUGIN % ("XY101", "huge-kernel"))
    reg = discover([ep])
    rule = reg.get("XY101")
    assert rule is not None and "fake" in rule.origin
    cfg = LintConfig(select=("XY",), rule_options={"huge-kernel": {"max-kernel": 3}})
    res = Linter(registry=reg, config=cfg).lint_file(Path("x.arch"), text=rule.doc().code_blocks("Example")[0])
    assert [f.code for f in res.findings] == ["XY101"]
    res = lint_text(rule.doc().code_blocks("Use instead")[0], select=["XY101"], registry=reg)
    assert res.findings == []


@pytest.mark.parametrize(
    ("code", "name", "problem"),
    [
        ("AD199", "huge-kernel", "reserved for built-in rules"),
        ("XY101", "columnar-design", "already used"),
        ("X101", "huge-kernel", "two capital letters"),
        ("XY101", "Huge_Kernel", "kebab-case"),
    ],
)
def test_bad_plugins_are_refused(tmp_path, monkeypatch, code, name, problem):
    ep = _plugin(tmp_path, monkeypatch, PLUGIN % (code, name))
    with pytest.raises(RegistryError, match=problem):
        discover([ep])


def test_duplicate_codes_and_names_are_refused():
    class One(BUILTIN[1]):
        code, name = "XY500", "one"

    class Two(BUILTIN[1]):
        code, name = "XY500", "two"

    class Three(BUILTIN[1]):
        code, name = "XY501", "one"

    with pytest.raises(RegistryError, match=r"XY500.*already used"):
        build_registry([One, Two])
    with pytest.raises(RegistryError, match="name 'one' is already used"):
        build_registry([One, Three])
    with pytest.raises(RegistryError, match="reserved"):
        build_registry([type("Copy", (BUILTIN[1],), {"name": "copy"})])


def test_a_plugin_that_fails_to_import_is_a_registry_error():
    ep = EntryPoint(name="broken", value="no_such_module_xyz:RULES", group="archdsl.rules")
    with pytest.raises(RegistryError, match="broken"):
        discover([ep])


def test_default_registry_has_the_builtins():
    assert {r.code for r in BUILTIN} <= set(default_registry().by_code)


def test_docstring_sections_are_validated():
    class NoDocs(Rule):
        """Just a line."""

        code = "XY999"
        name = "no-docs"

    problems = validate_rule(NoDocs)
    assert any("What it does" in p for p in problems) and any("Use instead" in p for p in problems)
    assert parse_doc(BUILTIN[0].__doc__).sections.keys() >= {"What it does", "Options"}


# ---- every rule's Example triggers it, its Use instead does not ---------------------------------


def _examples():
    for rule in RULES:
        doc = rule.doc()
        for section, fires in (("Example", True), ("Use instead", False)):
            for i, block in enumerate(doc.code_blocks(section)):
                yield pytest.param(rule, block, fires, id=f"{rule.code}-{section.replace(' ', '-').lower()}-{i}")


@pytest.mark.parametrize(("rule", "source", "fires"), list(_examples()))
def test_docstring_examples(rule, source, fires):
    # all rules together, as a user would run them ...
    res = lint_text(source, file=f"{rule.code}_example.arch", select=["ALL"])
    assert res.spec_errors == [], [d.message for d in res.spec_errors]
    codes = {f.code for f in res.findings}
    assert (rule.code in codes) == fires, [f"{f.code}: {f.message}" for f in res.findings]
    # ... and the rule alone (AQ001 judges the codes of the other selected rules, so it needs them)
    if rule.code != "AQ001":
        alone = lint_text(source, file=f"{rule.code}_example.arch", select=[rule.code])
        assert bool(alone.findings) == fires


# ---- fixtures with snapshots --------------------------------------------------------------------

FIXTURE_FILES = sorted(p for p in FIXTURES.glob("*.arch") if selected(p) is not None)


def test_every_rule_has_a_fixture():
    have = {p.stem.split("_")[0] for p in FIXTURE_FILES}
    assert {r.code for r in RULES} <= have


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_fixture_snapshot(fixture, monkeypatch):
    monkeypatch.chdir(ROOT)
    rel = fixture.relative_to(ROOT)
    cfg = LintConfig(select=selected(fixture), root=ROOT)
    result = Linter(config=cfg).lint_paths([rel])
    assert not result.spec_errors, [d.message for d in result.spec_errors]
    code = fixture.stem.split("_")[0]
    if code != "AQ001" and not fixture.stem.endswith("library"):
        assert any(f.code == code for f in result.findings), "a fixture shows its rule firing"
    check_snapshot(fixture.with_suffix(".snap"), render(result, "text"))


# ---- acceptance: the paper's rules on the zoo ---------------------------------------------------

PAPER = ["AD"]


def _lint(path: Path, select=PAPER, ignore_noqa: bool = False):
    return Linter(config=LintConfig(select=tuple(select), root=ROOT), ignore_noqa=ignore_noqa).lint_paths([path])


def test_attendnext_is_clean_under_the_papers_rules():
    res = _lint(ROOT / "specs" / "attendnext.arch")
    assert res.spec_errors == []
    assert res.findings == [], [f"{f.code} {f.span}: {f.message}" for f in res.findings]
    assert {r.code for r in res.rules} == {"AD101", "AD102", "AD103", "AD104", "AD105"}


MOBILENETS = [
    ROOT / "specs" / "baselines" / "mobilenetv3_large_100.arch",
    FIXTURES / "mobilenet_like.arch",
]


@pytest.mark.parametrize("spec", MOBILENETS, ids=["mobilenetv3_large_100", "mobilenet_like_fixture"])
def test_mobilenet_is_flagged_for_aliasing_and_single_columns(spec):
    if not spec.exists():
        pytest.skip(f"{spec.name} is not in the zoo yet")
    # a reference model may carry `# archdsl: noqa-file AD` (it is not meant to follow the paper);
    # the paper's rules still see through it
    res = _lint(spec, ignore_noqa=True)
    assert res.spec_errors == []
    aliased = [f for f in res.findings if f.code == "AD103"]
    assert any("strided depthwise convolution" in f.message for f in aliased)
    assert any("strided convolution" in f.message and "depthwise" not in f.message for f in aliased)  # the stem
    single = [f for f in res.findings if f.code == "AD101"]
    assert len(single) >= 4 and all("computes in 1 column" in f.message for f in single)
    assert not [f for f in res.findings if f.code == "AD102"], "MobileNet has no strided point-wise convs"


def test_every_zoo_spec_lints_without_tool_failure():
    linter = Linter(config=LintConfig(root=ROOT))
    res = linter.lint_paths([ROOT / "specs"])
    assert res.internal_errors == []
    assert res.spec_errors == []
    for f in res.findings:
        assert f.span is not None and f.span.line > 0
        assert Path(f.span.file).resolve() == Path(next(fr.file for fr in res.files if f in fr.findings)).resolve(), (
            "findings are placed in the linted file"
        )


def test_a_dead_region_with_several_starts_is_one_finding():
    """AR207 reports each connected dead region once, at its first op, counting every op of it."""
    spec = (
        "net n {\n    input image [3, 16, 16]\n    stem = conv(8, k = 3)\n"
        "    a = stem -> conv(8)\n    b = stem -> conv(8)\n    c = add(a, b) -> relu\n"
        "    head = stem -> gap -> flatten -> linear(10)\n}\n"
    )
    (f,) = lint_text(spec, select=["AR207"]).findings
    assert f.span.line == 4 and "(4 ops, 128 parameters are dead)" in f.message, f.message
    assert any(n.startswith("the region also starts at 'conv' (example.arch:5:") for n in f.notes), f.notes


def test_persists_and_skip_back_answers_are_shared_not_stale():
    """The per-graph memos of graphutil: two resolutions in one graph get their own answers."""
    spec = (
        "net n {\n    input image [3, 32, 32]\n    a = avgpool(2)\n    b = a -> avgpool(2) -> upsample(2)\n"
        "    c = b -> conv(8, k = 1)\n}\n"
    )
    msgs = [f.message for f in lint_text(spec, select=["AD103"]).findings]
    assert msgs == ["downsampling without anti-aliasing: avg pooling alone (2×2, stride 2) takes 32×32 to 16×16"]

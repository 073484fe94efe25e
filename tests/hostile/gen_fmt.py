"""Hostile cases for ``archdsl fmt`` that need files a spec case cannot carry.

Special files on the command line and in a searched folder, bad bytes on standard input, files at
and past the size and token limits, nesting past what the formatter can lay out, and specs whose
size (one long pipeline, a thousand arguments, a long string, thousands of comments, deeply
nested columns) would show a formatter that is quadratic somewhere; sized so that the parse,
which ``archdsl check`` pays as well, stays well inside the time limit. The ``--check`` runs that
find something to change end with a ``= help:`` line, so every case has something located or
explained to judge.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.hostile.harness import case

MESSY = "net n{input x [3,8,8]\ny=conv(8)->relu}\n"


@case("fmt_fifo", argv="fmt {file:pipe.arch}", expect="1")
def fifo(tmp: Path) -> None:
    os.mkfifo(tmp / "pipe.arch")  # nobody ever writes: reading it would block for ever


@case("fmt_folder_with_a_fifo_and_a_folder_named_arch", argv="fmt {tmp}", expect="1")
def folder_with_specials(tmp: Path) -> None:
    os.mkfifo(tmp / "pipe.arch")
    (tmp / "dir.arch").mkdir()
    (tmp / "ok.arch").write_text(MESSY)


@case("fmt_dev_zero", argv="fmt --check /dev/zero /dev/null", expect="1")
def dev_zero(tmp: Path) -> None:
    pass


@case("fmt_latin1", argv="fmt {file:latin1.arch}", expect="1")
def latin1(tmp: Path) -> None:
    (tmp / "latin1.arch").write_bytes(b"# caf\xe9\n" + MESSY.encode())


@case("fmt_binary", argv="fmt --diff {file:model.arch}", expect="1")
def binary(tmp: Path) -> None:
    (tmp / "model.arch").write_bytes(bytes(range(256)) * 64)


@case("fmt_big_sparse", argv="fmt {file:big.arch}", expect="1")
def big_sparse(tmp: Path) -> None:
    with (tmp / "big.arch").open("wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # 200 MB, refused before it is read


@case("fmt_too_many_tokens", argv="fmt {file:many.arch}", expect="1")
def too_many_tokens(tmp: Path) -> None:
    (tmp / "many.arch").write_text("net n {\n    z = conv(" + "1+" * 200_000 + "1)\n}\n")


@case("fmt_nested_too_deeply", argv="fmt {file:deep.arch}", expect="1")
def nested_too_deeply(tmp: Path) -> None:
    (tmp / "deep.arch").write_text("net n {\n    y = " + "(" * 5000 + "conv(3)" + ")" * 5000 + "\n}\n")


@case("fmt_symlink_loop", argv="fmt {file:loop.arch}", expect="1")
def symlink_loop(tmp: Path) -> None:
    (tmp / "loop.arch").symlink_to("loop.arch")


@case("fmt_stdin_not_utf8", argv="fmt -", expect="1", stdin=b"net n {\n    y = conv(\xff)\n}\n")
def stdin_not_utf8(tmp: Path) -> None:
    pass


@case("fmt_stdin_too_large", argv="fmt -", expect="1", stdin=MESSY.encode() + b" " * (5 * 1024 * 1024))
def stdin_too_large(tmp: Path) -> None:
    pass


@case("fmt_stdin_syntax_error", argv="fmt --diff -", expect="1", stdin=b"net n {\n    y = conv(3 +)\n}\n")
def stdin_syntax_error(tmp: Path) -> None:
    pass


# ---- big but valid: the layout must stay about linear ------------------------------------------


@case("fmt_one_long_pipeline", argv="fmt --check {file:long.arch}", expect="1")
def one_long_pipeline(tmp: Path) -> None:
    stages = " -> ".join(f"conv({i}, k = 3)" for i in range(500))
    (tmp / "long.arch").write_text(f"net n {{\n    input x [3, 8, 8]\n    y = {stages}\n}}\n")


@case("fmt_thousands_of_arguments", argv="fmt --check {file:args.arch}", expect="1")
def thousands_of_arguments(tmp: Path) -> None:
    args = ", ".join(f"a{i} = {i}" for i in range(1000))
    (tmp / "args.arch").write_text(f"net n {{\n    input x [3, 8, 8]\n    y = conv({args})\n}}\n")


@case("fmt_a_long_string", argv="fmt --check {file:wide.arch}", expect="1")
def a_long_string(tmp: Path) -> None:
    # 256 KiB; at several MiB the parser itself (the string pattern of its lexer) takes seconds
    (tmp / "wide.arch").write_text('net n{meta{note="' + "x" * (256 * 1024) + '"}}\n')


@case("fmt_thousands_of_comments", argv="fmt --check {file:comments.arch}", expect="1")
def thousands_of_comments(tmp: Path) -> None:
    body = "".join(f"  y{i} = conv(8)  # trailing {i}\n# own-line {i}\n" for i in range(1500))
    (tmp / "comments.arch").write_text("net n {\n" + body + "}\n")


@case("fmt_nested_columns", argv="fmt --check {file:nested.arch}", expect="1")
def nested_columns(tmp: Path) -> None:
    inner = "conv(8)"
    for i in range(150):
        inner = f'columns(join = "add") {{ a{i}: {inner}\n b{i}: identity }}'
    (tmp / "nested.arch").write_text(f"net n {{\n    input x [8, 8, 8]\n    y = {inner}\n}}\n")

"""Hostile sources that a plain spec file cannot hold: special files, big files, bad bytes, links.

Each case writes what it needs into the case's temporary folder (see tests/hostile/harness.py).
They cover how spec text gets in (archdsl/resolve/program.py, archdsl/syntax/): regular files
only, bounded reads, UTF-8 with a location, any line ends, bounded imports and tokens.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from tests.hostile.harness import case

NET = "net n {\n    input x [3, 32, 32]\n    y = conv(8) -> relu\n}\n"


def _importer(tmp: Path, target: str, name: str = "main.arch") -> None:
    (tmp / name).write_text(f'import "{target}"\n' + NET)


@case("src_fifo_root", argv="check {file:pipe.arch}", expect="1")
def fifo_root(tmp: Path) -> None:
    os.mkfifo(tmp / "pipe.arch")  # nobody ever writes: reading it would block forever


@case("src_fifo_import", argv="check {file:main.arch}", expect="1")
def fifo_import(tmp: Path) -> None:
    os.mkfifo(tmp / "pipe.arch")
    _importer(tmp, "pipe.arch")


@case("src_socket_import", argv="check {file:main.arch}", expect="1")
def socket_import(tmp: Path) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(tmp / "sock.arch"))  # the socket file stays after the descriptor is closed
    s.close()
    _importer(tmp, "sock.arch")


@case("src_dev_zero_root", argv="check /dev/zero /dev/urandom /dev/null", expect="1")
def dev_zero_root(tmp: Path) -> None:
    pass


@case("src_big_sparse_root", argv="check {file:big.arch}", expect="1")
def big_sparse_root(tmp: Path) -> None:
    with (tmp / "big.arch").open("wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # 200 MB of NUL bytes, without the disk


@case("src_big_import", argv="check {file:main.arch}", expect="1")
def big_import(tmp: Path) -> None:
    with (tmp / "big.arch").open("wb") as fh:
        fh.truncate(200 * 1024 * 1024)
    _importer(tmp, "big.arch")


@case("src_just_over_the_limit", argv="check {file:big.arch}", expect="1")
def just_over_the_limit(tmp: Path) -> None:
    (tmp / "big.arch").write_bytes(NET.encode() + b" " * (4 * 1024 * 1024))


@case("src_too_many_tokens", argv="check {file:many.arch}", expect="1")
def too_many_tokens(tmp: Path) -> None:
    (tmp / "many.arch").write_text(NET[:-2] + "    z = conv(" + "1+" * 200_000 + "1)\n}\n")


@case("src_too_many_tokens_in_imports", argv="check {file:main.arch}", expect="1")
def too_many_tokens_in_imports(tmp: Path) -> None:
    # each file is under the limit of one file; together they are over the limit of a program
    (tmp / "small.arch").write_text("block s {\n    conv(" + "1+" * 7_000 + "1)\n}\n")
    (tmp / "large.arch").write_text("block l {\n    conv(" + "1+" * 20_000 + "1)\n}\n")
    (tmp / "main.arch").write_text('import "small.arch"\nimport "large.arch"\n' + NET)


@case("src_bom_error", argv="check {file:bom.arch}", expect="1")
def bom_error(tmp: Path) -> None:
    (tmp / "bom.arch").write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + NET.replace("relu", "rleu").encode())


@case("src_invalid_utf8", argv="check {file:latin1.arch}", expect="1")
def invalid_utf8(tmp: Path) -> None:
    (tmp / "latin1.arch").write_bytes(b"# caf\xe9\r\n" + NET.encode() + b"\xff\xfe\xc3")


@case("src_invalid_utf8_import", argv="check {file:main.arch}", expect="1")
def invalid_utf8_import(tmp: Path) -> None:
    (tmp / "lib.arch").write_bytes(b"block b {\n    relu # \xed\xa0\x80 a surrogate\n}\n")
    _importer(tmp, "lib.arch")


@case("src_cr_only", argv="check {file:mac.arch}", expect="1")
def cr_only(tmp: Path) -> None:
    text = "# an old Mac file\n" + NET.replace("relu", "zzz")
    (tmp / "mac.arch").write_bytes(text.replace("\n", "\r").encode())


@case("src_mixed_line_ends", argv="check {file:mixed.arch}", expect="1")
def mixed_line_ends(tmp: Path) -> None:
    text = "net n {\r\n    input x [3, 8, 8]\r    y = conv(8)\n\x0c    z = y -> zzz\u2028\r\n}"
    (tmp / "mixed.arch").write_text(text, encoding="utf-8", newline="")


@case("src_nul_bytes", argv="check {file:nul.arch}", expect="1")
def nul_bytes(tmp: Path) -> None:
    (tmp / "nul.arch").write_bytes(NET.encode()[:30] + b"\x00\x00\x00" + NET.encode()[30:])


@case("src_binary_file", argv="check {file:model.arch}", expect="1")
def binary_file(tmp: Path) -> None:
    (tmp / "model.arch").write_bytes(bytes(range(256)) * 64)


@case("src_symlink_loop_import", argv="check {file:main.arch}", expect="1")
def symlink_loop_import(tmp: Path) -> None:
    (tmp / "loop.arch").symlink_to("loop.arch")
    (tmp / "a.arch").symlink_to("b.arch")
    (tmp / "b.arch").symlink_to("a.arch")
    (tmp / "main.arch").write_text('import "loop.arch"\nimport "a.arch"\n' + NET)


@case("src_symlink_cycle", argv="check {file:main.arch}", expect="1")
def symlink_cycle(tmp: Path) -> None:
    (tmp / "sub").mkdir()
    (tmp / "sub" / "up").symlink_to("..", target_is_directory=True)
    (tmp / "main.arch").write_text('import "sub/up/sub/up/main.arch"\n' + NET)


@case("src_dangling_symlink_root", argv="check {file:gone.arch}", expect="1")
def dangling_symlink_root(tmp: Path) -> None:
    (tmp / "gone.arch").symlink_to(tmp / "nowhere" / "x.arch")


@case("src_unreadable_import", argv="check {file:main.arch}", expect="1")
def unreadable_import(tmp: Path) -> None:
    (tmp / "secret.arch").write_text(NET)
    (tmp / "secret.arch").chmod(0)  # root reads it anyway; anyone else gets a located error
    _importer(tmp, "secret.arch")


@case("src_deep_import_chain", argv="check {file:f0.arch}", expect="1")
def deep_import_chain(tmp: Path) -> None:
    n = 300  # deeper than Python's recursion limit would allow a naive walk
    for i in range(n):
        nxt = f'import "f{i + 1}.arch"\n' if i + 1 < n else ""
        (tmp / f"f{i}.arch").write_text(nxt + f"block b{i} {{\n    relu\n}}\n")


@case("src_wide_imports", argv="check {file:main.arch}", expect="1")
def wide_imports(tmp: Path) -> None:
    for i in range(400):
        (tmp / f"f{i}.arch").write_text(f"block b{i} {{\n    relu\n}}\n")
    (tmp / "main.arch").write_text("".join(f'import "f{i}.arch"\n' for i in range(400)) + NET)


@case("src_diamond_imports", argv="check {file:main.arch}", expect="0,1")
def diamond_imports(tmp: Path) -> None:
    # every layer imports both files of the next: 2^20 paths, but each file is read once
    for i in range(20):
        for side in "ab":
            nxt = f'import "l{i + 1}a.arch"\nimport "l{i + 1}b.arch"\n' if i + 1 < 20 else ""
            (tmp / f"l{i}{side}.arch").write_text(nxt + f"block b{i}{side} {{\n    relu\n}}\n")
    (tmp / "main.arch").write_text('import "l0a.arch"\n' + NET.replace("relu", "zzz"))


@case("src_long_line", argv="check {file:long.arch}", expect="1")
def long_line(tmp: Path) -> None:
    (tmp / "long.arch").write_text(NET[:-2] + "    z = y" + " " * 3_000_000 + "-> zzz\n}\n")


@case("src_control_file_name", argv="check {file:evil\x1b[31m\x07.arch}", expect="1")
def control_file_name(tmp: Path) -> None:
    (tmp / "evil\x1b[31m\x07.arch").write_text(NET.replace("relu", "zzz"))


@case("src_many_errors", argv="check {file:errors.arch}", expect="1")
def many_errors(tmp: Path) -> None:
    # kept small: the resolver's unknown-name check is quadratic in the names of a net (reported)
    body = "".join(f"    y{i} = conv(8) -> zzz{i}\n" for i in range(500))
    (tmp / "errors.arch").write_text("net n {\n    input x [3, 8, 8]\n" + body + "}\n")

"""Hostile input for edge deployment: int8 calibration folders and the emulated Cortex-A72.

Calibration files that claim huge shapes or pixel counts, pickled arrays, special files, bad
normalisation meta; emulator folders another user could write, tools missing from PATH.
Every case must fail fast with a clear message (the harness's limits: 5 s, 500 MB).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from tests.hostile.harness import case

SPEC = """net t {
    input x [3, 16, 16]
    y = conv(4, k = 3) -> bn -> relu -> gap -> flatten -> linear(10)
}
"""
META_SPEC = """net t {
    input x [3, 16, 16]
    meta {
        input_std = "%s"
    }
    y = conv(4, k = 3) -> bn -> relu -> gap -> flatten -> linear(10)
}
"""
ARGV = "compile {file:net.arch} -b onnx -o {file:out.onnx} --quantize int8 --calibration {file:calib}"


def _setup(tmp: Path, spec: str = SPEC) -> Path:
    (tmp / "net.arch").write_text(spec)
    calib = tmp / "calib"
    calib.mkdir()
    return calib


def _png(width: int, height: int, body: bytes = b"") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b"")


@case("edge_calib_missing_folder", argv=ARGV.replace("{file:calib}", "{tmp}/nowhere"), expect="2")
def _missing(tmp: Path) -> None:
    _setup(tmp)


@case("edge_calib_empty_folder", argv=ARGV, expect="2")
def _empty(tmp: Path) -> None:
    calib = _setup(tmp)
    (calib / "README.txt").write_text("no images here\n")


@case("edge_calib_npy_claims_a_terabyte", argv=ARGV, expect="2")
def _npy_huge(tmp: Path) -> None:
    calib = _setup(tmp)
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 400000, 400000), }"
    header += " " * (63 - len(header) % 64) + "\n"
    (calib / "x.npy").write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(64))


@case("edge_calib_npy_pickled_objects", argv=ARGV, expect="2")
def _npy_pickle(tmp: Path) -> None:
    calib = _setup(tmp)
    arr = np.empty((3, 16, 16), dtype=object)
    arr[...] = 0
    np.save(calib / "x.npy", arr, allow_pickle=True)


@case("edge_calib_npy_forged_header", argv=ARGV, expect="2")
def _npy_forged(tmp: Path) -> None:
    calib = _setup(tmp)
    header = "__import__('os').system('echo pwned')" + " " * 20 + "\n"
    (calib / "x.npy").write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())


@case("edge_calib_npy_wrong_shape", argv=ARGV, expect="2")
def _npy_shape(tmp: Path) -> None:
    calib = _setup(tmp)
    np.save(calib / "x.npy", np.zeros((16, 16, 3), np.float32))  # HWC, not CHW


@case("edge_calib_npy_infinity", argv=ARGV, expect="2")
def _npy_inf(tmp: Path) -> None:
    calib = _setup(tmp)
    np.save(calib / "x.npy", np.full((3, 16, 16), np.inf, np.float32))


@case("edge_calib_png_claims_ten_gigapixels", argv=ARGV, expect="2")
def _png_bomb(tmp: Path) -> None:
    calib = _setup(tmp)
    (calib / "bomb.png").write_bytes(_png(100_000, 100_000, bytes(1000)))


@case("edge_calib_png_truncated", argv=ARGV, expect="2")
def _png_truncated(tmp: Path) -> None:
    calib = _setup(tmp)
    (calib / "x.png").write_bytes(_png(16, 16, bytes(10))[:40])


@case("edge_calib_dev_zero_link", argv=ARGV, expect="2")
def _dev_zero(tmp: Path) -> None:
    calib = _setup(tmp)
    os.symlink("/dev/zero", calib / "zero.npy")


@case("edge_calib_fifo", argv=ARGV, expect="2")
def _fifo(tmp: Path) -> None:
    calib = _setup(tmp)
    os.mkfifo(calib / "pipe.png")


@case("edge_meta_input_std_zero", argv=ARGV, expect="2")
def _std_zero(tmp: Path) -> None:
    calib = _setup(tmp, META_SPEC % "0, 0, 0")
    (calib / "a.png").write_bytes(_png(4, 4, b"\x00" + bytes(12) + (b"\x00" + bytes(12)) * 3))


@case("edge_meta_input_std_words", argv=ARGV, expect="2")
def _std_words(tmp: Path) -> None:
    calib = _setup(tmp, META_SPEC % "one, two, three")
    (calib / "a.png").write_bytes(_png(4, 4, (b"\x00" + bytes(12)) * 4))


@case("edge_setup_emulator_world_writable_cache", argv="bench setup-emulator --dir {tmp}/shared/emu", expect="3")
def _world_writable(tmp: Path) -> None:
    shared = tmp / "shared"
    shared.mkdir()
    shared.chmod(0o777)


@case("edge_emulated_dir_not_set_up", argv="bench {file:net.arch} --target emulated-a72 -O dir={tmp} --no-store")
def _not_set_up(tmp: Path) -> None:
    (tmp / "net.arch").write_text(SPEC)


@case(
    "edge_emulated_no_tools_on_path",
    argv="bench {file:net.arch} --target emulated-a72 --no-store",
    expect="3",
    PATH="/nonexistent",
)
def _no_tools(tmp: Path) -> None:
    (tmp / "net.arch").write_text(SPEC)

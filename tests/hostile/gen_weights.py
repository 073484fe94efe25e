"""Hostile weights files for ``compile --weights`` (ONNX backend): bombs, forged headers, special files.

Each case writes a small spec (``net.arch``, seven tensors) and a weights file into the case's
folder. The PyTorch backend's reader gets the same files in tests/test_security_weights.py (its
import of torch alone takes seconds, too close to the corpus's time limit on a loaded machine).
"""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from tests.hostile.harness import case

SPEC = """net t {
    input x [3, 8, 8]
    y = conv(4, k = 3) -> bn -> relu -> gap -> flatten -> linear(10)
}
"""
SHAPES = {
    "y.conv.weight": (4, 3, 3, 3),
    "y.bn.weight": (4,),
    "y.bn.bias": (4,),
    "y.bn.running_mean": (4,),
    "y.bn.running_var": (4,),
    "y.linear.weight": (10, 4),
    "y.linear.bias": (10,),
}
ARGV = "compile {file:net.arch} -b onnx -o {file:out.onnx} --weights {file:%s}"


def _spec(tmp: Path) -> None:
    (tmp / "net.arch").write_text(SPEC)


def good_tensors() -> dict[str, np.ndarray]:
    return {k: np.full(s, 0.5, dtype=np.float32) for k, s in SHAPES.items()}


# ---- safetensors with forged headers -------------------------------------------------------------


def safetensors_bytes(header: object, data: bytes = b"", raw_header: bytes | None = None) -> bytes:
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def _valid_header() -> tuple[dict, bytes]:
    header, data, off = {}, b"", 0
    for name, shape in SHAPES.items():
        n = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + n]}
        data += bytes(n)
        off += n
    return header, data


def _st_case(name: str, make):
    @case(f"wts_st_{name}", argv=ARGV % "w.safetensors", expect="1")
    def gen(tmp: Path) -> None:
        _spec(tmp)
        (tmp / "w.safetensors").write_bytes(make())

    return gen


def _edited(edit) -> bytes:
    header, data = _valid_header()
    edit(header)
    return safetensors_bytes(header, data)


_st_case("list_header", lambda: safetensors_bytes([1, 2, 3, 4, 5, 6, 7, 8]))
_st_case("entry_not_object", lambda: _edited(lambda h: h.update({"y.bn.bias": [0, 16]})))
_st_case("missing_offsets", lambda: _edited(lambda h: h["y.bn.bias"].pop("data_offsets")))
_st_case("string_offsets", lambda: _edited(lambda h: h["y.bn.bias"].update(data_offsets=["0", "16"])))
_st_case("overlapping_offsets", lambda: _edited(lambda h: h["y.bn.bias"].update(data_offsets=[0, 16])))
_st_case("offsets_past_end", lambda: _edited(lambda h: h["y.linear.bias"].update(data_offsets=[10**12, 10**12 + 40])))
_st_case("unknown_dtype", lambda: _edited(lambda h: h["y.bn.bias"].update(dtype="Q7")))
_st_case("shape_not_bytes", lambda: _edited(lambda h: h["y.bn.bias"].update(shape=[5])))
_st_case("negative_dim", lambda: _edited(lambda h: h["y.bn.bias"].update(shape=[-4])))
_st_case("huge_shape", lambda: _edited(lambda h: h["y.bn.bias"].update(shape=[2**40, 2**40])))
_st_case("metadata_not_strings", lambda: _edited(lambda h: h.update(__metadata__={"a": [1]})))
_st_case("huge_header_length", lambda: struct.pack("<Q", 2**63) + b"{}")
_st_case("header_past_end", lambda: struct.pack("<Q", 1 << 20) + b"{}")
_st_case("not_utf8", lambda: safetensors_bytes(None, raw_header=b'{"\xff\xfe": 1}'))
_st_case("not_json", lambda: safetensors_bytes(None, raw_header=b'{"y.bn.bias": {"dtype": F32'))
_st_case("nan_in_header", lambda: safetensors_bytes(None, raw_header=b'{"a": NaN}'))
_st_case("deep_nesting", lambda: safetensors_bytes(None, raw_header=b"[" * 200_000))
_st_case(
    "duplicate_keys",
    lambda: safetensors_bytes(
        None, raw_header=b'{"a": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}, "a": {}}', data=bytes(4)
    ),
)
_st_case("truncated", lambda: _edited(lambda h: None)[:-100])
_st_case("too_short", lambda: b"\x01\x02")


@case("wts_st_header_above_spec_budget", argv=ARGV % "w.safetensors", expect="1")
def _big_header(tmp: Path) -> None:
    """8 MB of header (valid JSON, padded) for a spec of seven tensors: refused before it is parsed."""
    _spec(tmp)
    header, data = _valid_header()
    text = json.dumps(header).encode()
    (tmp / "w.safetensors").write_bytes(safetensors_bytes(None, data, raw_header=text + b" " * (8 << 20)))


@case("wts_st_sparse_100gb", argv=ARGV % "w.safetensors", expect="1")
def _sparse(tmp: Path) -> None:
    """A 100 GB (sparse) file: the old reader read it whole."""
    _spec(tmp)
    header, data = _valid_header()
    with open(tmp / "w.safetensors", "wb") as fh:
        fh.write(safetensors_bytes(header, data))
        fh.truncate(100 << 30)


# ---- npz -------------------------------------------------------------------------------------------


def npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def deflate(data: bytes) -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    return co.compress(data) + co.flush()


def deflated_zeros(header: bytes, nbytes: int) -> tuple[bytes, int]:
    """``header`` then ``nbytes`` zero bytes, deflated, and their CRC, without compressing them all:
    after a full flush deflate's output for the same input repeats, so one 16 MB block of zeros is
    compressed once and its bytes repeated."""
    chunk = 1 << 24
    assert nbytes % chunk == 0
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = co.compress(header) + co.flush(zlib.Z_FULL_FLUSH)
    block = co.compress(bytes(chunk)) + co.flush(zlib.Z_FULL_FLUSH)
    crc, zero = zlib.crc32(header), bytes(chunk)
    for _ in range(nbytes // chunk):
        crc = zlib.crc32(zero, crc)
    return first + block * (nbytes // chunk) + co.flush(), crc


def write_zip(path: Path, members: list[tuple[str, bytes, int, int, bool]]) -> None:
    """A zip archive of ``(name, stored bytes, crc, uncompressed size, deflated)`` members, written by
    hand so that a member's declared size and data may disagree (no zip64: sizes under 4 GiB)."""
    local, central = bytearray(), bytearray()
    for name, data, crc, size, deflated in members:
        raw = name.encode()
        method = 8 if deflated else 0
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0x5821,
                crc,
                len(data),
                size,
                len(raw),
                0,
                0,
                0,
                0,
                0,
                len(local),
            )
            + raw
        )
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x5821, crc, len(data), size, len(raw), 0)
        local += raw + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=arr.dtype.hasobject)
    return buf.getvalue()


def member(name: str, data: bytes) -> tuple[str, bytes, int, int, bool]:
    return (name, deflate(data), zlib.crc32(data), len(data), True)


def write_npz(path: Path, tensors: dict[str, np.ndarray], extra: list | None = None) -> None:
    write_zip(path, [member(f"{k}.npy", npy(v)) for k, v in tensors.items()] + (extra or []))


def _npz_case(name: str, fill):
    @case(f"wts_npz_{name}", argv=ARGV % "w.npz", expect="1")
    def gen(tmp: Path) -> None:
        _spec(tmp)
        fill(tmp / "w.npz")

    return gen


def npz_bomb(path: Path) -> None:
    """1 GiB of float32 zeros deflated to about 1 MB, under the name of a tensor the spec has."""
    tensors = good_tensors()
    del tensors["y.conv.weight"]
    header = npy_header((1 << 28,))
    stream, crc = deflated_zeros(header, 1 << 30)
    write_npz(path, tensors, [("y.conv.weight.npy", stream, crc, len(header) + (1 << 30), True)])


_npz_case("bomb", npz_bomb)


def _declared_size_lies(path: Path) -> None:
    """The right shape, but the zip directory declares 3 GiB of data for it."""
    tensors = good_tensors()
    data = npy(tensors.pop("y.bn.bias"))
    write_npz(path, tensors, [("y.bn.bias.npy", deflate(data), zlib.crc32(data), 3 << 30, True)])


_npz_case("declared_size_lies", _declared_size_lies)


def _many_members(path: Path) -> None:
    """10,000 empty members (under 1 MB): refused from the zip's end record, before zipfile lists them."""
    write_zip(path, [(f"t{i}.npy", b"", 0, 0, False) for i in range(10_000)])


_npz_case("many_members", _many_members)


def _pickled(path: Path) -> None:
    tensors = good_tensors()
    obj = np.empty(4, dtype=object)
    obj[:] = [1, "two", None, 4.0]
    tensors["y.bn.bias"] = obj
    write_npz(path, tensors)


_npz_case("pickled_object_array", _pickled)
_npz_case("not_npy_member", lambda p: write_npz(p, good_tensors(), [member("notes.txt", b"hi")]))
_npz_case(
    "duplicate_member",
    lambda p: write_npz(p, good_tensors(), [member("y.bn.bias.npy", npy(np.zeros(4, np.float32)))]),
)


def _complex(path: Path) -> None:
    tensors = good_tensors()
    tensors["y.bn.bias"] = np.zeros(4, dtype=np.complex64)
    write_npz(path, tensors)


_npz_case("complex_dtype", _complex)


def _truncated(path: Path) -> None:
    write_npz(path, good_tensors())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


_npz_case("truncated", _truncated)


def _corrupt(path: Path) -> None:
    """A member whose deflate stream is garbage after its first bytes."""
    tensors = good_tensors()
    data = npy(tensors.pop("y.linear.weight"))
    stream = deflate(data)
    write_npz(
        path, tensors, [("y.linear.weight.npy", stream[:8] + bytes(range(40)), zlib.crc32(data), len(data), True)]
    )


_npz_case("corrupt_deflate", _corrupt)
_npz_case("not_a_zip", lambda p: p.write_bytes(b"PK\x03\x04" + b"\x00" * 100))
_npz_case("npy_version_9", lambda p: write_npz(p, {}, [member("y.bn.bias.npy", b"\x93NUMPY\x09\x00" + bytes(100))]))


# ---- special files -----------------------------------------------------------------------------------


@case("wts_fifo", argv=ARGV % "w.safetensors", expect="1")
def _fifo(tmp: Path) -> None:
    _spec(tmp)
    os.mkfifo(tmp / "w.safetensors")


@case("wts_dev_zero", argv=ARGV % "w.safetensors", expect="1")
def _dev_zero(tmp: Path) -> None:
    _spec(tmp)
    os.symlink("/dev/zero", tmp / "w.safetensors")


@case("wts_directory", argv=ARGV % "w.npz", expect="1")
def _directory(tmp: Path) -> None:
    _spec(tmp)
    (tmp / "w.npz").mkdir()


@case(
    "wts_output_is_the_weights",
    argv="compile {file:net.arch} -b onnx -o {file:w.onnx} -e safetensors --weights {file:w.safetensors}",
    expect="2",
)
def _overwrite(tmp: Path) -> None:
    """``-e safetensors`` would write w.safetensors: the weights file being read."""
    from archdsl.weights import safetensors_file as safetensors

    _spec(tmp)
    safetensors.save(good_tensors(), tmp / "w.safetensors")


# ---- archdsl weights map: checkpoints of another implementation (docs/downstream.md) ------------

MAP_ARGV = "weights map {file:net.arch} {file:%s} --timm resnet18 -o {file:out.safetensors}"


@case("wmp_forged_header_length", argv=MAP_ARGV % "ck.safetensors", expect="1")
def map_forged_header(tmp: Path) -> None:
    """A safetensors header claiming 2^60 bytes: refused from its first 8 bytes."""
    _spec(tmp)
    (tmp / "ck.safetensors").write_bytes(struct.pack("<Q", 1 << 60) + b"{}")


@case("wmp_fifo_checkpoint", argv=MAP_ARGV % "ck.pth", expect="1")
def map_fifo(tmp: Path) -> None:
    """A named pipe called ck.pth: never opened for reading (it would block)."""
    _spec(tmp)
    os.mkfifo(tmp / "ck.pth")


@case("wmp_truncated_npz", argv=MAP_ARGV % "ck.npz", expect="1")
def map_truncated_npz(tmp: Path) -> None:
    """An npz cut in the middle of its first member."""
    _spec(tmp)
    buf = io.BytesIO()
    np.savez(buf, **good_tensors())
    (tmp / "ck.npz").write_bytes(buf.getvalue()[:200])

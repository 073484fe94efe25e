"""Weights files are untrusted input, and big models are artefacts like any other (issue 12).

- safetensors files are read in one place (archdsl/weights, through the ``safetensors``
  package, which validates the header before any data is read) for both backends, refused with
  the same words; the header is bounded by the spec before the package parses it;
- ``.npz`` archives are checked member by member from their headers: a decompression bomb, a
  pickled array, a lying size or too many members cost nothing;
- special files (FIFO, /dev/zero, a directory) are refused without blocking, by both backends;
- ``torch.save`` archives with compressed members (bombs) are refused before ``torch.load``;
- ONNX models keep their peak memory near the weights' size, go to external data above 1.8 GB
  (or with ``-O external_data=true``), load in onnxruntime either way, and are written atomically.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import archdsl
from archdsl import fileio
from archdsl.diagnostics import DiagnosticError
from archdsl.weights import WeightsError
from archdsl.weights import safetensors_file as safetensors
from tests.conftest import ROOT, run_cli
from tests.hostile import gen_weights as gen

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from archdsl_backends.onnx import artefacts, save_model  # noqa: E402
from archdsl_backends.onnx import backend as onnx_backend  # noqa: E402
from archdsl_backends.onnx.weights import resolve_weights  # noqa: E402


@pytest.fixture
def net(tmp_path) -> Path:
    spec = tmp_path / "net.arch"
    spec.write_text(gen.SPEC)
    return spec


def _edited(edit) -> bytes:
    return gen._edited(edit)


# ---- safetensors headers: one reader, both backends ----------------------------------------------------

MALFORMED = {
    "list header": (gen.safetensors_bytes([1, 2, 3]), "invalid type: sequence"),
    "entry not an object": (_edited(lambda h: h.update({"y.bn.bias": [0, 16]})), "expected string or map"),
    "no data_offsets": (_edited(lambda h: h["y.bn.bias"].pop("data_offsets")), "missing field `data_offsets`"),
    "string offsets": (_edited(lambda h: h["y.bn.bias"].update(data_offsets=["0", "16"])), "expected usize"),
    "bool offsets": (_edited(lambda h: h["y.bn.bias"].update(data_offsets=[False, True])), "expected usize"),
    "three offsets": (_edited(lambda h: h["y.bn.bias"].update(data_offsets=[0, 8, 16])), "expected 2 elements"),
    "reversed offsets": (_edited(lambda h: h["y.bn.bias"].update(data_offsets=[16, 0])), "invalid offset"),
    "overlap": (_edited(lambda h: h["y.bn.bias"].update(data_offsets=[0, 16])), "invalid offset"),
    "past the end": (
        _edited(lambda h: h["y.linear.bias"].update(data_offsets=[10**12, 10**12 + 40])),
        "invalid offset",
    ),
    "truncated": (_edited(lambda h: None)[:-100], "file not fully covered"),
    "trailing bytes": (_edited(lambda h: None) + bytes(16), "file not fully covered"),
    "unknown dtype": (_edited(lambda h: h["y.bn.bias"].update(dtype="Q7")), "unknown variant `Q7`"),
    "unsupported dtype": (_edited(lambda h: h["y.bn.bias"].update(dtype="U32")), "does not support"),
    "float8 dtype": (
        _edited(lambda h: h["y.bn.bias"].update(dtype="F8_E4M3", shape=[16])),
        "dtype F8_E4M3, which this reader does not support",
    ),
    "shape not the bytes": (_edited(lambda h: h["y.bn.bias"].update(shape=[5])), "invalid shape, data type, or offset"),
    "negative dim": (_edited(lambda h: h["y.bn.bias"].update(shape=[-4])), "expected usize"),
    "float dim": (_edited(lambda h: h["y.bn.bias"].update(shape=[4.0])), "expected usize"),
    "huge shape": (_edited(lambda h: h["y.bn.bias"].update(shape=[2**40, 2**40])), "overflow computing buffer size"),
    "too many dims": (_edited(lambda h: h["y.bn.bias"].update(shape=[1] * 40)), "invalid shape, data type, or offset"),
    "metadata": (_edited(lambda h: h.update(__metadata__={"a": 1})), "expected a string"),
    "huge header length": (struct.pack("<Q", 2**63) + b"{}", "above the limit of"),
    "header past the end": (struct.pack("<Q", 4096) + b"{}", "invalid header length"),
    "too short": (b"\x01\x02", "too short"),
    "not UTF-8": (gen.safetensors_bytes(None, raw_header=b'{"\xff": 1}'), "invalid UTF-8"),
    "not JSON": (gen.safetensors_bytes(None, raw_header=b'{"a": {"dtype": F32'), "invalid JSON"),
    "NaN": (gen.safetensors_bytes(None, raw_header=b'{"a": NaN}'), "invalid JSON"),
    "deep nesting": (gen.safetensors_bytes(None, raw_header=b"[" * 100_000), "invalid JSON"),
    "deep nesting in an object": (
        gen.safetensors_bytes(None, raw_header=b'{"__metadata__": ' + b"[" * 100_000 + b"}"),
        "invalid JSON",
    ),
    "duplicate keys": (
        gen.safetensors_bytes(
            None, bytes(4), raw_header=b'{"a": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}, "a": {}}'
        ),
        "missing field `dtype`",
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_safetensors_onnx_backend(case, net, tmp_path):
    data, words = MALFORMED[case]
    path = tmp_path / "w.safetensors"
    path.write_bytes(data)
    with pytest.raises(DiagnosticError) as exc:
        resolve_weights(archdsl.load(net), path, 0)
    (d,) = exc.value.diagnostics
    assert d.code == "B008" and words in d.message and "w.safetensors" in d.message, d.message
    assert d.help


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_safetensors_torch_backend(case, net, tmp_path):
    pytest.importorskip("torch")
    from archdsl_backends.torch import build_module
    from archdsl_backends.torch.weights import load_into

    data, words = MALFORMED[case]
    path = tmp_path / "w.safetensors"
    path.write_bytes(data)
    graph = archdsl.load(net)
    with pytest.raises(DiagnosticError) as exc:
        load_into(graph, build_module(graph), path)
    (d,) = exc.value.diagnostics
    assert d.code == "B008" and words in d.message and "w.safetensors" in d.message, d.message
    assert d.help


def test_the_header_bound_is_the_specs(net, tmp_path):
    """8 MB of (valid) header for a spec of seven tensors: refused from its length, before the
    package parses it; the bound can be tightened by the caller."""
    header, data = gen._valid_header()
    text = gen.json.dumps(header).encode()
    path = tmp_path / "w.safetensors"
    path.write_bytes(gen.safetensors_bytes(None, data, raw_header=text + b" " * (8 << 20)))
    with pytest.raises(DiagnosticError) as exc:
        resolve_weights(archdsl.load(net), path, 0)
    assert "above the limit of" in exc.value.diagnostics[0].message
    path.write_bytes(_edited(lambda h: None))
    with open(path, "rb") as fh, pytest.raises(WeightsError, match="above the limit of 100"):  # noqa: SIM117
        with safetensors.open_tensors(fh, max_header=100):
            pass


BIG = "net big {\n    input x [8192, 1, 1]\n    y = flatten -> linear(8192, bias = false)\n}\n"


def test_shapes_are_checked_before_any_data_is_read(tmp_path):
    """A 268 MB tensor of the wrong shape: refused from the header, none of its data read."""
    spec = tmp_path / "big.arch"
    spec.write_text(BIG)
    n = 8192 * 8192
    header = {"y.linear.weight": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}
    path = tmp_path / "w.safetensors"
    with open(path, "wb") as fh:
        fh.write(gen.safetensors_bytes(header))
        fh.truncate(fh.tell() + 4 * n)  # sparse
    graph = archdsl.load(spec)
    tracemalloc.start()
    try:
        with pytest.raises(DiagnosticError) as exc:
            resolve_weights(graph, path, 0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    d = exc.value.diagnostics[0]
    assert d.code == "B009" and "has shape [67108864], the spec needs [8192, 8192]" in d.message
    assert peak < 16 << 20, f"{peak / 1e6:.0f} MB allocated"


def test_valid_files_load_in_both_backends(tmp_path):
    tensors = {
        "a": np.arange(12, dtype=np.float32).reshape(3, 4),
        "b": np.array([True, False]),
        "c": np.zeros((0, 3), np.float16),
        "d": np.arange(5, dtype=np.int64),
        "e": np.array(7, dtype=np.int64),
        "f": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
    }
    path = tmp_path / "w.safetensors"
    safetensors.save(tensors, path, {"k": "v"})
    got = safetensors.load(path)
    assert set(got) == set(tensors)
    for k, v in tensors.items():
        np.testing.assert_array_equal(got[k], v)
        assert got[k].dtype == v.dtype and got[k].shape == v.shape
    torch = pytest.importorskip("torch")
    from archdsl_backends.torch.weights import read_weights

    t = read_weights(path)
    for k, v in tensors.items():
        np.testing.assert_array_equal(t[k].numpy(), v)
    # BF16 (torch writes it; numpy has no bfloat16: both backends widen it to float32)
    bf = torch.tensor([1.5, -2.25, 3.0], dtype=torch.bfloat16)
    raw = bf.view(torch.int16).numpy().tobytes()
    header = {
        "y": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
        "x": {"dtype": "BF16", "shape": [3], "data_offsets": [4, 10]},
    }
    (tmp_path / "bf.safetensors").write_bytes(gen.safetensors_bytes(header, bytes(4) + raw))
    np.testing.assert_array_equal(safetensors.load(tmp_path / "bf.safetensors")["x"], [1.5, -2.25, 3.0])
    assert read_weights(tmp_path / "bf.safetensors")["x"].dtype == torch.float32


def test_written_safetensors_are_deterministic_and_read_by_the_package(tmp_path):
    """The package writes ``__metadata__`` in hash-map order (another in every process): the
    writer sorts it, so the bytes do not depend on the process."""
    code = (
        "import sys, numpy as np; from archdsl.weights import safetensors_file as s; "
        "sys.stdout.buffer.write(s.dumps({'b': np.ones(3, np.float32), 'a': np.zeros((), np.int64)}, "
        "{f'k{i}': str(i) for i in range(12)}))"
    )
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout for _ in range(3)}
    assert len(outs) == 1
    (data,) = outs
    from safetensors.numpy import load

    assert set(load(data)) == {"a", "b"}
    path = tmp_path / "w.safetensors"
    path.write_bytes(data)
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        meta = f.metadata()
    assert meta == {f"k{i}": str(i) for i in range(12)}
    n = int.from_bytes(data[:8], "little")
    assert data[8 : 8 + n].index(b'"k0"') < data[8 : 8 + n].index(b'"k11"') < data[8 : 8 + n].index(b'"k2"')


# ---- npz -------------------------------------------------------------------------------------------------


def test_npz_bomb_is_refused_without_inflating_it(net, tmp_path):
    """1 GiB of zeros deflated to 1 MB under a tensor's name: B009 at the node, < 64 MB allocated."""
    bomb = tmp_path / "bomb.npz"
    gen.npz_bomb(bomb)
    assert bomb.stat().st_size < 4 << 20
    graph = archdsl.load(net)
    tracemalloc.start()
    try:
        with pytest.raises(DiagnosticError) as exc:
            resolve_weights(graph, bomb, 0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    d = exc.value.diagnostics[0]
    assert d.code == "B009" and "has shape [268435456], the spec needs [4, 3, 3, 3]" in d.message
    assert d.span is not None and d.span.line == 3
    assert peak < 64 << 20, f"{peak / 1e6:.0f} MB allocated"


NPZ_REFUSED = {
    "pickled object array": (gen._pickled, "holds object values"),
    "complex dtype": (gen._complex, "holds complex64 values"),
    "duplicate member": (
        lambda p: gen.write_npz(p, gen.good_tensors(), [gen.member("y.bn.bias.npy", gen.npy(np.zeros(4, np.float32)))]),
        "occurs twice",
    ),
    "not a .npy member": (
        lambda p: gen.write_npz(p, gen.good_tensors(), [gen.member("notes.txt", b"hi")]),
        "is not a .npy array",
    ),
    "declared size lies": (gen._declared_size_lies, "the archive declares 3,221,225,472 bytes"),
    "many members": (gen._many_members, "declares 10,000 members"),
    "npy version": (
        lambda p: gen.write_npz(p, {}, [gen.member("y.bn.bias.npy", b"\x93NUMPY\x09\x00" + bytes(100))]),
        "version 9.0",
    ),
    "structured dtype": (
        lambda p: gen.write_npz(p, {"y.bn.bias": np.zeros(4, dtype=[("a", "<f4")])}),
        "weights must be bool, integer or floating point",
    ),
    "truncated": (gen._truncated, "not a valid zip archive"),
    "corrupt deflate": (gen._corrupt, "cannot read weights file"),
    "not a zip": (lambda p: p.write_bytes(b"PK\x03\x04" + bytes(100)), "not a valid zip archive"),
}


@pytest.mark.parametrize("case", NPZ_REFUSED, ids=list(NPZ_REFUSED))
def test_npz_refusals(case, net, tmp_path):
    fill, words = NPZ_REFUSED[case]
    path = tmp_path / "w.npz"
    fill(path)
    with pytest.raises(DiagnosticError) as exc:
        resolve_weights(archdsl.load(net), path, 0)
    d = exc.value.diagnostics[0]
    assert d.code == "B008" and words in d.message, d.message
    assert d.help  # every refusal says what to pass instead


def test_npz_of_numpy_savez_loads_in_any_order_and_dtype(net, tmp_path):
    want = {k: np.random.default_rng(1).standard_normal(s) for k, s in gen.SHAPES.items()}
    stored = {k: (np.asfortranarray(v) if v.ndim > 1 else v) for k, v in want.items()}  # float64, F order
    stored["y.bn.num_batches_tracked"] = np.array(7, dtype=np.int64)
    path = tmp_path / "w.npz"
    np.savez_compressed(path, **stored)
    got, origin = resolve_weights(archdsl.load(net), path, 0)
    assert origin.startswith("w.npz sha256:")
    assert set(got) == {*gen.SHAPES, "y.bn.num_batches_tracked"}
    assert got["y.bn.num_batches_tracked"].dtype == np.int64 and got["y.bn.num_batches_tracked"] == 7
    for k, v in want.items():
        assert got[k].dtype == np.float32
        np.testing.assert_array_equal(got[k], v.astype(np.float32))
    np.savez(tmp_path / "plain.npz", **want)
    plain, _ = resolve_weights(archdsl.load(net), tmp_path / "plain.npz", 0)
    for k in want:
        np.testing.assert_array_equal(plain[k], got[k])
    assert plain["y.bn.num_batches_tracked"] == 0  # optional: left out, it keeps its initial value


def test_a_weights_file_too_large_for_the_spec_is_refused_unread(net, tmp_path):
    path = tmp_path / "w.safetensors"
    header, data = gen._valid_header()
    with open(path, "wb") as fh:
        fh.write(gen.safetensors_bytes(header, data))
        fh.truncate(100 << 30)  # sparse
    with pytest.raises(DiagnosticError) as exc:
        resolve_weights(archdsl.load(net), path, 0)
    d = exc.value.diagnostics[0]
    assert d.code == "B008" and "above the limit" in d.message and "8 bytes a value" in d.help


# ---- special files, both backends ----------------------------------------------------------------------------


def _special(kind: str, tmp_path: Path, suffix: str) -> Path:
    path = tmp_path / f"w{suffix}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev_zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    return path


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "directory"])
def test_special_weights_files_onnx(kind, net, tmp_path):
    path = _special(kind, tmp_path, ".safetensors")
    with pytest.raises(DiagnosticError) as exc:
        resolve_weights(archdsl.load(net), path, 0)
    d = exc.value.diagnostics[0]
    words = {"fifo": "named pipe", "dev_zero": "character device", "directory": "is a directory"}[kind]
    assert d.code == "B008" and words in d.message and d.help


@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
def test_special_weights_files_torch_cli(kind, net, tmp_path):
    """The torch backend read the file whole: a FIFO hung it, /dev/zero ran it out of memory."""
    pytest.importorskip("torch")
    path = _special(kind, tmp_path, ".safetensors")
    res = run_cli("compile", str(net), "-o", str(tmp_path / "out"), "--weights", str(path), timeout=90)
    assert res.returncode == 1, res.stderr
    assert "error[B008]" in res.stderr and "not a regular file" in res.stderr
    assert "Traceback" not in res.stderr


# ---- torch.save archives ------------------------------------------------------------------------------------


def _torch_file(tmp_path: Path, compress: bool) -> Path:
    torch = pytest.importorskip("torch")
    path = tmp_path / "w.pt"
    torch.save({k: torch.zeros(s) for k, s in gen.SHAPES.items()}, path)
    if compress:
        src = zipfile.ZipFile(path)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                dst.writestr(info.filename, src.read(info))
        path.write_bytes(out.getvalue())
    return path


def test_torch_archive_with_compressed_members_is_refused(tmp_path):
    pytest.importorskip("torch")
    from archdsl_backends.torch.weights import read_weights

    assert set(read_weights(_torch_file(tmp_path, compress=False))) == set(gen.SHAPES)
    with pytest.raises(WeightsError, match="compressed or encrypted"):
        read_weights(_torch_file(tmp_path, compress=True))


def test_torch_files_that_are_not_archives_are_refused(tmp_path):
    torch = pytest.importorskip("torch")
    from archdsl_backends.torch.weights import read_weights

    legacy = tmp_path / "legacy.pt"
    torch.save({"a": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(WeightsError, match="not a zip archive"):
        read_weights(legacy)


def test_onnx_backend_reads_torch_files_through_the_torch_reader(net, tmp_path):
    pytest.importorskip("torch")
    graph = archdsl.load(net)
    got, _ = resolve_weights(graph, _torch_file(tmp_path, compress=False), 0)
    assert set(got) == {*gen.SHAPES, "y.bn.num_batches_tracked"}
    with pytest.raises(DiagnosticError) as exc:
        resolve_weights(graph, _torch_file(tmp_path, compress=True), 0)
    assert exc.value.diagnostics[0].code == "B008" and "compressed" in exc.value.diagnostics[0].message


# ---- ONNX artefacts: streamed, external data, atomic ---------------------------------------------------------

EXT_SPEC = """net e {
    input x [3, 16, 16]
    y = conv(16, k = 3) -> bn -> relu -> conv(32, k = 3, s = 2) -> relu -> gap -> flatten -> linear(64)
}
"""


@pytest.fixture
def ext_net(tmp_path):
    spec = tmp_path / "e.arch"
    spec.write_text(EXT_SPEC)
    return archdsl.load(spec)


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def test_streamed_model_is_the_protobuf_serialisation(ext_net, tmp_path):
    (path,) = save_model(ext_net, tmp_path / "m.onnx")
    assert path.read_bytes() == onnx_backend.serialize(onnx_backend.build_model(ext_net))
    graph = archdsl.load(ROOT / "specs/attendnext.arch", width=0.25)
    (path,) = save_model(graph, tmp_path / "a.onnx")
    assert path.read_bytes() == onnx_backend.serialize(onnx_backend.build_model(graph))


def test_external_data_loads_and_matches_the_embedded_model(ext_net, tmp_path):
    (embedded,) = save_model(ext_net, tmp_path / "in.onnx")
    paths = save_model(ext_net, tmp_path / "ext.onnx", {"external_data": True})
    assert paths == [tmp_path / "ext.onnx", tmp_path / "ext.onnx.data"]
    onnx.checker.check_model(str(paths[0]), full_check=True)
    model = onnx.load(str(paths[0]), load_external_data=False)
    external = [t for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    inline = [t for t in model.graph.initializer if t.data_location != onnx.TensorProto.EXTERNAL]
    assert external and inline  # small constants stay in the model
    for t in external:
        info = {e.key: e.value for e in t.external_data}
        assert info["location"] == "ext.onnx.data" and int(info["offset"]) % artefacts.ALIGN == 0
    assert paths[0].stat().st_size < 10_000
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16), dtype=np.float32)
    np.testing.assert_array_equal(_run(paths[0], x), _run(embedded, x))
    # deterministic: the same bytes again
    again = save_model(ext_net, tmp_path / "again" / "ext.onnx", {"external_data": True})
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]
    # onnx's own loader puts the data back: the same model as the embedded one
    full = onnx.load(str(paths[0]))
    want = onnx.load(str(embedded))
    got = {t.name: onnx.numpy_helper.to_array(t) for t in full.graph.initializer}
    for t in want.graph.initializer:
        np.testing.assert_array_equal(got[t.name], onnx.numpy_helper.to_array(t))


def test_external_data_above_the_threshold(ext_net, tmp_path, monkeypatch):
    monkeypatch.setattr(artefacts, "EXTERNAL_BYTES", 10_000)
    paths = save_model(ext_net, tmp_path / "m.onnx")
    assert [p.name for p in paths] == ["m.onnx", "m.onnx.data"]
    assert [p.name for p in save_model(ext_net, tmp_path / "n.onnx", {"external_data": False})] == ["n.onnx"]
    monkeypatch.setattr(artefacts, "EXTERNAL_BYTES", 10**9)
    assert [p.name for p in save_model(ext_net, tmp_path / "o.onnx")] == ["o.onnx"]


def test_embedded_model_too_large_is_refused_before_any_weight_exists(tmp_path, monkeypatch):
    spec = tmp_path / "huge.arch"
    spec.write_text("net huge {\n    input x [24000, 1, 1]\n    y = flatten -> linear(24000, bias = false)\n}\n")
    graph = archdsl.load(spec)  # 576M parameters, 2.3 GB

    def boom(*args):
        raise AssertionError("weights were made")

    monkeypatch.setattr(onnx_backend, "resolve_weights", boom)
    for call in (
        lambda: save_model(graph, tmp_path / "h.onnx", {"external_data": False}),
        lambda: onnx_backend.build_model(graph),
        lambda: onnx_backend.BACKEND.compile(
            graph, archdsl.backend.CompileRequest(output=tmp_path / "h.onnx", options={"external_data": False})
        ),
    ):
        with pytest.raises(DiagnosticError) as exc:
            call()
        d = exc.value.diagnostics[0]
        assert d.code == "B201" and "2.30 GB of weights" in d.message and "external data" in d.help


class _FailingFile:
    """A file object that fails after ``limit`` bytes, as a full disk or an interrupt would."""

    def __init__(self, fh, limit: int):
        self.fh, self.left = fh, limit

    def write(self, data) -> int:
        n = memoryview(data).nbytes
        if n > self.left:
            self.fh.write(bytes(memoryview(data).cast("B")[: self.left]))
            raise OSError(28, "No space left on device")
        self.left -= n
        return self.fh.write(data)


def _failing(module, monkeypatch, limit: int) -> None:
    real = fileio.atomic_write

    def atomic_write(path, data):
        if callable(data):
            return real(path, lambda fh: data(_FailingFile(fh, limit)))
        return real(path, data)

    monkeypatch.setattr(module, "atomic_write", atomic_write)


@pytest.mark.parametrize("external", [False, True])
def test_a_failed_onnx_write_leaves_the_old_files(external, ext_net, tmp_path, monkeypatch):
    paths = save_model(ext_net, tmp_path / "m.onnx", {"external_data": external})
    before = {p: p.read_bytes() for p in paths}
    _failing(artefacts, monkeypatch, 20_000)
    with pytest.raises(OSError, match="No space"):
        save_model(ext_net, tmp_path / "m.onnx", {"external_data": external, "seed": 5})
    assert {p: p.read_bytes() for p in paths} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["e.arch", *(p.name for p in paths)])


def test_a_failed_safetensors_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    safetensors.save(gen.good_tensors(), path)
    before = path.read_bytes()
    _failing(safetensors, monkeypatch, 100)
    with pytest.raises(OSError, match="No space"):
        safetensors.save({k: v * 2 for k, v in gen.good_tensors().items()}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]


def test_artefacts_never_replace_an_input(ext_net, tmp_path):
    spec = tmp_path / "e.arch"
    fileio.note_input(spec)  # as the command line does for the spec it reads
    before = spec.read_bytes()
    with pytest.raises(fileio.OutputError, match="it is the input"):
        save_model(ext_net, spec)
    data = tmp_path / "m.onnx.data"
    data.write_bytes(b"precious")
    fileio.note_input(data)
    with pytest.raises(fileio.OutputError, match="it is the input"):
        save_model(ext_net, tmp_path / "m.onnx", {"external_data": True})
    assert spec.read_bytes() == before and data.read_bytes() == b"precious"
    assert not (tmp_path / "m.onnx").exists()
    # the command line: -e safetensors would write the weights file it reads
    weights = tmp_path / "w.safetensors"
    (tmp_path / "w.arch").write_text(gen.SPEC)
    safetensors.save(gen.good_tensors(), weights)
    kept = weights.read_bytes()
    res = run_cli(
        "compile",
        str(tmp_path / "w.arch"),
        "-b",
        "onnx",
        "-o",
        str(tmp_path / "w.onnx"),
        "-e",
        "safetensors",
        "--weights",
        str(weights),
    )
    assert res.returncode == 2 and "refusing to write" in res.stderr, res.stderr
    assert weights.read_bytes() == kept


# ---- memory ----------------------------------------------------------------------------------------------------


LAUNCHER = """
import os, subprocess, sys
with open(sys.argv[1], "wb") as err:
    proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def _peak_mb(args: list[str], cwd: Path) -> tuple[int, float, str]:
    """Exit code, peak RSS (MiB) and stderr of an archdsl command.

    The command is started by a small launcher process: a child's ``ru_maxrss`` counts the pages it
    shared with its parent when it was forked, so a child of this (large) test process would report
    this process's size, not its own."""
    err = cwd / ".stderr"
    out = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(err), sys.executable, "-m", "archdsl", *args],
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    code, kb = out.stdout.split()
    return int(code), int(kb) / 1024, err.read_text()


def test_peak_memory_stays_near_the_model_size(tmp_path):
    """A 268 MB model (one 8192×8192 linear) compiles in well under twice its size (was ~9×)."""
    spec = tmp_path / "big.arch"
    spec.write_text("net big {\n    input x [8192, 1, 1]\n    y = flatten -> linear(8192, bias = false)\n}\n")
    code, peak, err = _peak_mb(["compile", str(spec), "-b", "onnx", "-o", str(tmp_path / "big.onnx")], tmp_path)
    assert code == 0, err
    size = (tmp_path / "big.onnx").stat().st_size / 2**20
    assert size > 255
    assert peak < 1.5 * size + 250, f"peak {peak:.0f} MB for a {size:.0f} MB model"


def _available_gb() -> float:
    with open("/proc/meminfo") as fh:
        info = dict(line.split(":", 1) for line in fh)
    return int(info["MemAvailable"].split()[0]) / 2**20


@pytest.mark.slow
def test_a_model_over_2gb_uses_external_data(tmp_path):
    """2.5 GB of weights (three 14500×14500 linears): external data, loadable, in ~1× its memory."""
    if not sys.platform.startswith("linux") or _available_gb() < 10:
        pytest.skip("needs Linux and 10 GB of free memory")
    spec = tmp_path / "big.arch"
    spec.write_text(
        "net big {\n    input x [14500, 1, 1]\n    y = flatten -> linear(14500, bias = false) -> "
        "linear(14500, bias = false) -> linear(14500, bias = false)\n}\n"
    )
    code, peak, err = _peak_mb(["compile", str(spec), "-b", "onnx", "-o", str(tmp_path / "big.onnx")], tmp_path)
    assert code == 0, err
    data = tmp_path / "big.onnx.data"
    assert data.stat().st_size > 2**31 and (tmp_path / "big.onnx").stat().st_size < 10_000
    assert peak < 1.3 * data.stat().st_size / 2**20 + 250
    onnx.checker.check_model(str(tmp_path / "big.onnx"), full_check=True)
    model = onnx.load(str(tmp_path / "big.onnx"), load_external_data=False)
    x = np.random.default_rng(0).standard_normal((1, 14500, 1, 1), dtype=np.float32)
    got = _run(tmp_path / "big.onnx", x)
    raw = np.memmap(data, dtype=np.float32, mode="r")
    want = x.reshape(1, -1)
    for t in model.graph.initializer:
        info = {e.key: int(e.value) for e in t.external_data if e.key != "location"}
        w = raw[info["offset"] // 4 : (info["offset"] + info["length"]) // 4].reshape(tuple(t.dims))
        want = want @ np.asarray(w).T
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)

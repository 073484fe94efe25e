"""What an outside user meets with hostile or mistaken command lines: clear errors, no tracebacks."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli

SPEC = "specs/attendnext.arch"


def _clean(res):
    assert "Traceback" not in res.stderr + res.stdout
    assert "internal error" not in res.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["compile", SPEC, "-o", "/proc/archdsl-nope/x.py", "--emit", "python"], 3),
        (["compile", SPEC, "--backend", "onnx", "-o", "/proc/archdsl-nope/x.onnx"], 3),
        (["render", SPEC, "-o", "/proc/archdsl-nope/x.dot"], 3),
        (["compile", SPEC, "--backend", "onnx", "-o", "x.onnx", "--opset", "99"], 2),  # B005: a bad option value
        (["compile", SPEC, "--backend", "onnx", "-o", "x.onnx", "-O", "nosuchoption=1"], 2),  # B004
        (["compile", SPEC, "--backend", "nosuchbackend"], 2),  # B002
        (["render", SPEC, "-o", "out.nosuchformat"], 2),
        (["bench", SPEC, "--target", "nosuchtarget"], 3),
        (["show", SPEC, "--depth", "0"], 2),
    ],
)
def test_bad_command_lines_fail_cleanly(args, code, tmp_path):
    res = run_cli(*args, cwd=None)
    _clean(res)
    assert res.returncode == code, res.stderr


@pytest.mark.parametrize(
    "content", [b"root:x:0:0:root:/root:/bin/bash\n", b"\x10" + b"\x00" * 7 + b"[1,2,3,4,5,6,7,8]"]
)
@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_garbage_weights_files_are_diagnosed(content, suffix, tmp_path):
    pytest.importorskip("torch")
    weights = tmp_path / f"w{suffix}"
    weights.write_bytes(content)
    for backend in ("torch", "onnx"):
        res = run_cli("compile", SPEC, "--backend", backend, "-o", str(tmp_path / "out"), "--weights", str(weights))
        _clean(res)
        assert res.returncode == 1, res.stderr  # a bad input file is the input's fault: exit 1
        assert "error[B008]" in res.stderr  # the same code from both backends: a file that cannot be read

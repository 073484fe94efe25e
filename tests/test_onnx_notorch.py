"""The ONNX path works where torch cannot be imported (a subprocess whose import of torch fails)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

import archdsl
from archdsl.weights import safetensors_file as safetensors
from tests import test_onnx_reference as ref
from tests.conftest import ROOT

BLOCK_TORCH = """
import sys

class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"import of {name} blocked by the test", name=name)
        return None

sys.meta_path.insert(0, _NoTorch())
"""

SCRIPT = """
import json, sys
from archdsl.cli import app
results = []
for args in json.loads(sys.argv[1]):
    try:
        results.append(app(args, standalone_mode=False) or 0)  # click returns Exit's code here
    except SystemExit as exc:
        results.append(exc.code)
import onnxruntime  # noqa: F401  (the runtime too must not pull torch in)
print(json.dumps({"codes": results, "torch_loaded": any(m == "torch" or m.startswith("torch.") for m in sys.modules)}))
"""


def run_without_torch(*commands: list[str]):
    code = BLOCK_TORCH + SCRIPT
    r = subprocess.run(
        [sys.executable, "-c", code, json.dumps(list(commands))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1]), r.stderr


def test_onnx_compiles_without_torch(tmp_path):
    spec = ROOT / "specs" / "baselines" / "mobilevit_xs.arch"
    graph = archdsl.load(spec, input_shape=(3, 64, 64))
    weights = ref.random_weights(graph, seed=2)
    safetensors.save(weights, tmp_path / "w.safetensors")
    (tmp_path / "w.pt").write_bytes(b"not really a torch file")
    common = [str(spec), "-b", "onnx", "--input-size", "64"]
    result, stderr = run_without_torch(
        ["compile", *common, "-o", str(tmp_path / "seeded.onnx")],
        ["compile", *common, "-o", str(tmp_path / "loaded.onnx"), "--weights", str(tmp_path / "w.safetensors")],
        ["compile", *common, "-o", str(tmp_path / "pt.onnx"), "--weights", str(tmp_path / "w.pt")],
    )
    assert result == {"codes": [0, 0, 3], "torch_loaded": False}, stderr  # B003: a missing dependency, exit 3
    assert "error[B003]: reading the PyTorch file" in stderr and "safetensors" in stderr
    assert not (tmp_path / "pt.onnx").exists()

    import onnxruntime as ort

    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    sess = ort.InferenceSession((tmp_path / "loaded.onnx").read_bytes(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"image": x})[0], ref.run(graph, weights, x), atol=1e-4)
    assert (tmp_path / "seeded.onnx").stat().st_size > 0

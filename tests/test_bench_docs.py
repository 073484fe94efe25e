"""docs/bench.md's worked third-party target runs as written, through the same session as the CLI."""

from __future__ import annotations

import re
import shutil
import types

import pytest

import archdsl
from archdsl.bench.session import run_bench
from archdsl.bench.target import BenchSettings, Target, TargetError
from tests.conftest import ROOT

DOC = ROOT / "docs" / "bench.md"

pytest.importorskip("onnxruntime")


def _example_module() -> types.ModuleType:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    (code,) = [b for b in blocks if "class BigCoreTarget" in b]
    module = types.ModuleType("bigcore_example")
    exec(compile(code, str(DOC), "exec"), module.__dict__)
    return module


@pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset (util-linux) not installed")
def test_worked_example_target(tmp_path):
    target = _example_module().BigCoreTarget({"cores": "0"})
    assert isinstance(target, Target)
    spec = ROOT / "specs" / "baselines" / "mobilenetv3_large_100.arch"
    graph = archdsl.load(spec, input_shape=(3, 32, 32))
    _, (res,) = run_bench([(spec, graph)], target, BenchSettings(warmup=1, runs=3), workdir=tmp_path)
    assert res.summary.runs == 3 and res.summary.median_s > 0
    assert res.measurement.env["device"] == "host cores 0"
    with pytest.raises(TargetError, match="has no option"):
        _example_module().BigCoreTarget({"core": "0"})

"""docs/downstream.md: its FPN example runs as written (features into a small FPN in plain PyTorch),
and its console output of `archdsl show --features` is what the command prints."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, run_cli

DOC = ROOT / "docs" / "downstream.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_fpn_example_runs():
    pytest.importorskip("torch")
    (fpn,) = [b for b in _blocks("python") if "class FPN" in b]
    env_code = "import torch; torch.set_num_threads(1)\n" + fpn
    res = subprocess.run([sys.executable, "-c", env_code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        "[128, 256, 512] [8, 16, 32]",
        "[(1, 64, 28, 28), (1, 64, 14, 14), (1, 64, 7, 7)]",
    ]


def test_the_show_features_output_is_current():
    (block,) = [b for b in _blocks("console") if "--features" in b]
    lines = block.strip().splitlines()
    cmd = lines[0].removeprefix("$ ").split()[1:]
    res = run_cli(*cmd)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines() == lines[1:]

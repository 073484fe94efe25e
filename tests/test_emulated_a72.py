"""Every spec under specs/ on onnxruntime's aarch64 kernels (QEMU, -cpu cortex-a72), fp32 and int8.

Needs the emulator (``archdsl bench setup-emulator``, which ``.ci/run`` runs): without it these
tests skip with the reason, except under CI (``CI=true``), where a missing emulator fails them.
Each spec runs once per precision (one inference, input 64×64, the smallest every spec accepts:
MobileViT's unfold needs 64), the two precisions in two processes side by side. Tolerances,
against this machine's onnxruntime on the same input (measured, see docs/deploy.md):

- fp32: max |difference| ≤ :data:`FP32_TOL` × max |output|: the same graph, other SIMD kernels
  (NEON against AVX2/AVX-512) sum in another order. Relative, because the seeded weights give
  outputs from ~1e-14 (AttendNeXt: its signal vanishes) to ~1e7 (MobileOne-S1: it explodes);
  measured at most 9.3e-7 of max |output|, so 1e-5 leaves room for other hosts' kernels without
  hiding a wrong result (a wrong kernel is off by the output's own size);
- int8: ≤ :data:`INT8_TOL` × max |output|. The two builds' int8 kernels differ: x86-64 runs
  int8 × int8 products through u8·s8 instructions (VPMADDUBSW, whose int16 pair sums saturate
  on CPUs without VNNI), aarch64 through SMLAL without saturation, and each requantises between
  layers, so differences grow with depth. Measured here (AMD EPYC host): 2.4% (ResNet-18) to 42%
  (MobileNetV3-L, untrained weights, tiny outputs) of max |output|; the bound catches a model that
  does not run or computes something else (a wrong kernel or layout is off by the output's own
  size), not the int8 rounding of either build.

``ARCHDSL_EMULATED_SPECS=ofa_62,resnet18`` limits the run to those spec stems (for development).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archdsl.bench import emulator
from tests.conftest import ROOT, run_cli
from tests.test_ssh_target import sshd  # noqa: F401  (the module-scoped local sshd fixture)

SPECS = [*sorted((ROOT / "specs").glob("*.arch")), *sorted((ROOT / "specs/baselines").glob("*.arch"))]
SPECS += sorted((ROOT / "specs/variants").glob("*.arch"))  # specs/spaces/ holds search spaces, not nets
if os.environ.get("ARCHDSL_EMULATED_SPECS"):
    SPECS = [s for s in SPECS if s.stem in os.environ["ARCHDSL_EMULATED_SPECS"].split(",")]
FP32_TOL = 1e-5
INT8_TOL = 0.6
CI = os.environ.get("CI") == "true"


def _ready() -> str | None:
    try:
        emulator.require_tools()
        emulator.load()
    except emulator.EmulatorError as exc:
        return f"{exc.message} ({exc.hint})"
    return None


PROBLEM = _ready()
if PROBLEM and not CI:
    pytest.skip(f"the emulated Cortex-A72 is not available: {PROBLEM}", allow_module_level=True)


def _bench(*extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "archdsl", "bench", *map(str, SPECS), "--target", "emulated-a72"]
    argv += ["--warmup", "0", "--runs", "1", "--input-size", "64", "--format", "json", "--no-store", "-q", *extra]
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def results():
    assert PROBLEM is None, f"CI=true but the emulator is not set up: {PROBLEM}"
    procs = {"fp32": _bench(), "int8": _bench("--quantize", "int8")}
    out = {}
    for key, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=1500)
        assert proc.returncode == 0, stderr
        out[key] = {r["net"]: r for r in json.loads(stdout)["results"]}
    summary = {k: {n: r["details"]["max_abs_diff"] for n, r in v.items()} for k, v in out.items()}
    sys.stderr.write(f"emulated-a72 max |diff| vs host: {json.dumps(summary)}\n")
    return out


def _net(spec: Path) -> str:
    import archdsl

    return archdsl.load(spec, input_shape=(3, 64, 64)).name


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_spec_matches_host_onnxruntime(results, spec, precision):
    r = results[precision][_net(spec)]
    env, details = r["env"], r["details"]
    assert env["machine"] == "aarch64" and env["cpu_cpu_part"] == "0xd08"  # the A72 cpuinfo, aarch64 Python
    assert env["loaded"] is True and env["providers"] == ["CPUExecutionProvider"]
    assert env["timing"] == "emulation" and "not a latency" in env["timing_label"]
    assert details["kernels"] and all(k.endswith("/CPUExecutionProvider") for k in details["kernels"])
    if precision == "int8":
        assert any(k.startswith(("QLinearConv/", "QuantizeLinear/")) for k in details["kernels"]), details["kernels"]
    diff, scale = details["max_abs_diff"], details["max_abs_output"]
    tol = (FP32_TOL if precision == "fp32" else INT8_TOL) * scale
    assert diff <= tol, f"{spec.stem} {precision}: max |diff| {diff:.3g} > {tol:.3g} (max |y| {scale:.3g})"


def test_ssh_target_end_to_end_with_the_emulated_python(sshd):  # noqa: F811
    """The ssh target against a local sshd whose remote Python is the emulated aarch64 one."""
    import tests.test_ssh_target as ssh_tests

    if ssh_tests.SSHD is None or not all(ssh_tests.TOOLS.values()):
        pytest.skip("OpenSSH server/client not installed (apt-get install openssh-server openssh-client)")
    wrapper = emulator.default_dir() / emulator.WRAPPER
    opts = sshd.options(remote_python=wrapper, run_timeout=600)
    argv = ["bench", str(ROOT / "specs/baselines/mobilenetv3_large_100.arch"), "--target", "ssh", *opts]
    argv += ["--warmup", "0", "--runs", "1", "--threads", "1", "--input-size", "64", "--format", "json"]
    proc = run_cli(*argv, "--no-store", "-q", timeout=600)
    assert proc.returncode == 0, proc.stderr
    env = json.loads(proc.stdout)["results"][0]["env"]
    assert env["machine"] == "aarch64" and env["cpu_cpu_part"] == "0xd08" and env["device"].startswith("ssh:")
    assert env["onnxruntime"] == "1.32.0"

"""The emulator's set-up and the emulated-a72 target, without the emulator: commands, pins, refusals.

Nothing here runs QEMU or downloads anything; tests/test_emulated_a72.py runs the real thing.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from archdsl.bench import emulator
from archdsl.bench.emulator import EmulatorError
from tests.conftest import ROOT, run_cli

SPEC = ROOT / "specs" / "baselines" / "mobilenetv3_large_100.arch"


def test_command_runs_python_of_the_sysroot_as_a_cortex_a72(tmp_path):
    sysroot = tmp_path / "sysroot"
    tools = {emulator.QEMU: "/usr/bin/qemu-aarch64-static", "unshare": "/usr/bin/unshare"}
    argv = emulator.emulate_argv(sysroot, ["runner.py", "m.onnx"], tools)
    assert argv[:2] == ["/usr/bin/unshare", "--mount"]
    i = argv.index("/usr/bin/qemu-aarch64-static")
    assert argv[i : i + 5] == ["/usr/bin/qemu-aarch64-static", "-cpu", "cortex-a72", "-L", str(sysroot)]
    assert argv[i + 5 :] == [str(sysroot / "usr/bin/python3.11"), "-s", "-E", "runner.py", "m.onnx"]
    script = argv[argv.index("-c") + 1]
    assert "mount --bind" in script and "/proc/cpuinfo" in script and 'exec "$@"' in script
    assert str(tmp_path / "cpuinfo") in argv  # the A72 cpuinfo of the emulator folder is what gets mounted


def test_a_normal_user_gets_a_user_namespace_to_mount_in():
    assert emulator.unshare_argv("unshare", root=True) == ["unshare", "--mount"]
    assert emulator.unshare_argv("unshare", root=False) == ["unshare", "--mount", "--map-root-user"]


def test_cpuinfo_is_four_cortex_a72_cores_without_dotprod():
    blocks = [b for b in emulator.CPUINFO.strip().split("\n\n")]
    assert len(blocks) == 4
    for i, block in enumerate(blocks):
        fields = dict((k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in block.splitlines()))
        assert fields["processor"] == str(i)
        assert fields["CPU implementer"] == "0x41" and fields["CPU part"] == "0xd08"  # ARM, Cortex-A72
        assert fields["CPU architecture"] == "8"
        assert "asimd" in fields["Features"].split() and "asimddp" not in fields["Features"].split()


def test_pins_are_complete_and_match_constraints():
    names = {p.name for p in emulator.DEBS}
    assert {"python3.11-minimal", "libpython3.11-stdlib", "libc6", "libstdc++6", "libgcc-s1"} <= names
    constraints = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    for pin in emulator.WHEELS:
        assert pin.version == constraints[pin.name], f"{pin.name} is pinned apart from constraints.txt"
        assert pin.file.startswith(f"{pin.name}-{pin.version}-cp311") and "aarch64" in pin.file
    for pin in (*emulator.DEBS, *emulator.WHEELS):
        assert len(pin.sha256) == 64 and int(pin.sha256, 16) >= 0
    assert len(emulator.pins_key()) == 16


def test_checksum_verification(tmp_path):
    f = tmp_path / "x.deb"
    f.write_bytes(b"payload")
    good = emulator.Pin("x", "1", "x.deb", emulator.sha256_file(f))
    emulator.check_checksum(f, good)
    f.write_bytes(b"payload, replaced by a mirror")
    with pytest.raises(EmulatorError) as exc:
        emulator.check_checksum(f, good)
    assert exc.value.code == "B413" and good.sha256 in exc.value.message


def test_cache_folders_are_created_private(tmp_path):
    d = emulator.safe_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o700


def test_cache_writable_by_others_is_refused(tmp_path):
    d = tmp_path / "cache"
    d.mkdir()
    d.chmod(0o777)
    with pytest.raises(EmulatorError) as exc:
        emulator.safe_dir(d)
    assert exc.value.code == "B411" and "writable by others" in exc.value.message


def test_cache_symlink_is_refused(tmp_path):
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(EmulatorError) as exc:
        emulator.safe_dir(tmp_path / "link")
    assert exc.value.code == "B411"


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_cache_of_another_user_is_refused(tmp_path):
    d = tmp_path / "theirs"
    d.mkdir(mode=0o700)
    os.chown(d, 65534, 65534)
    with pytest.raises(EmulatorError) as exc:
        emulator.safe_dir(d)
    assert exc.value.code == "B411" and "belongs to user id 65534" in exc.value.message


def _fake_root(tmp_path: Path, key: str | None = None) -> Path:
    root = tmp_path / "emu"
    (root / "sysroot/usr/bin").mkdir(parents=True)
    root.chmod(0o700)
    (root / "sysroot" / emulator.PYTHON).write_text("")
    (root / "cpuinfo").write_text(emulator.CPUINFO)
    manifest = {"format": emulator.FORMAT, "key": key or emulator.pins_key()}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_load_checks_the_manifest(tmp_path):
    root = _fake_root(tmp_path)
    assert emulator.load(root) == root / "sysroot"
    (root / "manifest.json").write_text(json.dumps({"format": emulator.FORMAT, "key": "0" * 16}))
    with pytest.raises(EmulatorError) as exc:
        emulator.load(root)
    assert exc.value.code == "B414" and "other pins" in exc.value.message


def test_verify_finds_a_tampered_download(tmp_path, monkeypatch):
    root = _fake_root(tmp_path)
    (root / "downloads").mkdir()
    pins = (emulator.Pin("a", "1", "a.deb", ""),)
    (root / "downloads/a.deb").write_bytes(b"a")
    pins = (emulator.Pin("a", "1", "a.deb", emulator.sha256_file(root / "downloads/a.deb")),)
    monkeypatch.setattr(emulator, "DEBS", pins)
    monkeypatch.setattr(emulator, "WHEELS", ())
    monkeypatch.setattr(emulator, "pins_key", lambda: "k" * 16)
    (root / "manifest.json").write_text(json.dumps({"format": emulator.FORMAT, "key": "k" * 16}))
    assert emulator.verify(root) == ["a.deb"]
    (root / "downloads/a.deb").write_bytes(b"b")
    with pytest.raises(EmulatorError) as exc:
        emulator.verify(root)
    assert exc.value.code == "B413"


def test_wheel_members_outside_the_folder_are_refused(tmp_path):
    wheel = tmp_path / "evil.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("../../outside.py", "x = 1\n")
    site = tmp_path / "site"
    site.mkdir()
    with pytest.raises(EmulatorError):
        emulator._unzip(wheel, site)
    assert not (tmp_path / "outside.py").exists()


def _empty_path(tmp_path: Path, *keep: str) -> dict:
    """An environment whose PATH holds only ``keep`` (links to the real programs)."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for prog in ("sh", "python3", *keep):
        real = shutil.which(prog)
        if real:
            (bin_ / prog).symlink_to(real)
    return {"PATH": str(bin_), "XDG_CACHE_HOME": str(tmp_path / "cache")}


def test_setup_without_qemu_names_the_install_command(tmp_path):
    proc = run_cli("bench", "setup-emulator", env=_empty_path(tmp_path, "unshare", "apt-get", "dpkg-deb"))
    assert proc.returncode == 3, proc.stderr
    assert "error[B410]" in proc.stderr and "qemu-aarch64-static" in proc.stderr
    assert "= help: apt-get install qemu-user-static" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "cache" / "archdsl").exists()  # nothing created before the tools are there


def test_setup_without_apt_names_the_install_command(tmp_path):
    proc = run_cli("bench", "setup-emulator", env=_empty_path(tmp_path, "unshare", "qemu-aarch64-static"))
    assert proc.returncode == 3, proc.stderr
    assert "error[B410]" in proc.stderr and "'apt-get' is not installed" in proc.stderr
    assert "apt-get install apt dpkg" in proc.stderr


def test_target_without_unshare_names_the_install_command(tmp_path):
    env = _empty_path(tmp_path, "qemu-aarch64-static")
    proc = run_cli("bench", str(SPEC), "--target", "emulated-a72", "--no-store", env=env)
    assert proc.returncode == 3, proc.stderr
    assert "error[B410]" in proc.stderr and "'unshare' is not installed" in proc.stderr


@pytest.mark.skipif(shutil.which("qemu-aarch64-static") is None, reason="qemu-user-static not installed")
def test_target_without_sysroot_says_how_to_set_it_up(tmp_path):
    proc = run_cli("bench", str(SPEC), "--target", "emulated-a72", "-O", f"dir={tmp_path / 'none'}", "--no-store")
    assert proc.returncode == 3, proc.stderr
    assert "error[B414]" in proc.stderr and "archdsl bench setup-emulator" in proc.stderr


def test_target_options_are_checked():
    proc = run_cli("bench", str(SPEC), "--target", "emulated-a72", "-O", "runtimeout=5", "--no-store")
    assert proc.returncode == 2 and "run_timeout" in proc.stderr  # did-you-mean


def test_table_labels_emulation_time_never_a_latency():
    from archdsl.cli.bench import format_results

    summary = SimpleNamespace(median_s=1.5, p90_s=1.5, p99_s=1.5, std_s=0.0, throughput=0.67, runs=1)
    meas = SimpleNamespace(
        estimate=False, env={"device": "emulated-a72", "cpu": "aarch64"}, details={"max_abs_diff": 3e-9}
    )
    graph = SimpleNamespace(total_params=1000, total_macs=10**6)
    result = SimpleNamespace(net="n", graph=graph, summary=summary, measurement=meas, relative=None)
    target = SimpleNamespace(name="emulated-a72", estimate=False, emulated=True, summary="s")
    text = format_results([result], target, None, "threads 1")
    assert "median emul. ms" in text and "median ms" not in text and "emul. img/s" in text
    assert "EMULATION TIME" in text and "not a latency" in text and "3.00e-09" in text
    assert "emulated on" in text and "measured on" not in text


def test_report_titles_say_emulation_time(tmp_path):
    pytest.importorskip("matplotlib")
    from archdsl.bench.report import ReportData, draw

    row = {
        "net": "n", "row_id": 1, "spec_hash": "h", "spec": "n.arch", "estimate": False, "median_ms": 1500.0,
        "throughput": 0.67, "relative_throughput": None, "params": 1000, "macs": 10**6, "imagenet_top1": 70.0,
        "created_at": "now",
    }  # fmt: skip
    data = ReportData("s", "emulated-a72", False, 1, None, [row], emulation=True)
    draw(data, tmp_path, ("svg",))
    text = (tmp_path / "accuracy_latency.svg").read_text()
    assert "emulation time" in text and "not a latency" in text and "median latency" not in text
    assert "EMULATION TIME" in (tmp_path / "fig3a_throughput.svg").read_text()
    assert data.as_dict()["timing"] == "emulation"

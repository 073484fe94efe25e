"""The ``ssh`` target end to end against a real OpenSSH server on 127.0.0.1.

The fixture starts ``sshd`` on a free loopback port with a generated host key and a generated
user key (authorised for the current user through a temporary ``AuthorizedKeysFile``), and kills
it at teardown. The "device" is this machine; its Python is this virtual environment's. Every
call is bounded in time. Skipped with a reason when sshd/ssh/scp/ssh-keygen are missing or
sshd cannot run here (it needs root for privilege separation).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
TOOLS = {name: shutil.which(name) for name in ("ssh", "scp", "ssh-keygen")}
SPEC = ROOT / "specs" / "baselines" / "mobilenetv3_large_100.arch"
SMALL = ["--input-size", "32", "--runs", "3", "--warmup", "1", "--threads", "1"]

pytestmark = pytest.mark.skipif(
    SSHD is None or not all(TOOLS.values()),
    reason="OpenSSH server/client not installed (apt-get install openssh-server openssh-client)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> str:
    subprocess.run([TOOLS["ssh-keygen"], "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30)
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


class Server:
    def __init__(self, root: Path, port: int, proc: subprocess.Popen, host_pub: str):
        self.root = root
        self.port = port
        self.proc = proc
        self.host_pub = host_pub
        self.known_hosts = root / "known_hosts"
        self.identity = root / "userkey"
        self.user = os.environ.get("USER") or __import__("getpass").getuser()

    def options(self, **extra) -> list[str]:
        opts = {
            "host": f"{self.user}@127.0.0.1",
            "port": self.port,
            "known_hosts": self.known_hosts,
            "identity": self.identity,
            "remote_python": sys.executable,
            "connect_timeout": 5,
            "run_timeout": 120,
        } | extra
        out = []
        for k, v in opts.items():
            out += ["-O", f"{k}={v}"]
        return out


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    root = tmp_path_factory.mktemp("sshd")
    host_pub = _keygen(root / "hostkey")
    user_pub = _keygen(root / "userkey")
    (root / "authorized_keys").write_text(user_pub + "\n")
    port = _free_port()
    (root / "sshd_config").write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {root / 'hostkey'}\n"
        f"PidFile {root / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\n"
        "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        "Subsystem sftp internal-sftp\n"
    )
    if os.geteuid() == 0 and not Path("/run/sshd").exists():
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)  # what the sshd service creates
    check = subprocess.run([SSHD, "-t", "-f", str(root / "sshd_config")], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        pytest.skip(f"sshd cannot run here: {check.stderr.strip()}")
    log = open(root / "sshd.log", "w")  # noqa: SIM115  (closed at teardown)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(root / "sshd_config")], stdout=log, stderr=log)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.close()
            pytest.skip(f"sshd exited: {(root / 'sshd.log').read_text().strip()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub}\n")
    server = Server(root, port, proc, host_pub)
    probe = subprocess.run(
        [TOOLS["ssh"], "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={server.known_hosts}",
         "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-i", str(server.identity),
         "-p", str(port), f"{server.user}@127.0.0.1", "true"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if probe.returncode != 0:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        log.close()
        pytest.skip(f"cannot log in to the test sshd: {probe.stderr.strip()}")
    yield server
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    log.close()


def _bench(server: Server, *args: str, timeout: int = 120, **opts):
    return run_cli("bench", str(SPEC), "--target", "ssh", *server.options(**opts), *SMALL, *args, timeout=timeout)


def _remote_dirs(since: set[str]) -> set[str]:
    tmp = Path("/tmp")  # mktemp -d on the "device": a fresh ssh session has no TMPDIR
    return {str(p) for p in tmp.glob("archdsl-bench.*")} - since


def _existing() -> set[str]:
    return _remote_dirs(set())


def test_ssh_bench_end_to_end(sshd, tmp_path):
    before = _existing()
    store = tmp_path / "results.sqlite"
    r = _bench(sshd, "--format", "json", "--store", str(store))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    (res,) = data["results"]
    assert data["target"] == "ssh" and not data["estimate"]
    assert res["runs"] == 3 and res["median_ms"] > 0
    assert res["env"]["device"].startswith("ssh:") and res["env"]["runtime"] == "onnxruntime"
    remote = res["env"]["remote_dir"]
    assert remote.startswith("/") and not Path(remote).exists(), "the remote temporary folder must be removed"
    assert not _remote_dirs(before)
    # the table form names the device
    r = _bench(sshd, "--no-store")
    assert r.returncode == 0, r.stderr
    assert "target ssh: measured on ssh:" in r.stdout


def test_wrong_host_key_is_refused(sshd, tmp_path):
    other = _keygen(tmp_path / "otherkey")
    bad = tmp_path / "known_hosts"
    bad.write_text(f"[127.0.0.1]:{sshd.port} {other}\n")
    r = _bench(sshd, "--no-store", known_hosts=bad)
    assert r.returncode == 3
    assert "refusing to connect" in r.stderr and "host key" in r.stderr


def test_unknown_host_key_is_refused(sshd, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    r = _bench(sshd, "--no-store", known_hosts=empty)
    assert r.returncode == 3
    assert "refusing to connect" in r.stderr


def test_unreachable_host_times_out_clearly(sshd):
    # A listener that never speaks SSH: the client waits for the banner until ConnectTimeout.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        t0 = time.monotonic()
        r = _bench(sshd, "--no-store", port=port, connect_timeout=2, timeout=60)
        elapsed = time.monotonic() - t0
    assert r.returncode == 3
    assert "cannot reach" in r.stderr and "timed out" in r.stderr
    assert elapsed < 30


def test_closed_port_is_refused_clearly(sshd):
    r = _bench(sshd, "--no-store", port=_free_port(), connect_timeout=2)
    assert r.returncode == 3
    assert "cannot reach" in r.stderr and "refused" in r.stderr


def test_missing_onnxruntime_on_device(sshd, tmp_path):
    before = _existing()
    # a Python that cannot import onnxruntime: isolated mode, no site-packages
    fake = tmp_path / "python-without-ort"
    fake.write_text(f'#!/bin/sh\nexec {sys.executable} -I -S "$@"\n')
    fake.chmod(0o755)
    r = _bench(sshd, "--no-store", remote_python=fake)
    assert r.returncode == 3
    assert "cannot be imported" in r.stderr and "pip install onnxruntime" in r.stderr
    assert not _remote_dirs(before), "the remote folder must be removed after a failure"


def test_remote_failure_is_reported_and_cleaned_up(sshd, tmp_path):
    before = _existing()
    failing = tmp_path / "failing-python"
    failing.write_text("#!/bin/sh\necho 'device on fire' >&2\nexit 7\n")
    failing.chmod(0o755)
    r = _bench(sshd, "--no-store", remote_python=failing)
    assert r.returncode == 3
    assert "exit status 7" in r.stderr and "device on fire" in r.stderr
    assert not _remote_dirs(before)


def test_remote_python_is_quoted_not_interpreted(sshd, tmp_path):
    marker = tmp_path / "pwned"
    r = _bench(sshd, "--no-store", remote_python=f"python3; touch {marker}")
    assert r.returncode == 3
    assert "was not found" in r.stderr
    assert not marker.exists(), "a shell metacharacter in an option must not run a command"


def test_options_are_validated():
    r = run_cli("bench", str(SPEC), "--target", "ssh", "-O", "host=a;b", "--no-store")
    assert r.returncode == 3 and "not a valid host" in r.stderr
    r = run_cli("bench", str(SPEC), "--target", "ssh", "--no-store")
    assert r.returncode == 3 and "needs a host" in r.stderr
    r = run_cli("bench", str(SPEC), "--target", "ssh", "-O", "host=x", "-O", "known_hosts=/nonexistent", "--no-store")
    assert r.returncode == 3 and "known_hosts" in r.stderr

"""The ``ssh`` target end to end against a real OpenSSH server on 127.0.0.1.

The fixture starts ``sshd`` on a free loopback port with a generated host key and a generated
user key (authorised for the current user through a temporary ``AuthorizedKeysFile``), and kills
it at teardown. The "device" is this machine; its Python is this virtual environment's. Every
call is bounded in time. Skipped with a reason when sshd/ssh/scp/ssh-keygen are missing or
sshd cannot run here (it needs root for privilege separation).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
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
needs_pgrep = pytest.mark.skipif(shutil.which("pgrep") is None, reason="pgrep (procps) not installed")


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
    """Bad -O values are usage errors (exit 2) with a help line, found before any connection."""
    r = run_cli("bench", str(SPEC), "--target", "ssh", "-O", "host=a;b", "--no-store")
    assert r.returncode == 2 and "not a valid host" in r.stderr and "= help:" in r.stderr
    r = run_cli("bench", str(SPEC), "--target", "ssh", "--no-store")
    assert r.returncode == 2 and "needs a host" in r.stderr
    r = run_cli("bench", str(SPEC), "--target", "ssh", "-O", "host=x", "-O", "known_hosts=/nonexistent", "--no-store")
    assert r.returncode == 2 and "known_hosts" in r.stderr


# ---- no runner left on the device (issue 12, item 10) ------------------------------------------
#
# The "device" runs the real runner through a wrapper whose Python carries a unique marker
# (-X archdsl_test_<uuid>, an option Python ignores), so `pgrep -f MARKER` finds exactly the
# processes of this test. The runner is made slow by many warm-up and timed runs at 224x224.

SLOW = ["--runs", "100000", "--warmup", "100000", "--threads", "1", "--no-store"]


def _marked_python(tmp_path: Path, exec_: bool = True) -> tuple[Path, str]:
    marker = f"archdsl_test_{uuid.uuid4().hex}"
    wrapper = tmp_path / f"python-{marker}"
    if exec_:
        wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -X {marker} "$@"\n')
    else:  # the shell stays, the runner is its child: the whole process group must go
        wrapper.write_text(f'#!/bin/sh\n{sys.executable} -X {marker} "$@"\necho wrapper-done\n')
    wrapper.chmod(0o755)
    return wrapper, marker


def _pids(marker: str) -> set[int]:
    """Device-side processes of this test: the runner (``python -X MARKER``) and the wrapper shell.

    Not archdsl or the local ssh client, whose command lines hold the wrapper's path too.
    """
    pattern = f"(-X {marker} )|(^/bin/sh [^ ]*python-{marker} )"
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, timeout=30)
    return {int(x) for x in out.stdout.split()} - {os.getpid()}


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def _kill_leftovers(marker: str) -> None:
    for pid in _pids(marker):  # only the processes this test started (they carry its marker)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _slow_bench(server: Server, python: Path, **opts) -> subprocess.Popen:
    args = ["bench", str(SPEC), "--target", "ssh", *server.options(remote_python=python, **opts), *SLOW]
    return subprocess.Popen(
        [sys.executable, "-m", "archdsl", *args],
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@needs_pgrep
def test_run_timeout_kills_the_remote_runner(sshd, tmp_path):
    before = _existing()
    python, marker = _marked_python(tmp_path)
    try:
        proc = _slow_bench(sshd, python, run_timeout=8)
        assert _wait_for(lambda: _pids(marker), 60), "the runner did not start"
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 3, err
        assert "timed out after 8 s" in err
        assert _wait_for(lambda: not _pids(marker), 15), f"runner still running on the device: {_pids(marker)}"
        assert not _remote_dirs(before), "the remote temporary folder must be removed"
    finally:
        _kill_leftovers(marker)


@needs_pgrep
def test_ctrl_c_kills_the_remote_runner_and_its_wrapper(sshd, tmp_path):
    before = _existing()
    python, marker = _marked_python(tmp_path, exec_=False)
    try:
        proc = _slow_bench(sshd, python)
        assert _wait_for(lambda: len(_pids(marker)) >= 2, 60), "the wrapper and the runner did not start"
        time.sleep(1)  # well inside the run
        proc.send_signal(signal.SIGINT)  # to archdsl only, not to its ssh child
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Traceback" not in err
        assert _wait_for(lambda: not _pids(marker), 15), f"processes left on the device: {_pids(marker)}"
        assert not _remote_dirs(before)
    finally:
        _kill_leftovers(marker)


@needs_pgrep
def test_killed_archdsl_does_not_leave_the_runner(sshd, tmp_path):
    """SIGKILL leaves archdsl no chance to clean up: the runner sees its stdin close and stops itself."""
    before = _existing()
    python, marker = _marked_python(tmp_path)
    try:
        proc = _slow_bench(sshd, python)
        assert _wait_for(lambda: _pids(marker), 60), "the runner did not start"
        time.sleep(1)
        proc.kill()
        proc.communicate(timeout=30)
        assert _wait_for(lambda: not _pids(marker), 20), f"runner still running on the device: {_pids(marker)}"
        assert _wait_for(lambda: not _remote_dirs(before), 10), "the runner removes its own folder"
    finally:
        _kill_leftovers(marker)
        for d in _remote_dirs(before):
            shutil.rmtree(d, ignore_errors=True)


# ---- a device that prints garbage (issue 12, item 13) ---------------------------------------


def _device_printing(tmp_path: Path, script: str) -> Path:
    fake = tmp_path / "device-python"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    return fake


# A child's ru_maxrss includes its parent's RSS at the time it was spawned (Linux records the
# old address space's high-water mark at exec): spawned from a pytest process that has loaded
# torch, any child "peaks" at pytest's size. This launcher is a small process that forks the
# command and reports the command's own peak.
_LAUNCH = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.argv[2], sys.argv[2:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status) % 256)\n"
)


def _bench_measured(server: Server, python: Path, *args: str) -> tuple[int, str, float]:
    """Run the CLI; returns (exit status, stderr, peak RSS of the archdsl process in MB)."""
    argv = [sys.executable, "-m", "archdsl", "bench", str(SPEC), "--target", "ssh"]
    argv += [*server.options(remote_python=python), *SMALL, "--no-store", *args]
    err_path, rss_path = Path(python).with_suffix(".stderr"), Path(python).with_suffix(".maxrss")
    with err_path.open("wb") as err:
        env = {**os.environ, "NO_COLOR": "1"}
        launcher = [sys.executable, "-c", _LAUNCH, str(rss_path), *argv]
        done = subprocess.run(launcher, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, env=env, timeout=300)
    code = done.returncode
    return code, err_path.read_text(errors="replace"), int(rss_path.read_text()) / 1024


MALFORMED = {
    "wrong_types": """echo '{"timings_s": "abc", "env": {}}'\n""",
    "nan_timings": """echo '{"timings_s": [NaN, 1, 2], "env": {}, "threads": 1}'\n""",
    "negative_timings": """echo '{"timings_s": [-1, 1, 2], "env": {}, "threads": 1}'\n""",
    "no_env": """echo '{"timings_s": [0.1, 0.1, 0.1]}'\n""",
    "bad_threads": """echo '{"timings_s": [0.1, 0.1, 0.1], "env": {}, "threads": "four"}'\n""",
    "too_few_runs": """echo '{"timings_s": [0.1], "env": {}, "threads": 1}'\n""",
    "not_utf8": """printf '\\377\\376{\\"timings_s\\": \\377}\\n'\n""",
    "truncated": """printf '{"timings_s": [0.1, 0.1'\n""",
    "deep": """python3 -c 'print("{\\"a\\":" * 200000)'\n""",
    "list": """echo '[1, 2, 3]'\n""",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_device_printing_malformed_json(sshd, tmp_path, name):
    code, err, _ = _bench_measured(sshd, _device_printing(tmp_path, MALFORMED[name]))
    assert code == 3, err
    assert "Traceback" not in err and "bug in archdsl" not in err, err
    assert "= help:" in err
    assert "malformed result" in err or "without printing its JSON result" in err, err


def test_device_printing_huge_output_is_cut_off(sshd, tmp_path):
    # 1 GB of output: archdsl reads at most the limit (32 MiB), then stops the device's command.
    # Reading it all would take over 2 GB (bytes + text); archdsl itself peaks near 300 MB.
    script = "yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz | head -c 1000000000\n"
    code, err, rss_mb = _bench_measured(sshd, _device_printing(tmp_path, script))
    assert code == 3, err
    assert "printed more than 33,554,432 bytes" in err and "Traceback" not in err
    assert rss_mb < 500, f"archdsl held {rss_mb:.0f} MB reading the device's output"


def test_device_escape_sequences_are_not_echoed(sshd, tmp_path):
    script = "printf 'boom \\033[2J\\033]0;owned\\007 \\r done\\n' >&2\nexit 7\n"
    code, err, _ = _bench_measured(sshd, _device_printing(tmp_path, script))
    assert code == 3
    assert "\x1b" not in err and "\x07" not in err and "\r" not in err
    assert "\\x1b[2J" in err and "exit status 7" in err

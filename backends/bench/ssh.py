"""The ``ssh`` target: measure on a remote device (a Raspberry Pi 4, say) over OpenSSH.

For a bench run it makes one temporary folder on the device (``mktemp -d``), copies the
:mod:`.runner` script there once and each spec's ``.onnx`` file in turn (``scp``), runs the
runner with the device's Python and onnxruntime, reads the JSON timings it prints, and removes
the folder when the run ends (also after an error or Ctrl-C).

Security and robustness:

- the system ``ssh``/``scp`` programs are called with argument lists (never a local shell);
  the one command line the remote shell sees is built with :func:`shlex.quote` for every word;
- ``StrictHostKeyChecking=yes`` always: the device's key must already be in ``known_hosts``
  (``-O known_hosts=FILE``, default ``~/.ssh/known_hosts``); an unknown or changed key is refused;
- ``BatchMode=yes`` (no password prompts: key authentication only), ``ConnectTimeout`` for the
  connection and the protocol handshake, and a wall-clock limit on every ssh/scp call;
- the folder name comes from ``mktemp`` on the device and is checked before it is used.

Options (``-O KEY=VALUE``): ``host`` (required; ``user@host`` accepted), ``user``, ``port`` (22),
``identity`` (private key file), ``known_hosts`` (file), ``remote_python`` (``python3``),
``connect_timeout`` (10 s), ``run_timeout`` (600 s per spec), ``ssh`` and ``scp`` (the programs),
``clock`` (``wall`` or ``cpu``, as for the host target), ``opset`` (the ONNX opset to compile to,
for an older onnxruntime on the device).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from archdsl.ir import Graph

from .artefact import onnx_file
from .host import pick_clock
from .target import BenchSettings, Measurement, Prepared, TargetError, check_options

OPTIONS: dict[str, Any] = {
    "host": str,
    "user": str,
    "port": int,
    "identity": str,
    "known_hosts": str,
    "remote_python": str,
    "connect_timeout": (int, float),
    "run_timeout": (int, float),
    "ssh": str,
    "scp": str,
    "clock": str,
    "opset": int,
}

_SAFE_DIR = re.compile(r"^/[A-Za-z0-9._/-]+$")
_HOST = re.compile(r"^[A-Za-z0-9._:%\[\]-]+$")
_USER = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._-]*$")


class SshTarget:
    name = "ssh"
    summary = "a remote device over OpenSSH (onnxruntime on the device)"
    estimate = False
    default_threads = 4

    def __init__(self, options: dict[str, Any]):
        opts = check_options("ssh", options, OPTIONS)
        host = opts.get("host")
        if not host:
            raise TargetError("the ssh target needs a host", "-O host=pi@raspberrypi.local (and -O known_hosts=FILE)")
        user = opts.get("user")
        if "@" in host:
            user, host = host.rsplit("@", 1)
        if not _HOST.match(host):
            raise TargetError(f"'{host}' is not a valid host name or address")
        if user is not None and not _USER.match(user):
            raise TargetError(f"'{user}' is not a valid user name")
        self.host = host
        self.user = user
        self.port = int(opts.get("port", 22))
        if not 0 < self.port < 65536:
            raise TargetError(f"port {self.port} is out of range")
        self.identity = str(Path(opts["identity"]).expanduser()) if opts.get("identity") else None
        self.known_hosts = str(Path(opts.get("known_hosts") or "~/.ssh/known_hosts").expanduser())
        self.remote_python = opts.get("remote_python", "python3")
        self.connect_timeout = float(opts.get("connect_timeout", 10))
        self.run_timeout = float(opts.get("run_timeout", 600))
        if self.connect_timeout <= 0 or self.run_timeout <= 0:
            raise TargetError("connect_timeout and run_timeout must be positive")
        self.clock = opts.get("clock", "wall")
        if self.clock not in ("wall", "cpu"):
            raise TargetError(f"clock must be 'wall' or 'cpu', not '{self.clock}'")
        self.opset = opts.get("opset")
        self.ssh = opts.get("ssh", "ssh")
        self.scp = opts.get("scp", "scp")
        if not Path(self.known_hosts).is_file():
            raise TargetError(
                f"known_hosts file {self.known_hosts} does not exist",
                f"add the device's host key first, e.g. ssh-keyscan -p {self.port} {host} >> KNOWN_HOSTS "
                "(and check its fingerprint), then pass -O known_hosts=KNOWN_HOSTS",
            )
        self.remote_dir: str | None = None
        self.removed_dirs: list[str] = []
        self.cleanup_error: str | None = None

    # -- plumbing ----------------------------------------------------------------------------

    def options(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "user": self.user,
            "port": self.port,
            "remote_python": self.remote_python,
            "clock": self.clock,
            "opset": self.opset,
        }

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    def _common(self) -> list[str]:
        opts = [
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={_config_value(self.known_hosts)}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", f"ConnectTimeout={max(1, round(self.connect_timeout))}",
            "-o", "ServerAliveInterval=15",
            "-o", "ServerAliveCountMax=3",
            "-o", "LogLevel=ERROR",
        ]  # fmt: skip
        if self.identity:
            opts += ["-o", "IdentitiesOnly=yes", "-i", self.identity]
        return opts

    def _ssh_argv(self, remote_words: list[str]) -> list[str]:
        command = shlex.join(remote_words)
        return [self.ssh, *self._common(), "-p", str(self.port), "--", self.destination, command]

    def _call(self, argv: list[str], timeout: float, what: str) -> subprocess.CompletedProcess:
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise TargetError(f"cannot run '{argv[0]}': not found", "install the OpenSSH client") from None
        except subprocess.TimeoutExpired:
            raise TargetError(
                f"{what} on {self.destination}:{self.port} timed out after {timeout:g} s",
                "check that the device is up and reachable; raise -O connect_timeout / -O run_timeout",
            ) from None
        if proc.returncode == 255:  # ssh's own failure (connection, authentication, host key)
            raise self._connection_error(proc.stderr, what)
        return proc

    def _connection_error(self, stderr: str, what: str) -> TargetError:
        text = stderr.strip()
        where = f"{self.destination} port {self.port}"
        low = text.lower()
        if "host key verification failed" in low or "remote host identification has changed" in low:
            return TargetError(
                f"refusing to connect to {where}: its host key is not the one in {self.known_hosts} "
                "(strict host-key checking)",
                "if the device was re-installed, verify its new key out of band and update known_hosts",
            )
        if "timed out" in low:
            return TargetError(
                f"cannot reach {where}: connection timed out after {self.connect_timeout:g} s ({text})",
                "check the address and that sshd runs on the device",
            )
        if "connection refused" in low:
            return TargetError(f"cannot reach {where}: connection refused", "is sshd running on that port?")
        if "permission denied" in low:
            return TargetError(
                f"{where} refused our key ({text})", "pass -O identity=KEY with a key authorised on the device"
            )
        hint = None
        if what.startswith("copying") and "connection closed" in low:
            hint = "scp uses the SFTP protocol: enable the sftp subsystem in the device's sshd_config"
        return TargetError(f"ssh to {where} failed during {what}: {text or 'exit status 255'}", hint)

    # -- the protocol --------------------------------------------------------------------------

    def _open(self) -> str:
        if self.remote_dir:
            return self.remote_dir
        proc = self._call(
            self._ssh_argv(["mktemp", "-d", "-t", "archdsl-bench.XXXXXXXX"]),
            self.connect_timeout + 30,
            "creating a temporary folder",
        )
        path = proc.stdout.strip()
        if proc.returncode != 0 or not _SAFE_DIR.match(path) or ".." in path:
            raise TargetError(f"mktemp -d on {self.destination} failed: {(proc.stderr or path).strip()!r}")
        self.remote_dir = path
        self._copy(Path(__file__).with_name("runner.py"), "runner.py")
        return path

    def _copy(self, local: Path, name: str) -> None:
        assert self.remote_dir is not None
        dest = f"{self.destination}:{self.remote_dir}/{name}"
        argv = [self.scp, "-q", *self._common(), "-P", str(self.port), "--", str(local), dest]
        proc = self._call(argv, self.connect_timeout + 300, f"copying {local.name}")
        if proc.returncode != 0:
            raise TargetError(f"copying {local.name} to {self.destination} failed: {proc.stderr.strip()}")

    def prepare(self, graph: Graph, settings: BenchSettings, workdir: Path) -> Prepared:
        return Prepared(graph, onnx_file(graph, workdir, settings.seed, self.opset))

    def run(self, prepared: Prepared, settings: BenchSettings, progress=None) -> Measurement:
        threads = settings.threads or self.default_threads
        remote = self._open()
        assert prepared.path is not None
        self._copy(prepared.path, "model.onnx")
        run_words = [
            self.remote_python, "runner.py", "model.onnx",
            "--warmup", str(settings.warmup), "--runs", str(settings.runs),
            "--threads", str(threads), "--batch", str(settings.batch), "--seed", str(settings.seed),
        ]  # fmt: skip
        # "cd DIR && PYTHON runner.py ...": every word quoted, '&&' the only operator.
        command = shlex.join(["cd", remote]) + " && " + shlex.join(run_words)
        argv = [self.ssh, *self._common(), "-p", str(self.port), "--", self.destination, command]
        proc = self._call(argv, self.run_timeout, f"running {prepared.graph.name}")
        result = _parse_json_line(proc.stdout)
        if result is None or proc.returncode != 0 or "error" in result:
            raise self._remote_failure(proc, result)
        if progress:
            progress(settings.runs, settings.runs)
        env = {"device": f"ssh:{self.destination}", **result["env"], "remote_dir": remote, "clock": self.clock}
        return pick_clock(result, self.clock, int(result.get("threads", threads)), env)

    def _remote_failure(self, proc: subprocess.CompletedProcess, result: dict | None) -> TargetError:
        where = self.destination
        if result and result.get("kind") == "missing_onnxruntime":
            return TargetError(
                f"onnxruntime (with numpy) cannot be imported by {self.remote_python} on {where}: {result['error']}",
                f"on the device: {self.remote_python} -m pip install onnxruntime numpy "
                "(or pass -O remote_python=/path/to/venv/bin/python)",
            )
        if result and result.get("kind") == "model":
            return TargetError(
                f"the device's onnxruntime cannot load the model on {where}: {result['error']}",
                "an older onnxruntime may not know the model's opset: try -O opset=13",
            )
        if result and "error" in result:
            return TargetError(f"the runner failed on {where}: {result['error']}")
        tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-5:])
        if proc.returncode == 127:
            return TargetError(
                f"'{self.remote_python}' was not found on {where}",
                "pass -O remote_python=/path/to/python (a Python 3 with onnxruntime and numpy)",
            )
        return TargetError(f"the runner failed on {where} (exit status {proc.returncode}): {tail or 'no output'}")

    def close(self) -> None:
        """Remove the device's temporary folder (best effort: a failure here is reported, not raised)."""
        path, self.remote_dir = self.remote_dir, None
        if not path:
            return
        try:
            proc = self._call(self._ssh_argv(["rm", "-rf", "--", path]), self.connect_timeout + 30, "cleaning up")
            if proc.returncode == 0:
                self.removed_dirs.append(path)
            else:
                self.cleanup_error = f"could not remove {path} on {self.destination}: {proc.stderr.strip()}"
        except TargetError as exc:
            self.cleanup_error = f"could not remove {path} on {self.destination}: {exc.message}"


def _config_value(path: str) -> str:
    """An ssh_config value: ``UserKnownHostsFile`` splits on whitespace unless the path is quoted."""
    if '"' in path:
        raise TargetError(f"a double quote in the path {path!r} cannot be passed to ssh")
    return f'"{path}"' if any(c.isspace() for c in path) else path


def _parse_json_line(text: str) -> dict | None:
    for line in reversed((text or "").strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None


def ssh_target(options: dict[str, Any]) -> SshTarget:
    return SshTarget(options)

"""The ``ssh`` target: measure on a remote device (a Raspberry Pi 4, say) over OpenSSH.

For a bench run it makes one temporary folder on the device (``mktemp -d``), copies the
:mod:`.runner` script there once and each spec's ``.onnx`` file in turn (``scp``), runs the
runner with the device's Python and onnxruntime, reads the JSON timings it prints, and removes
the folder when the run ends (also after an error or Ctrl-C).

No runner is left on the device: the runner writes its process group id into the folder, and
when a run does not end normally (``run_timeout``, Ctrl-C, SIGTERM, too much output) the
clean-up command first kills that group, then removes the folder. The runner also stops by
itself when its ssh connection goes away (the target keeps the runner's stdin open; end-of-file
means archdsl is gone, even after a SIGKILL).

Security and robustness:

- the system ``ssh``/``scp`` programs are called with argument lists (never a local shell);
  the one command line the remote shell sees is built with :func:`shlex.quote` for every word;
- ``StrictHostKeyChecking=yes`` always: the device's key must already be in ``known_hosts``
  (``-O known_hosts=FILE``, default ``~/.ssh/known_hosts``); an unknown or changed key is refused;
- ``BatchMode=yes`` (no password prompts: key authentication only), ``ConnectTimeout`` for the
  connection and the protocol handshake, and a wall-clock limit on every ssh/scp call;
- the folder name comes from ``mktemp`` on the device and is checked before it is used;
- what the device prints is bounded (:data:`OUTPUT_LIMIT`), decoded leniently, checked
  (:func:`check_result`: the runner's JSON with finite, non-negative timings) and printed with
  control characters escaped; a device that prints garbage gets a clear error, never a traceback.

Options (``-O KEY=VALUE``): ``host`` (required; ``user@host`` accepted), ``user``, ``port`` (22),
``identity`` (private key file), ``known_hosts`` (file), ``remote_python`` (``python3``),
``connect_timeout`` (10 s, at most 3600), ``run_timeout`` (600 s per spec, at most a week),
``ssh`` and ``scp`` (the programs), ``clock`` (``wall`` or ``cpu``, as for the host target),
``opset`` (the ONNX opset to compile to, for an older onnxruntime on the device). A bad value
(unknown key, wrong type, NaN, out of range, a missing file) is an :class:`OptionError`.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from pathlib import Path
from typing import Any

from archdsl.ir import Graph

from . import bounded
from .artefact import onnx_file
from .host import pick_clock
from .target import BenchSettings, Measurement, OptionError, Prepared, TargetError, check_options, number

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
_HOST = re.compile(r"^[A-Za-z0-9._:%\[\]][A-Za-z0-9._:%\[\]-]*$")
_USER = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._-]*$")

OUTPUT_LIMIT = 32 << 20
"""Bytes of a run's stdout read at most (the runner's JSON line: ~50 bytes per timed run)."""
SMALL_OUTPUT = 64 << 10
"""Bytes of stdout read at most from the housekeeping commands (mktemp, scp, clean-up)."""
MAX_CONNECT_TIMEOUT = 3600.0
MAX_RUN_TIMEOUT = 7 * 86400.0

# Kill the runner's process group (its id is in the folder), wait for it up to 3 s, remove the folder.
# Plain sh: no `--` after kill (dash refuses it), no `!` (csh history), no backslashes (fish).
_KILL_AND_REMOVE = (
    'd={dir}; f="$d/runner.pgid"; '
    'if [ -f "$f" ]; then p=$(cat "$f"); '
    'if [ "$p" -gt 1 ] 2>/dev/null; then kill -TERM -$p 2>/dev/null; i=0; '
    "while [ $i -lt 30 ] && kill -0 -$p 2>/dev/null; do sleep 0.1 2>/dev/null || sleep 1; i=$((i+1)); done; "
    "kill -KILL -$p 2>/dev/null; fi; fi; "
    'rm -rf -- "$d"'
)


class SshTarget:
    name = "ssh"
    summary = "a remote device over OpenSSH (onnxruntime on the device)"
    estimate = False
    default_threads = 4

    def __init__(self, options: dict[str, Any]):
        opts = check_options("ssh", options, OPTIONS)
        host = opts.get("host")
        if not host:
            raise OptionError("the ssh target needs a host", "-O host=pi@raspberrypi.local (and -O known_hosts=FILE)")
        user = opts.get("user")
        if "@" in host:
            user, host = host.rsplit("@", 1)
        if not _HOST.match(host):
            raise OptionError(
                f"'{bounded.printable(host, 80)}' is not a valid host name or address",
                "-O host=NAME or -O host=USER@NAME (letters, digits, '.', '-', ':', '%', '[', ']')",
            )
        if user is not None and not _USER.match(user):
            raise OptionError(
                f"'{bounded.printable(user, 80)}' is not a valid user name", "letters, digits, '.', '_' and '-' only"
            )
        self.host = host
        self.user = user
        self.port = int(number("ssh", "port", opts.get("port", 22), 1, 65535))
        self.identity = str(Path(opts["identity"]).expanduser()) if opts.get("identity") else None
        if self.identity and not Path(self.identity).is_file():
            raise OptionError(f"identity file {self.identity} does not exist", "pass -O identity=PRIVATE_KEY_FILE")
        self.known_hosts = str(Path(opts.get("known_hosts") or "~/.ssh/known_hosts").expanduser())
        self.remote_python = opts.get("remote_python", "python3")
        self.connect_timeout = float(
            number("ssh", "connect_timeout", opts.get("connect_timeout", 10), 0, MAX_CONNECT_TIMEOUT, low_open=True)
        )
        self.run_timeout = float(
            number("ssh", "run_timeout", opts.get("run_timeout", 600), 0, MAX_RUN_TIMEOUT, low_open=True)
        )
        self.clock = opts.get("clock", "wall")
        if self.clock not in ("wall", "cpu"):
            hint = "-O clock=wall or -O clock=cpu"
            raise OptionError(f"clock must be 'wall' or 'cpu', not '{bounded.printable(self.clock, 40)}'", hint)
        self.opset = opts.get("opset")
        if self.opset is not None:
            number("ssh", "opset", self.opset, 1, 1000)
        self.ssh = opts.get("ssh", "ssh")
        self.scp = opts.get("scp", "scp")
        if not Path(self.known_hosts).is_file():
            raise OptionError(
                f"known_hosts file {self.known_hosts} does not exist",
                f"add the device's host key first, e.g. ssh-keyscan -p {self.port} {host} >> KNOWN_HOSTS "
                "(and check its fingerprint), then pass -O known_hosts=KNOWN_HOSTS",
            )
        self.remote_dir: str | None = None
        self.removed_dirs: list[str] = []
        self.cleanup_error: str | None = None
        self._runner_may_live = False
        """True while a run has not ended normally: close() then kills the runner's process group."""

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

    def _call(
        self, argv: list[str], timeout: float, what: str, limit: int = SMALL_OUTPUT, keep_stdin: bool = False
    ) -> bounded.Result:
        try:
            proc = bounded.call(argv, timeout, limit, keep_stdin)
        except FileNotFoundError:
            raise TargetError(f"cannot run '{argv[0]}': not found", "install the OpenSSH client") from None
        except OSError as exc:
            raise TargetError(f"cannot run '{argv[0]}': {exc.strerror or exc}", "install the OpenSSH client") from None
        if proc.timed_out:
            raise TargetError(
                f"{what} on {self.destination}:{self.port} timed out after {timeout:g} s",
                "check that the device is up and reachable; raise -O connect_timeout / -O run_timeout",
            )
        if proc.overflow:
            raise TargetError(
                f"{what} on {self.destination}: the device printed more than {limit:,} bytes; stopped reading",
                "the runner prints one JSON line; is -O remote_python a Python running archdsl's runner?",
            )
        if proc.returncode == 255:  # ssh's own failure (connection, authentication, host key)
            raise self._connection_error(proc.stderr, what)
        return proc

    def _connection_error(self, stderr: str, what: str) -> TargetError:
        text = bounded.printable(stderr.strip(), 500)
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
        return TargetError(
            f"ssh to {where} failed during {what}: {text or 'exit status 255'}",
            hint or f"try it by hand: ssh -p {self.port} {self.destination} true",
        )

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
            said = bounded.printable((proc.stderr or path).strip(), 300)
            raise TargetError(
                f"mktemp -d on {self.destination} failed: {said!r}", "the device needs a writable /tmp and mktemp"
            )
        self.remote_dir = path
        self._copy(Path(__file__).with_name("runner.py"), "runner.py")
        return path

    def _copy(self, local: Path, name: str) -> None:
        assert self.remote_dir is not None
        dest = f"{self.destination}:{self.remote_dir}/{name}"
        argv = [self.scp, "-q", *self._common(), "-P", str(self.port), "--", str(local), dest]
        proc = self._call(argv, self.connect_timeout + 300, f"copying {local.name}")
        if proc.returncode != 0:
            said = bounded.printable(proc.stderr.strip(), 500)
            raise TargetError(
                f"copying {local.name} to {self.destination} failed: {said}",
                "check free space in the device's /tmp and that scp (SFTP) works: scp FILE DEVICE:/tmp/",
            )

    def prepare(self, graph: Graph, settings: BenchSettings, workdir: Path) -> Prepared:
        return Prepared(graph, onnx_file(graph, workdir, settings.seed, self.opset, settings.quantize))

    def run(self, prepared: Prepared, settings: BenchSettings, progress=None) -> Measurement:
        threads = settings.threads or self.default_threads
        remote = self._open()
        assert prepared.path is not None
        self._copy(prepared.path, "model.onnx")
        run_words = [
            self.remote_python, f"{remote}/runner.py", f"{remote}/model.onnx",
            "--warmup", str(settings.warmup), "--runs", str(settings.runs),
            "--threads", str(threads), "--batch", str(settings.batch), "--seed", str(settings.seed),
            "--pgid-file", f"{remote}/runner.pgid", "--stop-on-eof", "--cleanup-dir", remote,
        ]  # fmt: skip
        # "cd DIR && PYTHON DIR/runner.py ...": every word quoted, '&&' the only operator.
        command = shlex.join(["cd", remote]) + " && " + shlex.join(run_words)
        argv = [self.ssh, *self._common(), "-p", str(self.port), "--", self.destination, command]
        self._runner_may_live = True
        proc = self._call(argv, self.run_timeout, f"running {prepared.graph.name}", OUTPUT_LIMIT, keep_stdin=True)
        self._runner_may_live = False  # the command ended: the runner has exited
        result = _parse_json_line(proc.stdout)
        if result is None or proc.returncode != 0 or "error" in result:
            raise self._remote_failure(proc, result)
        problem = check_result(result, settings.runs, self.clock)
        if problem:
            raise TargetError(
                f"the runner on {self.destination} printed a malformed result: {problem}",
                "is -O remote_python a Python running archdsl's runner, unmodified?",
            )
        if progress:
            progress(settings.runs, settings.runs)
        env = {"device": f"ssh:{self.destination}", **_clean_env(result["env"]), "remote_dir": remote}
        env["clock"] = self.clock
        return pick_clock(result, self.clock, int(result.get("threads", threads)), env)

    def _remote_failure(self, proc: bounded.Result, result: dict | None) -> TargetError:
        where = self.destination
        said = bounded.printable(str(result.get("error")), 1000) if result else ""
        if result and result.get("kind") == "missing_onnxruntime":
            return TargetError(
                f"onnxruntime (with numpy) cannot be imported by {self.remote_python} on {where}: {said}",
                f"on the device: {self.remote_python} -m pip install onnxruntime numpy "
                "(or pass -O remote_python=/path/to/venv/bin/python)",
            )
        if result and result.get("kind") == "model":
            return TargetError(
                f"the device's onnxruntime cannot load the model on {where}: {said}",
                "an older onnxruntime may not know the model's opset: try -O opset=13",
            )
        if result and "error" in result:
            hint = "run the spec with --target host to see whether it is the device"
            return TargetError(f"the runner failed on {where}: {said}", hint)
        lines = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
        tail = bounded.printable("\n".join(line[:300] for line in lines), 2000)
        if proc.returncode == 127:
            return TargetError(
                f"'{self.remote_python}' was not found on {where}",
                "pass -O remote_python=/path/to/python (a Python 3 with onnxruntime and numpy)",
            )
        if proc.returncode == 0:
            return TargetError(
                f"the runner on {where} exited without printing its JSON result: {tail or 'no output'}",
                "is -O remote_python a Python running archdsl's runner, unmodified?",
            )
        return TargetError(
            f"the runner failed on {where} (exit status {proc.returncode}): {tail or 'no output'}",
            f"try it on the device: {self.remote_python} -c 'import onnxruntime, numpy'",
        )

    def close(self) -> None:
        """Stop a runner that may still run, remove the device's temporary folder.

        Best effort: a failure here is reported (``cleanup_error``), not raised.
        """
        path, self.remote_dir = self.remote_dir, None
        if not path:
            return
        if self._runner_may_live:  # timed out, interrupted, too much output: kill its process group first
            words = ["sh", "-c", _KILL_AND_REMOVE.format(dir=shlex.quote(path))]
        else:
            words = ["rm", "-rf", "--", path]
        self._runner_may_live = False
        try:
            proc = self._call(self._ssh_argv(words), self.connect_timeout + 30, "cleaning up")
            if proc.returncode == 0:
                self.removed_dirs.append(path)
            else:
                said = bounded.printable(proc.stderr.strip(), 500)
                self.cleanup_error = f"could not remove {path} on {self.destination}: {said}"
        except TargetError as exc:
            self.cleanup_error = f"could not remove {path} on {self.destination}: {exc.message}"


def _config_value(path: str) -> str:
    """An ssh_config value: ``UserKnownHostsFile`` splits on whitespace unless the path is quoted."""
    if '"' in path:
        raise OptionError(
            f"a double quote in the path {path!r} cannot be passed to ssh", "rename the file or copy it elsewhere"
        )
    return f'"{path}"' if any(c.isspace() for c in path) else path


def _parse_json_line(text: str) -> dict | None:
    """The last line of ``text`` that is a JSON object, or None (malformed, too deep, absent)."""
    for line in reversed((text or "").strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except (ValueError, RecursionError):
                return None
            return data if isinstance(data, dict) else None
    return None


def _timings(value: Any, name: str, runs: int) -> str | None:
    if not isinstance(value, list):
        return f"'{name}' is not a list"
    if len(value) != runs:
        return f"'{name}' has {len(value)} value(s), not the {runs} timed run(s) asked for"
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            return f"'{name}' holds {bounded.printable(repr(v), 40)}, not a finite number of seconds >= 0"
    return None


def check_result(result: dict, runs: int, clock: str) -> str | None:
    """What is wrong with the runner's JSON result (None when it is well formed)."""
    problem = _timings(result.get("timings_s"), "timings_s", runs)
    if problem:
        return problem
    if "cpu_timings_s" in result or clock == "cpu":
        problem = _timings(result.get("cpu_timings_s"), "cpu_timings_s", runs)
        if problem:
            return problem
    if not isinstance(result.get("env"), dict):
        return "'env' is not an object"
    threads = result.get("threads", 1)
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 4096:
        return f"'threads' is {bounded.printable(repr(threads), 40)}, not a thread count"
    return None


def _clean_env(env: dict) -> dict[str, Any]:
    """The device's facts, flattened to printable scalars and short lists of them (nothing nested)."""

    def scalar(v: Any) -> Any:
        if isinstance(v, str):
            return bounded.printable(v, 500)
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v if v is None or isinstance(v, bool | int | float) else None

    out: dict[str, Any] = {}
    for k, v in list(env.items())[:100]:
        key = bounded.printable(str(k), 100)
        if isinstance(v, list):
            out[key] = [scalar(x) for x in v[:50] if not isinstance(x, dict | list)]
        elif not isinstance(v, dict):
            out[key] = scalar(v)
    out.pop("device", None)  # the device is the one we connected to, whatever it says
    return out


def ssh_target(options: dict[str, Any]) -> SshTarget:
    return SshTarget(options)

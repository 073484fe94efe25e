"""A throw-away PostgreSQL server on loopback, for the tests of ``archdsl explore --storage postgresql://``.

:func:`start_cluster` runs Debian's postgresql binaries (``initdb``, ``pg_ctl``; version 15 or any
under /usr/lib/postgresql) in a fresh temporary folder: trust authentication, listening on
127.0.0.1 on a free port only, its socket inside that folder, fsync off (it is thrown away). The
server refuses to run as root, so as root the cluster belongs to a system user (``archdsl-pg``,
created with ``useradd`` when missing, else ``nobody``) and every command runs through ``runuser``.

The fixture ``postgres_url`` (tests/conftest.py) skips with the reason when the binaries are
absent, and fails instead when ``CI`` is set: CI installs them (.ci/run).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PG_USER = "archdsl-pg"


def find_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/N/bin holding initdb and pg_ctl (15 preferred when present)."""
    dirs = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0,
    )
    preferred = [d for d in dirs if Path(d).parent.name == "15"] + dirs[::-1]
    for d in preferred:
        if (Path(d) / "initdb").is_file() and (Path(d) / "pg_ctl").is_file():
            return Path(d)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> str | None:
    """None when not root (the server runs as us); otherwise a non-root system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
        return PG_USER
    except KeyError:
        pass
    if shutil.which("useradd"):
        r = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            capture_output=True,
            text=True,
        )
        if r.returncode == 0 or "already exists" in r.stderr:
            return PG_USER
    return "nobody"


@dataclass
class Cluster:
    bindir: Path
    root: Path
    port: int
    user: str | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://archdsl@127.0.0.1:{self.port}/archdsl"

    def run(self, *cmd: str, check: bool = True, timeout: int = 120) -> subprocess.CompletedProcess:
        full = list(cmd)
        if self.user is not None:
            full = ["runuser", "-u", self.user, "--", *full]
        r = subprocess.run(full, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stdout}\n{r.stderr}")
        return r

    def stop(self) -> None:
        try:
            self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> Cluster:
    """initdb + pg_ctl start; a database ``archdsl`` owned by role ``archdsl``. RuntimeError on failure."""
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="archdsl-pg-"))
    if user is not None:
        pw = pwd.getpwnam(user)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    os.chmod(root, 0o700)
    cluster = Cluster(bindir, root, _free_port(), user)
    try:
        cluster.run(str(bindir / "initdb"), "-D", str(cluster.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={cluster.port} -c unix_socket_directories={root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        cluster.run(
            str(bindir / "pg_ctl"),
            "-D",
            str(cluster.data),
            "-o",
            opts,
            "-l",
            str(root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        psql = bindir / "psql"
        if not psql.is_file():
            psql = Path(shutil.which("psql") or "psql")
        for sql in ("CREATE ROLE archdsl LOGIN", "CREATE DATABASE archdsl OWNER archdsl"):
            cluster.run(
                str(psql), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "-d", "postgres", "-c", sql
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", cluster.port)) == 0:
                    break
            time.sleep(0.2)
    except BaseException as exc:
        log = root / "log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        cluster.stop()
        raise RuntimeError(f"could not start a PostgreSQL cluster: {exc}\n{detail}") from None
    return cluster

"""The hostile corpus's fork server (tests/hostile/forkserver.py) runs a case as a fresh process would.

Each child starts clean (nothing a previous case changed survives), gets the case's folder, argv,
output and session, reports its exit status, CPU and peak RSS; a child that crashes, hangs or kills
its process group ends alone, and a server that dies fails only the case it was running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.hostile.forkserver import ForkServer, ServerDied
from tests.hostile.harness import Case, ForkServers, case_env, run_case


@pytest.fixture(scope="module")
def root():
    """A private temporary root, as the corpus's (pytest's numbered folders are pruned by other sessions)."""
    folder = Path(tempfile.mkdtemp(prefix="archdsl-forkserver-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def server(root):
    srv = ForkServer(case_env(Case("")), str(root), str(root / "server.log"))
    yield srv
    srv.close()


def _run(server: ForkServer, folder: Path, argv: list[str], module: str = "archdsl", wall: float = 30.0):
    folder.mkdir(exist_ok=True)
    out = folder / "out"
    with out.open("wb") as fh, open(os.devnull, "rb") as null:
        reply = server.run(argv, str(folder), null.fileno(), fh.fileno(), wall, module)
    return reply, out.read_text()


def _probe(server, folder, *args):
    reply, output = _run(server, folder, list(args), module="tests.hostile.probe_state")
    assert os.waitstatus_to_exitcode(reply["status"]) == 0, output
    return json.loads(output.strip().splitlines()[-1])


def test_a_child_starts_clean_whatever_the_one_before_left(server, root):
    dirty = _probe(server, root / "a", "--dirty")
    # the probe does leave state behind (so the next assertions can fail) ...
    assert dirty["std_cache"] >= 1 and dirty["inputs"] >= 1 and dirty["pending"] == 1
    assert dirty["app"] and not dirty["sigterm_default"]
    # ... and the next child, forked from the same server, sees none of it
    clean = _probe(server, root / "b", "x", "--flag")
    assert clean["std_cache"] == 0 and clean["inputs"] == 0 and clean["pending"] == 0
    assert not clean["app"] and clean["sigterm_default"]
    # a process of its own, in its own session, in the case's folder, with the case's argv
    assert clean["pid"] != dirty["pid"] and clean["sid"] == clean["pid"]
    assert clean["cwd"] == clean["path0"] == str(root / "b")
    assert clean["argv"] == ["x", "--flag"] and clean["name"] == "__main__"


def test_exit_codes_and_output_are_a_fresh_process_s(server, root):
    spec = root / "bad.arch"
    spec.write_text("net n {\n    input x [3, 8, 8]\n    y = conv(4) -> reluu\n}\n")
    reply, output = _run(server, root / "c", ["check", str(spec)])
    assert os.waitstatus_to_exitcode(reply["status"]) == 1
    assert "bad.arch:3:" in output and "Traceback" not in output
    (root / "c-fresh").mkdir()
    fresh = run_case(Case("bad", argv=f"check {spec}"), root / "c-fresh")
    assert fresh.returncode == 1 and fresh.output == output
    reply, output = _run(server, root / "d", ["--help"])
    assert os.waitstatus_to_exitcode(reply["status"]) == 0
    assert "python -m archdsl" in output  # the program name click gives `python -m archdsl`
    reply, output = _run(server, root / "e", ["chek"])
    assert os.waitstatus_to_exitcode(reply["status"]) == 2 and "Did you mean 'check'" in output


@pytest.fixture
def crasher(root) -> str:
    """A module the child runs: it does what argv[1] says."""
    pkg = root / "crashpkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "crash_mod.py").write_text(
        textwrap.dedent(
            """
            import os, signal, sys, time
            what = sys.argv[1]
            if what == "segv":
                os.kill(os.getpid(), signal.SIGSEGV)
            elif what == "exit":
                os._exit(7)
            elif what == "raise":
                raise RuntimeError("boom")
            elif what == "hang":
                time.sleep(600)
            elif what == "killgroup":
                os.killpg(0, signal.SIGKILL)
            elif what == "memory":
                block = bytearray(64 << 20)
                block[::4096] = b"x" * len(block[::4096])
            """
        )
    )
    return "crash_mod"


@pytest.mark.parametrize(
    "what, code",
    [("segv", -signal.SIGSEGV), ("exit", 7), ("raise", 1), ("killgroup", -signal.SIGKILL), ("hang", -signal.SIGKILL)],
)
def test_a_child_that_crashes_or_hangs_ends_alone(server, root, crasher, what, code):
    folder = root / f"crash-{what}"
    folder.mkdir()
    for name in os.listdir(root / "crashpkg"):  # the module lies in the child's folder: sys.path[0]
        (folder / name).write_bytes((root / "crashpkg" / name).read_bytes())
    reply, output = _run(server, folder, [what], module=crasher, wall=1.0)
    assert os.waitstatus_to_exitcode(reply["status"]) == code
    assert reply["timed_out"] == (what == "hang")
    if what == "raise":
        assert "RuntimeError: boom" in output
    assert server.alive()
    assert _probe(server, root / f"after-{what}")["std_cache"] == 0


def test_peak_rss_and_cpu_are_the_child_s(server, root, crasher):
    folder = root / "mem"
    folder.mkdir()
    (folder / "crash_mod.py").write_bytes((root / "crashpkg" / "crash_mod.py").read_bytes())
    small, _ = _run(server, root / "small", ["--version"])
    big, _ = _run(server, folder, ["memory"], module=crasher)
    assert big["maxrss"] - small["maxrss"] >= 60 * 1024  # KiB: the child's own 64 MiB
    assert big["cpu"] >= 0


def test_outcomes_carry_the_server_s_start_up_cost(root):
    spec = root / "ok.arch"
    spec.write_text("net n {\n    input x [3, 8, 8]\n    y = conv(4) -> relu\n}\n")
    folder = root / "charged"
    folder.mkdir()
    with ForkServers(root) as servers:
        outcome = run_case(Case("ok", argv=f"check {spec}", expect=(0,)), folder, servers)
        (server,) = servers._all
    assert outcome.returncode == 0 and not outcome.timed_out
    assert server.startup_cpu > 0 and outcome.cpu_seconds >= server.startup_cpu
    assert outcome.seconds >= server.startup_seconds


def test_a_server_that_dies_fails_its_case_only(root):
    folder = root / "dies"
    folder.mkdir()
    (folder / "killer.py").write_text(
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nimport time\ntime.sleep(5)\n"
    )
    spec = root / "ok2.arch"
    spec.write_text("net n {\n    input x [3, 8, 8]\n    y = conv(4) -> relu\n}\n")
    with ForkServers(root) as servers:
        server = servers._take()
        with pytest.raises(ServerDied), open(folder / "out", "wb") as out, open(os.devnull, "rb") as null:
            server.run([], str(folder), null.fileno(), out.fileno(), 5.0, module="killer")
        assert not server.alive()
        # the next case gets a new server
        after = root / "after-death"
        after.mkdir()
        outcome = run_case(Case("ok", argv=f"check {spec}", expect=(0,)), after, servers)
        assert outcome.returncode == 0, outcome.output
        assert len(servers._all) == 2


def test_cases_with_environment_or_stdin_run_as_fresh_processes(root, monkeypatch):
    env_case = Case("env", argv="--version", expect=(0,), env={"ARCHDSL_X": "1"})
    stdin_case = Case("stdin", argv="fmt -", expect=(0,), stdin=b"net n {\n    input x [3, 8, 8]\n}\n")
    plain = Case("plain", argv="--version", expect=(0,))
    assert env_case.needs_fresh_process and stdin_case.needs_fresh_process and not plain.needs_fresh_process
    assert Case("f", fresh=True).needs_fresh_process

    class NoServers(ForkServers):
        def run(self, args, tmp):
            raise AssertionError("a fresh-process case went to the fork server")

    servers = NoServers(root)
    for i, c in enumerate([env_case, stdin_case]):
        folder = root / f"fresh-{i}"
        folder.mkdir()
        assert run_case(c, folder, servers).returncode == 0
    monkeypatch.setenv("ARCHDSL_HOSTILE_FRESH", "1")
    folder = root / "fresh-all"
    folder.mkdir()
    assert run_case(plain, folder, servers).returncode == 0

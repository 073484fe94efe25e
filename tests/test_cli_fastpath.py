"""The typer-free fast path of ``archdsl check``, ``lint`` and ``fmt`` (archdsl/cli/fastpath.py).

It must be invisible: its option tables are the typer commands' options, every command line it
takes gives the very output and exit status typer's path gives (``ARCHDSL_NO_FAST_PATH=1``), every
other command line goes to typer, and on it ``fmt`` loads neither typer nor pydantic and ``check`` and
``lint`` no typer (checked through ``sys.modules``, never by timing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from archdsl.cli import fastpath
from tests.conftest import ROOT
from tests.test_cli_lazy import _tops, loaded


def _click_command(name: str):
    import typer.main

    from archdsl.cli import get_app

    group = typer.main.get_command(get_app())
    return group.get_command(None, name)


@pytest.mark.parametrize("name", sorted(fastpath.OPTIONS))
def test_the_option_tables_are_the_typer_commands_options(name):
    """A new option of `archdsl check` or `fmt` must be added here too (or it would go to typer,
    which is correct but slow): the spellings and the flag-ness agree with click's parameters."""
    cmd = _click_command(name)
    spelled: dict[str, bool] = {}
    for p in cmd.params:
        if p.param_type_name != "option" or p.name == "help":
            continue
        for opt in (*p.opts, *p.secondary_opts):
            spelled[opt] = bool(p.is_flag)
    table = fastpath.OPTIONS[name]
    assert set(table) == set(spelled)
    assert {o: kind == "flag" for o, (_, kind) in table.items()} == spelled
    params = {p.name for p in cmd.params if p.param_type_name == "option"} - {"help"}
    assert {key for key, _ in table.values()} == params


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        ["-qq", "a.arch"],
        ["--quiet=yes", "a.arch"],
        ["--format", "xml", "a.arch"],
        ["--format=", "a.arch"],
        ["--format"],
        ["--max-elements", "0", "a.arch"],
        ["--max-elements", "-5", "a.arch"],
        ["--max-elements", "1e6", "a.arch"],
        ["--max-elements", "\u0663", "a.arch"],
        ["--max-element", "5", "a.arch"],
        ["--", "a.arch"],
        ["-", "a.arch"],
        ["-q"],
        [],
    ],
)
def test_every_other_check_command_line_goes_to_typer(args):
    assert fastpath.parse("check", args) is None


def test_plain_command_lines_parse():
    assert fastpath.parse("check", ["-q", "a.arch", "--format=json", "b.arch", "--max-elements", "07"]) == (
        ["a.arch", "b.arch"],
        {"quiet": True, "fmt": "json", "max_elements": 7},
    )
    assert fastpath.parse("fmt", ["--check", "--diff", "x"]) == (["x"], {"check": True, "diff": True})
    assert fastpath.parse("fmt", ["-"]) is None  # standard input: typer's path
    assert fastpath.parse("lint", ["-o", "r.sarif", "--select", "AD", "--select", "AR,AS", "d/"]) == (
        ["d/"],
        {"output": Path("r.sarif"), "select": ["AD", "AR,AS"]},
    )
    assert fastpath.parse("lint", ["--select", "-q", "d/"]) is None  # click would take -q as the value
    assert fastpath.parse("lint", ["--select="]) is None
    assert fastpath.run(["show", "specs/attendnext.arch"]) is None


def _run(args: list[str], cwd, fast: bool) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ARCHDSL_NO_FAST_PATH", "FORCE_COLOR")}
    env["NO_COLOR"] = "1"
    if not fast:
        env["ARCHDSL_NO_FAST_PATH"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    res = subprocess.run(
        [sys.executable, "-m", "archdsl", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    return res.returncode, res.stdout, res.stderr


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("fastpath")
    shutil.copy(ROOT / "specs" / "attendnext.arch", d / "good.arch")
    shutil.copy(ROOT / "tests" / "fixtures" / "spaces" / "tiny.arch", d / "space.arch")
    (d / "bad.arch").write_text("net n(r = 2) {\n    input x [3, 32, 32]\n    y = conv(c = 8, kk = 3)\n}\n")
    (d / "ugly.arch").write_text("net n(r=2){\ninput x [3,32,32]\n  y=conv(32//r,k=3)\n}\n")
    (d / "broken.arch").write_text("net n(r = 2) {\n    input x [3, 32, 32]\n    y = conv(c = 8\n}\n")
    return d


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["check", "good.arch"], 0),
        (["check", "-q", "good.arch", "space.arch"], 0),
        (["check", "good.arch", "space.arch"], 0),
        (["check", "bad.arch", "good.arch"], 1),
        (["check", "--format", "json", "bad.arch"], 1),
        (["check", "--format=json", "-q", "good.arch"], 0),
        (["check", "--max-elements", "1000", "good.arch"], 1),
        (["check", "missing.arch"], 1),
        (["check", "broken.arch"], 1),
        (["lint", "good.arch"], 0),
        (["lint", "-q", "good.arch", "space.arch"], 0),
        (["lint", "--select", "AD", "--select=AR", "--fail-on", "info", "good.arch"], 1),
        (["lint", "--select", "AR", "--ignore", "AR203", "bad.arch", "good.arch"], 4),
        (["lint", "--format", "json", "--preset", "attendnext", "good.arch"], 0),
        (["lint", "--format", "github", "--isolated", "--exit-zero", "--ignore-noqa", "good.arch"], 0),
        (["lint", "--format", "xml", "good.arch"], 2),
        (["lint", "--preset", "nope", "good.arch"], 2),
        (["lint", "--config", "missing.toml", "good.arch"], 2),
        (["lint", "missing.arch"], 2),
        (["fmt", "--check", "good.arch", "ugly.arch"], 1),
        (["fmt", "--check", "good.arch"], 0),
        (["fmt", "--diff", "ugly.arch"], 1),
        (["fmt", "--check", "-q", "broken.arch", "missing.arch"], 1),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, list) else str(a),
)
def test_the_fast_path_gives_what_typer_gives(work, args, status):
    fast = _run(args, work, fast=True)
    slow = _run(args, work, fast=False)
    assert fast == slow
    assert fast[0] == status, fast
    assert fast[1] or fast[2] or "-q" in args  # each of the others says something


def test_fmt_rewrites_the_same_on_both_paths(work, tmp_path):
    for fast in (True, False):
        d = tmp_path / str(fast)
        d.mkdir()
        shutil.copy(work / "ugly.arch", d / "ugly.arch")
        assert _run(["fmt", "ugly.arch"], d, fast)[0] == 0
    assert (tmp_path / "True" / "ugly.arch").read_bytes() == (tmp_path / "False" / "ugly.arch").read_bytes()
    assert (tmp_path / "True" / "ugly.arch").read_text() != (work / "ugly.arch").read_text()


def test_fmt_loads_neither_typer_nor_pydantic():
    mods = loaded("fmt", "--check", "specs/attendnext.arch")
    assert not _tops(mods) & {"typer", "click", "pydantic", "pydantic_core", "rich", "torch", "onnx"}
    assert "archdsl.cli.fmt" not in mods and "archdsl.cli.formatting" in mods


@pytest.mark.parametrize("command", ["check", "lint"])
def test_check_and_lint_load_no_typer(command):
    mods = loaded(command, "-q", "specs/attendnext.arch")
    assert not _tops(mods) & {"typer", "click", "rich"}
    assert f"archdsl.cli.{command}" not in mods and f"archdsl.cli.{command}ing" in mods


def test_a_plain_command_line_with_help_still_gets_typers_help():
    mods = loaded("check", "--help")
    assert "typer" in mods

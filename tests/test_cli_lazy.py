"""The start-up contract of the CLI, checked structurally (which modules load), never by timing.

``archdsl --version`` loads no third-party package; ``archdsl --help`` loads typer but no command
module, no pydantic, lark or rich; a command loads its own module and not the others' (``check``
never the lint engine, the bench package or rich). And the command table of
``archdsl/cli/__init__.py`` (what ``--help`` lists without importing) matches the commands.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

_PROBE = """
import json, sys
sys.argv = ["archdsl", *json.loads(sys.argv[1])]
from archdsl.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
sys.__stdout__.write("\\n@@" + json.dumps(sorted(sys.modules)))
"""

HEAVY = ("typer", "click", "pydantic", "pydantic_core", "lark", "rich", "torch", "onnx", "numpy", "pygls")


def loaded(*argv: str) -> set[str]:
    res = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(argv))], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "@@" in res.stdout, res.stdout + res.stderr
    return set(json.loads(res.stdout.rsplit("@@", 1)[1]))


def _tops(mods: set[str]) -> set[str]:
    return {m.split(".")[0] for m in mods}


def _commands(mods: set[str]) -> set[str]:
    plumbing = ("archdsl.cli.lazy", "archdsl.cli.common", "archdsl.cli.fastpath")
    return {m for m in mods if m.startswith("archdsl.cli.") and m not in plumbing}


def test_version_loads_nothing():
    mods = loaded("--version")
    assert not _tops(mods) & set(HEAVY)
    assert not _commands(mods) and "archdsl.cli.lazy" not in mods
    assert not {m for m in mods if m.startswith(("archdsl.syntax", "archdsl.resolve", "archdsl.ops"))}


def test_help_loads_typer_and_no_command():
    mods = loaded("--help")
    assert "typer" in mods
    assert not _tops(mods) & {"pydantic", "lark", "rich", "torch", "onnx"}
    assert not _commands(mods)


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        # `--` takes them off the fast path (tests/test_cli_fastpath.py) to the typer commands
        (["check", "-q", "--", "specs/attendnext.arch"], "archdsl.cli.check"),
        (["fmt", "--check", "--", "specs/attendnext.arch"], "archdsl.cli.fmt"),
        (["rules"], "archdsl.cli.lint"),
        (["show", "--help"], "archdsl.cli.show"),
    ],
)
def test_a_command_loads_its_own_module_only(argv, module):
    mods = loaded(*argv)
    work = {"archdsl.cli.check": "archdsl.cli.checking", "archdsl.cli.fmt": "archdsl.cli.formatting"}
    work["archdsl.cli.lint"] = "archdsl.cli.linting"
    assert _commands(mods) == {module} | ({work[module]} if module in work else set())
    assert not _tops(mods) & {"rich", "torch", "onnx", "numpy", "pygls"}


def test_check_loads_no_lint_engine_and_no_bench():
    mods = loaded("check", "-q", "specs/attendnext.arch")
    assert not {m for m in mods if m.startswith(("archdsl.rules", "archdsl.bench", "archdsl.lsp", "archdsl.fmt"))}


def test_the_command_table_matches_the_commands():
    """COMMANDS: every command is listed, under its module, with the first paragraph of its help."""
    import importlib

    import typer.main

    from archdsl.cli import COMMANDS, get_app

    for module, _ in COMMANDS.values():
        importlib.import_module(module)
    app = get_app()
    registered = {}
    for info in app.registered_commands:
        cmd = typer.main.get_command_from_info(info, pretty_exceptions_short=True, rich_markup_mode=None)
        registered[cmd.name] = (info.callback.__module__, cmd.help)
    for info in app.registered_groups:
        registered[info.name] = (None, info.typer_instance.info.help)
    assert set(registered) == set(COMMANDS)
    for name, (module, help) in registered.items():
        if module is not None:
            assert COMMANDS[name][0] == module, name
        assert COMMANDS[name][1] == help.split("\n\n")[0], name

"""Artefacts are safe to write: never over an input, always atomic, and generated code never breaks.

- issue 12 item 2: ``compile``/``render`` refuse (exit 2, before any work) an output path that is,
  or links to, an input of the run: the spec, an imported spec, the ``--weights`` file;
- item 3: every artefact (torch ``.py``/``.pt``/``.pt2``, graphviz figures, the render command's
  file) replaces the old one atomically: a real SIGTERM or SIGINT part way leaves the old file
  and no temporary file;
- item 8: strings from the spec (parameters, the spec's path) land in the generated ``.py`` escaped,
  so it always parses, imports and runs.

The fast refusals run ``python -m archdsl`` as a user does; those that need the torch backend
loaded run in-process (torch imports once).
"""

from __future__ import annotations

import ast
import itertools
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

SPEC = """\
import std
net tiny(classes = 10) {
    input image [3, 16, 16]
    stem = conv(8, k = 3) -> bn -> relu
    head = gap -> flatten -> linear(classes)
}
"""

LIB = """\
block stem_block(c) {
    x = conv(c, k = 1) -> relu
}
"""

USES_LIB = """\
import std
import "lib.arch"
net tiny(classes = 10) {
    input image [3, 16, 16]
    stem = stem_block(8)
    head = gap -> flatten -> linear(classes)
}
"""


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (links as their target name), to show nothing was written."""
    out = {}
    for p in sorted(folder.rglob("*")):
        key = str(p.relative_to(folder))
        if p.is_symlink():
            out[key] = b"->" + os.readlink(p).encode()
        elif p.is_file():
            out[key] = p.read_bytes()
    return out


def _refused(code: int, err: str) -> None:
    assert code == 2, err
    assert "refusing to write" in err, err
    assert "= help:" in err, err
    assert "Traceback" not in err and "internal error" not in err, err


# ---- item 2: no command writes over an input ------------------------------------------------


def _setup(tmp_path: Path) -> None:
    (tmp_path / "tiny.arch").write_text(SPEC)
    (tmp_path / "net.py").write_text(SPEC)  # a spec may have any name
    (tmp_path / "lib.arch").write_text(LIB)
    (tmp_path / "uses.arch").write_text(USES_LIB)
    (tmp_path / "sub").mkdir()
    os.symlink("tiny.arch", tmp_path / "link.svg")
    os.link(tmp_path / "tiny.arch", tmp_path / "sub" / "hard.onnx")
    (tmp_path / "w.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")


SUBPROCESS_CASES = {
    "onnx -o spec": ("compile", "tiny.arch", "--backend", "onnx", "-o", "tiny.arch"),
    "torch -o spec": ("compile", "tiny.arch", "-o", "tiny.arch"),
    "emit python -o spec": ("compile", "tiny.arch", "--emit", "python", "-o", "tiny.arch"),
    "emit python -o spec.py": ("compile", "net.py", "--emit", "python", "-o", "net.py"),
    "graphviz -o spec": ("compile", "tiny.arch", "--backend", "graphviz", "-o", "tiny.arch", "-O", "format=dot"),
    "onnx -o spec spelled differently": ("compile", "tiny.arch", "-b", "onnx", "-o", "sub/../tiny.arch"),
    "onnx -o hard link": ("compile", "tiny.arch", "--backend", "onnx", "-o", "sub/hard.onnx"),
    "onnx -o weights": (
        "compile",
        "tiny.arch",
        "--backend",
        "onnx",
        "--weights",
        "w.safetensors",
        "-o",
        "w.safetensors",
    ),
    "render -o spec": ("render", "tiny.arch", "-o", "tiny.arch", "--format", "dot"),
    "render -o symlink": ("render", "tiny.arch", "-o", "link.svg"),
    "render -o hard link": ("render", "tiny.arch", "-o", "sub/hard.onnx", "--format", "dot"),
    "render -o absolute spec": ("render", "tiny.arch", "-o", "{tmp}/tiny.arch", "--format", "svg"),
    "render -o imported spec": ("render", "uses.arch", "-o", "lib.arch", "--format", "dot"),
}


@pytest.mark.parametrize("args", SUBPROCESS_CASES.values(), ids=SUBPROCESS_CASES.keys())
def test_no_command_writes_over_an_input(tmp_path, args):
    _setup(tmp_path)
    before = _snapshot(tmp_path)
    res = run_cli(*(a.replace("{tmp}", str(tmp_path)) for a in args), cwd=tmp_path)
    _refused(res.returncode, res.stderr)
    assert _snapshot(tmp_path) == before  # the input intact, and nothing else written either


def test_the_refusal_names_the_input_and_the_link(tmp_path):
    _setup(tmp_path)
    res = run_cli("render", "tiny.arch", "-o", "link.svg", cwd=tmp_path)
    assert "refusing to write 'link.svg': it is the input 'tiny.arch' (a symbolic link to it)" in res.stderr
    res = run_cli("compile", "tiny.arch", "-b", "onnx", "-o", "sub/hard.onnx", cwd=tmp_path)
    assert "(a hard link to it)" in res.stderr


def test_render_refuses_before_running_graphviz(tmp_path):
    """The check comes before rendering: no `dot` program is needed to be refused."""
    _setup(tmp_path)
    res = run_cli(
        "render", "tiny.arch", "-o", "tiny.arch", "--format", "png", cwd=tmp_path, env={"PATH": "/nonexistent"}
    )
    _refused(res.returncode, res.stderr)


# the torch backend's planned artefacts (.py, .pt, .pt2 beside -o) are checked before it builds anything
torch_cases = pytest.mark.usefixtures("torch_one_thread")


def _cli(*args: str, cwd: Path):
    """``archdsl ARGS`` in-process: (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from archdsl.cli import app

    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def no_build(monkeypatch):
    """Make building a module fail loudly: a refused compile must not even start."""
    pytest.importorskip("torch")
    from archdsl_backends.torch import backend

    def boom(*a, **k):
        raise AssertionError("the module was built although an output was refused")

    monkeypatch.setattr(backend, "build_module", boom)


@torch_cases
@pytest.mark.parametrize(
    ("spec_name", "args"),
    [
        ("net.py", ("-o", "net.pt")),  # the .py beside the .pt is the spec
        ("net.pt2", ("-o", "out/../net.py", "--emit", "pt2")),
        ("uses.arch", ("--emit", "python", "-o", "lib.arch")),  # an imported spec
        ("tiny.arch", ("--emit", "state_dict", "-o", "w.pt", "--weights", "w.pt")),
        ("tiny.arch", ("--emit", "state_dict", "-o", "w.py", "--weights", "w.pt")),  # w.pt from the stem
        ("tiny.arch", ("-o", "sub")),  # sub/tiny.py is a link to the spec
    ],
    ids=["py-beside-pt", "pt2-spelled", "import", "weights", "weights-by-stem", "link-in-folder"],
)
def test_compile_refuses_planned_artefacts_that_are_inputs(tmp_path, spec_name, args, no_build):
    _setup(tmp_path)
    if not (tmp_path / spec_name).exists():
        (tmp_path / spec_name).write_text(SPEC)
    (tmp_path / "w.pt").write_bytes(b"not read: refused first")
    os.symlink("../tiny.arch", tmp_path / "sub" / "tiny.py")
    before = _snapshot(tmp_path)
    code, _, err = _cli("compile", spec_name, *args, cwd=tmp_path)
    _refused(code, err)
    assert _snapshot(tmp_path) == before


# ---- item 3: artefacts are replaced atomically ----------------------------------------------


def _hard_linked_olds(folder: Path, names: list[str]) -> None:
    """Old artefacts, each hard-linked to a 'keep' copy: a write in place would change both."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"old " + n.encode())
        os.link(folder / n, folder / f"keep-{n}")


def _check_replaced(folder: Path, names: list[str]) -> None:
    for n in names:
        assert (folder / f"keep-{n}").read_bytes() == b"old " + n.encode(), f"{n} was written in place"
        assert (folder / n).read_bytes() != b"old " + n.encode()
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


@torch_cases
def test_torch_artefacts_replace_the_old_ones(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "tiny.arch").write_text(SPEC)
    names = ["tiny.py", "tiny.pt", "tiny.pt2"]
    _hard_linked_olds(tmp_path / "out", names)
    code, _, err = _cli("compile", "tiny.arch", "-o", "out", cwd=tmp_path)
    assert code == 0, err
    _check_replaced(tmp_path / "out", names)


def test_render_and_graphviz_compile_replace_the_old_figure(tmp_path):
    pytest.importorskip("graphviz")
    (tmp_path / "tiny.arch").write_text(SPEC)
    _hard_linked_olds(tmp_path, ["fig.dot", "tiny.dot"])
    code, _, err = _cli("render", "tiny.arch", "-o", "fig.dot", cwd=tmp_path)
    assert code == 0, err
    code, _, err = _cli("compile", "tiny.arch", "--backend", "graphviz", "-o", ".", "-O", "format=dot", cwd=tmp_path)
    assert code == 0, err
    _check_replaced(tmp_path, ["fig.dot", "tiny.dot"])


@torch_cases
def test_torch_artefacts_are_byte_identical_from_run_to_run(tmp_path):
    """Written through a file object (no temporary file name inside the archive) from a seeded
    export example: the same spec gives the same .pt and .pt2 bytes wherever they are written."""
    pytest.importorskip("torch")
    (tmp_path / "tiny.arch").write_text(SPEC)
    for out in ("a", "b/c"):
        code, _, err = _cli("compile", "tiny.arch", "--emit", "state_dict", "--emit", "pt2", "-o", out, cwd=tmp_path)
        assert code == 0, err
    for name in ("tiny.pt", "tiny.pt2"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / "c" / name).read_bytes(), name


# A writer made slow on purpose, in this test's own helper: it writes part of the artefact, says
# so on stdout, and waits to be killed. Two ways in: atomic_write directly, or the real command
# line with fileio's low-level write slowed down (so the command's own write path is exercised).
HELPER = textwrap.dedent(
    """
    import signal, sys, time
    from archdsl import fileio

    # as at a terminal, whatever the test runner inherited (a background job ignores SIGINT,
    # nohup ignores SIGHUP): the default dispositions, which archdsl's handlers build on
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)

    def announce_and_wait():
        print("writing", flush=True)
        while True:
            time.sleep(0.05)

    mode, *rest = sys.argv[1:]
    if mode == "direct":
        fileio.install_signal_handlers()

        def writer(fh):
            fh.write(b"N" * (4 << 20))  # the first 4 MB of a large artefact
            fh.flush()
            announce_and_wait()

        fileio.atomic_write(rest[0], writer)
    else:
        real = fileio._write

        def slow(fh, data):
            real(fh, data)
            fh.flush()
            announce_and_wait()

        fileio._write = slow
        sys.argv = ["archdsl", *rest]
        from archdsl.cli import main

        main()
    """
)


def _interrupt(tmp_path: Path, sig: int, target: Path, helper_args: list[str]) -> subprocess.CompletedProcess:
    script = tmp_path / "slow_writer.py"
    script.write_text(HELPER)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(script), *helper_args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = proc.stdout.readline()  # blocks until the artefact is half written (or the helper ended)
        assert line.strip() == "writing", f"the writer never started: {proc.communicate(timeout=60)}"
        temps = [p for p in target.parent.iterdir() if p.name.startswith(f".{target.name}.")]
        assert len(temps) == 1, "the artefact is not being written to a temporary file"
        assert temps[0].stat().st_size > 0
        assert target.read_bytes() == b"the good old artefact"  # untouched while the new one is written
        os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]


@pytest.mark.parametrize("sig", SIGNALS, ids=[s.name for s in SIGNALS])
def test_a_signal_mid_write_leaves_the_old_artefact_and_no_temporary_file(tmp_path, sig):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"the good old artefact")
    res = _interrupt(tmp_path, sig, target, ["direct", str(target)])
    assert res.returncode != 0
    assert target.read_bytes() == b"the good old artefact"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "slow_writer.py"]


def test_sigkill_cannot_be_cleaned_up_after_but_the_old_artefact_survives(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"the good old artefact")
    _interrupt(tmp_path, signal.SIGKILL, target, ["direct", str(target)])
    assert target.read_bytes() == b"the good old artefact"


CLI_WRITES = {
    "render": (["render", "tiny.arch", "-o", "fig.dot"], "fig.dot"),
    "compile python": (["compile", "tiny.arch", "--emit", "python", "-o", "out/tiny.py"], "out/tiny.py"),
    "compile state_dict": (["compile", "tiny.arch", "--emit", "state_dict", "-o", "out/tiny.pt"], "out/tiny.pt"),
    "compile graphviz": (["compile", "tiny.arch", "-b", "graphviz", "-o", "out/", "-O", "format=dot"], "out/tiny.dot"),
}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize(("argv", "artefact"), CLI_WRITES.values(), ids=CLI_WRITES.keys())
def test_interrupting_the_command_mid_write_keeps_the_old_artefact(tmp_path, sig, argv, artefact):
    if argv[0] == "compile" and "graphviz" not in argv:
        pytest.importorskip("torch")
    pytest.importorskip("graphviz")
    (tmp_path / "tiny.arch").write_text(SPEC)
    target = tmp_path / artefact
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(b"the good old artefact")
    res = _interrupt(tmp_path, sig, target, ["cli", *argv])
    assert res.returncode != 0
    assert "Traceback" not in res.stderr, res.stderr
    assert target.read_bytes() == b"the good old artefact"
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".tmp")] == []


# ---- item 8: spec strings in the generated module -------------------------------------------

TAGGED = """\
import std
net {name}(tag = "{tag}", classes = 3) {{
    input image [3, 8, 8]
    meta {{
        note = "{tag}"
    }}
    stem = conv(4, k = 1) -> relu
    head = gap -> flatten -> linear(classes)
}}
"""


def _dsl_string(text: str) -> str:
    """``text`` as the body of a spec string literal (the spec's escapes: \\\\, \\", \\n, \\t)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


def _emit(path: str, tag: str, override: str | None = None, name: str = "tiny") -> tuple[object, str]:
    from archdsl_backends.torch import codegen

    from archdsl.resolve import load_graph

    overrides = {"tag": override} if override is not None else None
    graph = load_graph(path, net=name, text=TAGGED.format(name=name, tag=_dsl_string(tag)), overrides=overrides)
    return graph, codegen.generate(graph)


_SERIAL = itertools.count()


def _import_and_run(src: str, folder: Path, cls: str):
    import importlib.util

    import torch

    tree = ast.parse(src)
    compile(src, "<generated>", "exec")
    name = f"generated_net_{next(_SERIAL)}"  # a new name each time: no stale bytecode cache
    path = folder / f"{name}.py"
    path.write_bytes(src.encode("utf-8"))  # the file must be encodable (no lone surrogates)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = getattr(module, cls)().eval()
    with torch.no_grad():
        assert tuple(model(torch.randn(2, 3, 8, 8)).shape) == (2, 3)
    return ast.get_docstring(tree, clean=False)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


HARD_STRINGS = {
    "windows path": "C:\\Users\\me",
    "named escape": "\\N{BULLET} and \\x41",
    "triple quotes": 'a """ docstring """ end',
    "quote at the end": 'ends in a quote"',
    "backslash at the end": "ends in a backslash\\",
    "newlines": 'line 1\nline 2\n"""\nimport os',
    "tab": "a\tb",
    "unicode": "naïve — 模型 😀",
}


@torch_cases
@pytest.mark.parametrize("text", HARD_STRINGS.values(), ids=HARD_STRINGS.keys())
def test_hard_strings_in_a_parameter_and_the_spec_path(tmp_path, text):
    pytest.importorskip("torch")
    path = f"specs\\{text}\\N/v.arch"
    _, src = _emit(path, text)
    doc = _import_and_run(src, tmp_path, "Tiny")
    assert f"    {path}\n" in doc
    assert _norm(f"tag = {text},") in _norm(doc)


@torch_cases
def test_any_override_string_even_a_nul_or_a_lone_surrogate(tmp_path):
    pytest.importorskip("torch")
    text = 'a\x00b\udcff\u2028\r"""\\'
    _, src = _emit("v.arch", "x", override=text)
    doc = _import_and_run(src, tmp_path, "Tiny")
    assert f"tag = {text}," in doc


def test_string_literal_round_trips_and_prefers_double_quotes():
    pytest.importorskip("torch")
    from archdsl_backends.torch.codegen import string_literal

    for text in [*HARD_STRINGS.values(), "", "'", "\udcff", "\x00"]:
        assert ast.literal_eval(string_literal(text)) == text
    assert string_literal("relu") == '"relu"'
    assert string_literal("it's") == '"it\'s"'


try:
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    given = None

if given is not None:
    NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
    TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=40)
    ANY = st.text(st.characters(blacklist_categories=()), max_size=40) | st.text(
        st.sampled_from("\\\"'\n\r\x00N{}\udcff")
    )
    PATHS = st.text(st.characters(blacklist_characters="\x00"), min_size=1, max_size=40)

    @torch_cases
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(path=PATHS, tag=TEXT, override=st.none() | ANY, name=NAMES)
    @example(path="C:\\Users\\me\\N.arch", tag='"""', override=None, name="tiny")
    @example(path='x"""\n\\', tag="\\N{DASH}", override="\udcff\x00", name="True")
    def test_any_spec_strings_give_a_module_that_imports_and_runs(tmp_path, path, tag, override, name):
        pytest.importorskip("torch")
        from archdsl_backends.torch.codegen import standalone_class
        from hypothesis import assume

        from archdsl.diagnostics import DiagnosticError

        try:
            graph, src = _emit(path, tag, override, name)
        except DiagnosticError:
            assume(False)  # a name the spec language reserves, say: not a module to emit
            return
        doc = _import_and_run(src, tmp_path, standalone_class(graph))
        assert f"    {graph.file}\n" in doc  # the spec's path (as the loader spells it) reads back as itself
        value = tag if override is None else override
        assert _norm(f"tag = {value},") in _norm(doc)

"""Hostile sources (issue 12, items 1, 5, 7 and 14): how spec text gets in, and how it gets out.

- item 1: the parser never reads a Lark cache (a pickle) from the temp folder; it loads the parse
  tables shipped as JSON in the package, which must match the grammar;
- item 5: spec files are read as regular files only, at most the size limit plus one byte;
- item 7: the spec hash depends on the content of the sources, not on how their paths are spelled;
- item 14: E107 points at the invalid byte, a BOM is skipped, carets sit right after tabs and with
  CR or CRLF line ends, and control characters from a spec never reach the terminal raw.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import pickle
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lark
import pytest
from archdsl_grammars import grammar_text

from archdsl.diagnostics import Diagnostic, DiagnosticError, SourceMap, Span, render_text
from archdsl.resolve import load_graph, load_program

ROOT = Path(__file__).resolve().parent.parent
TABLES = ROOT / "grammars" / "arch_tables.json"
SPEC = "net n {\n    input x [3, 32, 32]\n    y = conv(8) -> relu\n}\n"


# Runs archdsl under a small intermediate process: a child forked (or vforked) straight from pytest
# would report pytest's own peak memory as its ru_maxrss (Linux carries the old address space's
# high-water mark over exec), so the intermediate, itself small, spawns archdsl and waits for it.
_SPAWN = r"""
import json, os, resource, subprocess, sys
limit, report = int(sys.argv[1]), sys.argv[2]
def lim():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
with open(report + ".out", "wb") as out:
    p = subprocess.Popen(sys.argv[3:], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, preexec_fn=lim)
    _, status, usage = os.wait4(p.pid, 0)
with open(report, "w") as fh:
    json.dump({"status": status, "maxrss_kb": usage.ru_maxrss}, fh)
"""


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 30):
    """``archdsl ARGS`` with 2 GB of address space; (exit code, output, peak RSS in MB, seconds)."""
    full_env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("ARCHDSL_DEBUG", None)
    with tempfile.TemporaryDirectory() as scratch:
        report = os.path.join(scratch, "report.json")
        argv = [sys.executable, "-c", _SPAWN, str(2 << 30), report, sys.executable, "-m", "archdsl", *args]
        start = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(f"archdsl {' '.join(args)} did not finish within {timeout} s")
        seconds = time.monotonic() - start
        result = json.loads(Path(report).read_text())
        text = Path(report + ".out").read_bytes().decode("utf-8", "replace")
    return os.waitstatus_to_exitcode(result["status"]), text, result["maxrss_kb"] / 1024, seconds


# ---- item 1: no Lark cache, shipped tables -------------------------------------------------------


class _Tables:
    """archdsl.syntax.tables, imported when first used (the other tests run without it)."""

    def __getattr__(self, name):
        from archdsl.syntax import tables as module

        return getattr(module, name)


tables = _Tables()


def test_the_shipped_parse_tables_match_the_grammar_and_lark():
    """Stale tables fail here: regenerate them with scripts/gen_parser_tables.py."""
    doc = json.loads(TABLES.read_text(encoding="utf-8"))
    grammar = (ROOT / "grammars" / "arch.lark").read_bytes()
    assert doc["grammar_sha256"] == hashlib.sha256(grammar).hexdigest(), "grammars/arch.lark changed"
    assert doc["lark_version"] == lark.__version__, "another Lark version: regenerate the tables"
    assert doc["options"] == tables.PARSER_OPTIONS and "cache" not in tables.PARSER_OPTIONS
    # regenerated from scratch (Lark numbers its states anew each run) they are the same bytes
    assert tables.tables_json(grammar_text()) == TABLES.read_text(encoding="utf-8")


def test_the_generator_script_checks_staleness():
    r = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_parser_tables.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert "up to date" in r.stdout


def test_the_parser_comes_from_the_tables_and_parses_like_a_built_one():
    loaded = tables.make_parser()
    assert tables.loaded_from == "tables"
    built = tables.build_parser(grammar_text())
    files = sorted(ROOT.glob("specs/**/*.arch")) + sorted(ROOT.glob("tests/fixtures/**/*.arch"))
    files.append(ROOT / "archdsl" / "stdlib" / "std.arch")
    assert len(files) > 40
    for f in files:
        text = f.read_text(encoding="utf-8")
        outcomes = []
        for parser in (loaded, built):
            try:
                outcomes.append(("tree", parser.parse(text)))
            except lark.exceptions.UnexpectedInput as exc:
                outcomes.append(("error", type(exc).__name__, exc.line, exc.column))
        assert outcomes[0] == outcomes[1], f.name


def _tmpdir_env(monkeypatch, folder: Path) -> None:
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)


@pytest.mark.parametrize(
    "tamper",
    ["lark_version", "grammar", "damaged", "missing"],
)
def test_tables_that_do_not_fit_are_replaced_by_an_in_memory_build(tamper, monkeypatch, tmp_path):
    _tmpdir_env(monkeypatch, tmp_path)
    import archdsl_grammars

    if tamper == "lark_version":
        monkeypatch.setattr(lark, "__version__", "0.0.1")
    elif tamper == "grammar":
        text = grammar_text() + "\n// changed\n"
        monkeypatch.setattr(archdsl_grammars, "grammar_text", lambda name="arch.lark": text)
    elif tamper == "damaged":
        original = archdsl_grammars.read_text
        damaged = '{"format": 1, "data": ['
        monkeypatch.setattr(
            archdsl_grammars, "read_text", lambda n: damaged if n == tables.TABLES_FILE else original(n)
        )
    else:
        original = archdsl_grammars.read_text

        def missing(name):
            if name == tables.TABLES_FILE:
                raise FileNotFoundError(name)
            return original(name)

        monkeypatch.setattr(archdsl_grammars, "read_text", missing)
    parser = tables.make_parser()
    assert tables.loaded_from == "built"
    assert parser.parse(SPEC).data == "start"
    assert list(tmp_path.iterdir()) == []  # nothing cached in the temp folder


def _lark_cache_names(folder: Path) -> list[Path]:
    """Every name under which Lark (1.x, ``cache=True``) looks for a cached parser of this grammar."""
    from lark.load_grammar import sha256_digest

    users = {getpass.getuser(), "unknown"}
    # the options archdsl's parser is made with (as it passed them to Lark with cache=True)
    base = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True, "maybe_placeholders": False}
    option_sets = [{**base, "cache": True}, {**base, "cache": True, "cache_grammar": True}]
    names = []
    for options in option_sets:
        options_str = "".join(k + str(v) for k, v in options.items())
        digest = sha256_digest(grammar_text() + options_str + lark.__version__ + str(sys.version_info[:2]))
        kind = "cache_grammar" if options.get("cache_grammar") else "cache"
        for user in users:
            names.append(folder / (f".lark_{kind}_{user}_{digest}_{sys.version_info[0]}_{sys.version_info[1]}.tmp"))
    return names


class _Plant:
    """Unpickling this creates the marker file: proof that a planted cache was loaded."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_cache_planted_in_a_shared_temp_folder_is_never_unpickled(tmp_path):
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    shared.chmod(0o1777)  # world-writable, like /tmp
    marker = tmp_path / "PWNED"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    names = _lark_cache_names(shared)
    for i, name in enumerate(names):
        if i % 2:  # a symbolic link at the name: a cache written there would overwrite the victim
            name.symlink_to(victim)
            continue
        name.write_bytes(b"0" * 64 + b"\n" + pickle.dumps(_Plant(marker)))
        if os.geteuid() == 0:
            os.chown(name, 65534, 65534)  # owned by another user ("nobody")
    spec = tmp_path / "a.arch"
    spec.write_text(SPEC)
    rc, out, _, _ = run(["check", str(spec)], tmp_path, env={"TMPDIR": str(shared)})
    assert rc == 0, out
    assert not marker.exists(), "a planted pickle was loaded"
    assert victim.read_text() == "precious\n"
    assert sorted(shared.iterdir()) == sorted(names)  # nothing added


AUDIT = r"""
import json, sys
events = []
def hook(event, args):
    if event == "open":
        events.append(("open", str(args[0])))
    elif event.startswith("pickle."):
        events.append((event, str(args)))
sys.addaudithook(hook)
import os
sys.argv = ["archdsl", *sys.argv[2:]]
out = os.environ["AUDIT_OUT"]
code = 0
try:
    from archdsl.cli import main
    main()
except SystemExit as exc:
    code = exc.code
with open(out, "w") as fh:
    json.dump({"code": code, "events": events}, fh)
"""


def test_archdsl_check_reads_nothing_from_the_temp_folder_and_unpickles_nothing(tmp_path):
    shared = tmp_path / "tmp"
    shared.mkdir()
    spec = tmp_path / "a.arch"
    spec.write_text("import std\n" + SPEC)
    report = tmp_path / "audit.json"
    env = {**os.environ, "TMPDIR": str(shared), "AUDIT_OUT": str(report), "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", AUDIT, "-", "check", str(spec)], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    result = json.loads(report.read_text())
    assert result["code"] == 0
    opened = [path for kind, path in result["events"] if kind == "open"]
    assert not [e for e in result["events"] if e[0].startswith("pickle.")]
    assert not [p for p in opened if "lark_cache" in p or p.startswith(str(shared))]
    assert str(spec) in opened  # the hook did see the reads
    assert list(shared.iterdir()) == []


def test_no_module_passes_cache_to_lark_or_unpickles():
    """Also the whole tree's code: no call with a ``cache=`` argument, no pickle.load(s)."""
    import ast

    offenders = []
    for f in [*ROOT.glob("archdsl/**/*.py"), *ROOT.glob("backends/**/*.py"), *ROOT.glob("grammars/*.py")]:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if any(k.arg == "cache" for k in node.keywords) or name in ("pickle.load", "pickle.loads", "Lark.load"):
                offenders.append(f"{f.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert offenders == []


# ---- item 5: regular files only, bounded reads --------------------------------------------------


def _importer(tmp_path: Path, target: str) -> Path:
    spec = tmp_path / "main.arch"
    spec.write_text(f'import "{target}"\n' + SPEC)
    return spec


def test_check_dev_zero_is_refused_quickly(tmp_path):
    rc, out, rss, _ = run(["check", "/dev/zero"], tmp_path)
    assert rc == 1, out
    assert "error[E602]: '/dev/zero' is a character device, not a regular file" in out
    assert "= help:" in out and "Traceback" not in out
    assert rss < 200


def test_import_of_dev_zero_is_a_located_error(tmp_path):
    _importer(tmp_path, "/dev/zero")
    rc, out, rss, _ = run(["check", "main.arch"], tmp_path)
    assert rc == 1, out
    assert "main.arch:1:1: error[E602]: '/dev/zero' is a character device" in out
    assert 'import "/dev/zero"' in out and "^^^" in out
    assert rss < 200


@pytest.mark.parametrize("where", ["root", "import"])
def test_a_fifo_is_refused_without_blocking(where, tmp_path):
    os.mkfifo(tmp_path / "pipe.arch")
    if where == "import":
        _importer(tmp_path, "pipe.arch")
    rc, out, _, _ = run(["check", "main.arch" if where == "import" else "pipe.arch"], tmp_path, timeout=20)
    assert rc == 1, out
    assert "'pipe.arch' is a named pipe (FIFO), not a regular file" in out
    assert ("main.arch:1:1: error[E602]" in out) == (where == "import")


def test_a_directory_and_a_socket_are_refused_at_the_import(tmp_path):
    (tmp_path / "folder.arch").mkdir()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(tmp_path / "sock.arch"))
        spec = tmp_path / "main.arch"
        spec.write_text('import "folder.arch"\nimport "sock.arch"\n' + SPEC)
        rc, out, _, _ = run(["check", "main.arch"], tmp_path)
    finally:
        sock.close()
    assert rc == 1, out
    assert "main.arch:1:1: error[E602]: 'folder.arch' is a directory" in out
    assert "main.arch:2:1: error[E602]: cannot read 'sock.arch'" in out
    assert out.count("= help: specs are read from regular files only") == 1


@pytest.mark.parametrize("where", ["root", "import"])
def test_a_200_mb_file_is_refused_in_bounded_memory(where, tmp_path):
    big = tmp_path / "big.arch"
    with big.open("wb") as fh:  # not sparse: reading it would really cost 200 MB
        block = b"# " + b"x" * (1 << 20) + b"\n"
        for _ in range(200):
            fh.write(block)
    if where == "import":
        _importer(tmp_path, "big.arch")
    rc, out, rss, _ = run(["check", "main.arch" if where == "import" else "big.arch"], tmp_path)
    assert rc == 1, out
    assert rss < 150, f"peak memory {rss:.0f} MB"
    assert "error[E105]" in out and "above the limit of 4,194,304" in out
    if where == "import":
        assert "main.arch:1:1: error[E105]" in out


def test_a_file_just_over_the_limit_is_e105_and_one_at_the_limit_is_read(tmp_path):
    from archdsl.syntax.parser import MAX_SOURCE_BYTES

    over = tmp_path / "over.arch"
    over.write_bytes(b" " * (MAX_SOURCE_BYTES + 1))
    with pytest.raises(DiagnosticError) as info:
        load_program(over)
    assert [d.code for d in info.value.diagnostics] == ["E105"]
    at = tmp_path / "at.arch"
    at.write_bytes(SPEC.encode() + b" " * (MAX_SOURCE_BYTES - len(SPEC)))
    assert "n" in load_program(at).nets


def test_text_handed_over_in_memory_has_the_same_size_limit():
    from archdsl.syntax.parser import MAX_SOURCE_BYTES

    with pytest.raises(DiagnosticError) as info:
        load_program("mem.arch", text=SPEC + " " * MAX_SOURCE_BYTES)
    assert [d.code for d in info.value.diagnostics] == ["E105"]


def test_deep_and_wide_imports_are_bounded(tmp_path):
    from archdsl.resolve.program import MAX_FILES, MAX_IMPORT_DEPTH

    deep = tmp_path / "deep"
    deep.mkdir()
    n = MAX_IMPORT_DEPTH + 5
    for i in range(n):
        nxt = f'import "f{i + 1}.arch"\n' if i + 1 < n else ""
        (deep / f"f{i}.arch").write_text(nxt + f"block b{i} {{\n    relu\n}}\n")
    rc, out, _, _ = run(["check", "f0.arch"], deep)
    assert rc == 1 and "error[E604]: imports are nested more than" in out, out
    assert "Traceback" not in out and "bug in archdsl" not in out

    wide = tmp_path / "wide"
    wide.mkdir()
    for i in range(MAX_FILES + 5):
        (wide / f"f{i}.arch").write_text(f"block b{i} {{\n    relu\n}}\n")
    (wide / "main.arch").write_text("".join(f'import "f{i}.arch"\n' for i in range(MAX_FILES + 5)) + SPEC)
    rc, out, _, _ = run(["check", "main.arch"], wide)
    assert rc == 1 and f"main.arch:{MAX_FILES}:1: error[E604]: too many files" in out, out


def test_too_many_tokens_is_refused_before_parsing(tmp_path):
    from archdsl.syntax.parser import MAX_TOKENS

    spec = tmp_path / "long.arch"
    spec.write_text("net n {\n    input x [3, 8, 8]\n    y = conv(" + "1+" * MAX_TOKENS + "1)\n}\n")
    rc, out, rss, seconds = run(["check", "long.arch"], tmp_path)
    assert rc == 1 and f"long.arch:3:{MAX_TOKENS - 2}: error[E105]: the file has more than" in out, out
    assert len(max(out.splitlines(), key=len)) < 200  # the quoted line is cut around the caret
    assert seconds < 20 and rss < 200


# ---- item 7: the spec hash depends on content only --------------------------------------------


def _project(tmp_path: Path) -> Path:
    proj = tmp_path / "proj"
    (proj / "lib").mkdir(parents=True)
    (proj / "common.arch").write_text("block act {\n    relu\n}\n")
    (proj / "lib" / "blocks.arch").write_text('import "../common.arch"\nblock unit(c) {\n    conv(c) -> bn -> act\n}\n')
    (proj / "main.arch").write_text(
        'import std\nimport "lib/blocks.arch"\nnet main {\n    input x [3, 32, 32]\n    y = unit(8) -> se\n}\n'
    )
    return proj


def test_the_source_hash_does_not_depend_on_how_the_path_is_spelled(tmp_path, monkeypatch):
    proj = _project(tmp_path)
    (tmp_path / "link").symlink_to(proj, target_is_directory=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "main-link.arch").symlink_to(proj / "main.arch")
    monkeypatch.chdir(tmp_path)
    spellings = [
        "proj/main.arch",
        "./proj/main.arch",
        str(proj / "main.arch"),
        "proj/lib/../main.arch",
        "link/main.arch",
        "elsewhere/main-link.arch",
    ]
    hashes = {s: load_graph(s).source_hash for s in spellings}
    assert len(set(hashes.values())) == 1, hashes
    monkeypatch.chdir(proj)
    assert load_graph("main.arch").source_hash == hashes["proj/main.arch"]


def test_the_cli_reports_the_same_hash_for_relative_and_absolute_paths(tmp_path):
    proj = _project(tmp_path)
    got = set()
    for spelling in ("main.arch", str(proj / "main.arch"), "./lib/../main.arch"):
        rc, out, _, _ = run(["show", spelling, "--json"], proj)
        assert rc == 0, out
        got.add(json.loads(out)["source_hash"])
    assert len(got) == 1


def test_the_source_hash_changes_with_any_imported_content(tmp_path):
    proj = _project(tmp_path)
    before = load_graph(proj / "main.arch").source_hash
    (proj / "common.arch").write_text("block act {\n    silu\n}\n")
    assert load_graph(proj / "main.arch").source_hash != before


# ---- item 14: locations, line ends, escaping --------------------------------------------------


def _check(tmp_path: Path, name: str, data: bytes, *args: str) -> tuple[int, str]:
    (tmp_path / name).write_bytes(data)
    rc, out, _, _ = run(["check", name, *args], tmp_path)
    return rc, out


def _under_caret(out: str) -> str:
    """The text of the quoted line above the first caret line, at the caret's columns."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^\s*\| ( *)(\^+)$", line)
        if m and i > 0:
            quoted = re.match(r"^\s*\d+ \| (.*)$", lines[i - 1]).group(1)
            start = len(m.group(1))
            return quoted[start : start + len(m.group(2))]
    raise AssertionError(f"no caret in:\n{out}")


def test_invalid_utf8_is_located_at_the_bad_byte(tmp_path):
    rc, out = _check(tmp_path, "bad.arch", b"net n {\n    input x [3, 8, 8]\n    y = conv(8) -> r\xffelu\n}\n")
    assert rc == 1
    assert out.startswith("bad.arch:3:21: error[E107]: 'bad.arch' is not UTF-8 text: invalid byte 0xff"), out
    assert _under_caret(out) == "\ufffd"
    (tmp_path / "bad.arch").write_bytes(b"\xef\xbb\xbfnet n {\r\n  # caf\xe9\r\n}\r\n")
    rc, out, _, _ = run(["check", "bad.arch", "--format", "json"], tmp_path)
    (d,) = json.loads(out)
    assert d["code"] == "E107" and (d["span"]["line"], d["span"]["col"]) == (2, 8)


def test_invalid_utf8_in_an_import_points_into_the_imported_file(tmp_path):
    (tmp_path / "lib.arch").write_bytes(b"block b {\n    relu # \xc3\x28\n}\n")
    _importer(tmp_path, "lib.arch")
    rc, out, _, _ = run(["check", "main.arch"], tmp_path)
    assert rc == 1
    assert "lib.arch:2:12: error[E107]" in out and "= note: imported at main.arch:1:1" in out, out


def test_a_bom_is_skipped_and_does_not_shift_columns(tmp_path):
    rc, out = _check(tmp_path, "bom.arch", b"\xef\xbb\xbf" + SPEC.encode())
    assert rc == 0, out
    plain = b"net n { input x [3, 8, 8] y = zzz }\n"
    rc, out = _check(tmp_path, "bom.arch", b"\xef\xbb\xbf" + plain)
    rc2, out2 = _check(tmp_path, "plain.arch", plain)
    assert rc == rc2 == 1
    assert out.replace("bom.arch", "plain.arch") == out2
    assert "\ufeff" not in out


def test_the_caret_is_under_the_token_after_tabs(tmp_path):
    data = b"net n {\n\tinput x [3, 8, 8]\n\t\ty =\tconv(8) ->\t zzz\n}\n"
    rc, out = _check(tmp_path, "tab.arch", data)
    assert rc == 1 and "tab.arch:3:19: error[E201]" in out, out  # a tab is one column, as in Lark
    assert "\t" not in out
    assert _under_caret(out) == "zzz"


@pytest.mark.parametrize("eol", [b"\r", b"\r\n", b"\n"], ids=["cr", "crlf", "lf"])
def test_lines_and_carets_agree_with_any_line_end(eol, tmp_path):
    lines = [b"# a comment", b"net n {", b"    input x [3, 8, 8]", b"    y = conv(8) -> zzz", b"}"]
    rc, out = _check(tmp_path, "eol.arch", eol.join(lines) + eol)
    assert rc == 1 and "eol.arch:4:20: error[E201]: unknown op or block 'zzz'" in out, out
    assert "4 |     y = conv(8) -> zzz" in out and _under_caret(out) == "zzz"
    rc, out = _check(tmp_path, "ok.arch", eol.join([b"# doc", *SPEC.encode().splitlines()]) + eol)
    assert rc == 0, out  # a comment ends at a CR too


@pytest.mark.parametrize("sep", ["\x0c", "\x0b", "\x85", "\u2028", "\x1c"])
def test_characters_python_splits_lines_at_do_not_shift_the_quoted_line(sep, tmp_path):
    text = f"# comment with {sep} inside\nnet n {{\n    input x [3, 8, 8]\n    y = conv(8) -> zzz\n}}\n"
    rc, out = _check(tmp_path, "sep.arch", text.encode())
    assert rc == 1 and "sep.arch:4:20" in out, out
    assert "4 |     y = conv(8) -> zzz" in out and _under_caret(out) == "zzz"


RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_control_characters_from_a_spec_are_escaped_in_text_output(tmp_path):
    text = (
        'import "\x1b]0;owned\x07.arch"\n'
        "net n {\n"
        "    input x [3, 8, 8]\n"
        '    y = upsample(mode = "\x1b[2J\x9b31m") -> conv(8)  # \u202eevil\n'
        "}\n"
    )
    rc, out = _check(tmp_path, "esc.arch", text.encode())
    assert rc == 1
    assert not RAW_CONTROL.search(out), repr(out)
    assert "file '\\x1b]0;owned\\x07.arch' not found" in out
    assert _under_caret(out) == 'import "\\x1b]0;owned\\x07.arch"'
    rc, out = _check(tmp_path, "esc.arch", text.replace("import", "# import").encode())
    assert rc == 1 and not RAW_CONTROL.search(out), repr(out)
    assert 'got a string "\\x1b[2J\\x9b31m"' in out and "# \\u202eevil" in out
    rc, out = _check(tmp_path, "esc.arch", b"net n {\n    y = zz\x1b[31m\n}\n")
    assert rc == 1 and not RAW_CONTROL.search(out), repr(out)
    assert "unexpected character '\\x1b'" in out and _under_caret(out) == "\\x1b"
    # JSON keeps the real characters (escaped the JSON way)
    rc, out = _check(tmp_path, "esc.arch", text.encode(), "--format", "json")
    assert not RAW_CONTROL.search(out)
    assert any("\x1b" in d["message"] for d in json.loads(out))


def test_a_file_name_with_control_characters_is_escaped(tmp_path):
    name = "evil\x1b[31m.arch"
    rc, out = _check(tmp_path, name, b"net n {\n    y = zzz\n}\n")
    assert rc == 1 and not RAW_CONTROL.search(out), repr(out)
    assert "evil\\x1b[31m.arch:2:" in out


def test_show_escapes_strings_from_the_spec(tmp_path):
    spec = tmp_path / "m.arch"
    spec.write_text(
        'net m {\n    input x [3, 8, 8]\n    meta {\n        paper = "\x1b]0;t\x07"\n    }\n    y = relu\n}\n'
    )
    rc, out, _, _ = run(["show", "m.arch"], tmp_path)
    assert rc == 0 and "paper = \\x1b]0;t\\x07" in out and not RAW_CONTROL.search(out), out


def test_the_caret_accounts_for_wide_and_escaped_characters():
    src = '    y = conv(8, tag = "漢字\x1b") -> zzz'
    sources = SourceMap()
    sources.add("w.arch", "net n {\n" + src + "\n}\n")
    col = src.index("zzz") + 1
    text = render_text(Diagnostic("E201", "unknown 'zzz'", Span("w.arch", 2, col, 2, col + 3)), sources)
    quoted, caret = text.splitlines()[2:4]
    shown = quoted.split(" | ", 1)[1]
    marks = caret.split(" | ", 1)[1]
    assert marks.strip() == "^^^"
    # display columns: a CJK character takes two cells; ESC is shown as the four characters \x1b
    assert "\\x1b" in shown
    before = shown[: shown.index("zzz")]
    assert len(marks) - 3 == sum(2 if ch in "漢字" else 1 for ch in before)

"""Hostile cases for `archdsl lint` that need files a spec case cannot carry.

Pathological configurations (globs that make a backtracking matcher explode, deep or dotted-key
TOML bombs, oversized, binary or special files as the configuration), reports aimed at the run's
inputs (a spec through a hard or symbolic link, the pyproject.toml, an imported spec, a results
file) and specs whose size or suppression comments used to make lint quadratic.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.hostile.harness import case

SPEC = """\
import std

net n {
    input image [3, 32, 32]
    stem = conv(16, k = 1, s = 2) -> bn -> relu
    stage1 = conv_bn_act(20) * 2
    head = gap -> flatten -> linear(10)
}
"""


def _spec(tmp: Path, name: str = "s.arch", text: str = SPEC) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _pyproject(tmp: Path, body: str | bytes) -> None:
    data = body.encode() if isinstance(body, str) else body
    (tmp / "pyproject.toml").write_bytes(data)


# ---- pathological configurations -------------------------------------------------------------


@case("lnt_glob_backtracking", argv="lint --preset attendnext {file:" + "a" * 60 + "/" + "a" * 150 + ".arch}")
def glob_backtracking(tmp: Path) -> None:
    """Nested ** globs against a long path: seconds to hours for a backtracking regex."""
    _spec(tmp, "a" * 60 + "/" + "a" * 150 + ".arch")
    globs = ["**a**a**a**a**a**a**a**a**b", "*a*a*a*a*a*a*a*a*a*a*b", "**/" * 40 + "b", "?*" * 100 + "b"]
    table = "".join(f'"{g}" = ["AD"]\n' for g in globs)
    _pyproject(tmp, f"[tool.archdsl.lint.per-file-ignores]\n{table}")


@case("lnt_glob_too_long", argv="lint {file:s.arch}", expect="2")
def glob_too_long(tmp: Path) -> None:
    _spec(tmp)
    _pyproject(tmp, f'[tool.archdsl.lint.per-file-ignores]\n"{"**a" * 5000}" = ["AD"]\n')


@case("lnt_glob_flood", argv="lint {file:s.arch}", expect="2")
def glob_flood(tmp: Path) -> None:
    """More per-file-ignores entries than any project needs."""
    _spec(tmp)
    table = "".join(f'"dir{i}/**/*a*a*a*.arch" = ["AD"]\n' for i in range(5000))
    _pyproject(tmp, f"[tool.archdsl.lint.per-file-ignores]\n{table}")


@case("lnt_toml_deep_arrays", argv="lint {file:s.arch}", expect="2")
def toml_deep_arrays(tmp: Path) -> None:
    """tomllib recurses per level: 100,000 levels would be a RecursionError (a traceback)."""
    _spec(tmp)
    _pyproject(tmp, "[tool.archdsl.lint]\nselect = " + "[" * 100_000 + "]" * 100_000 + "\n")


@case("lnt_toml_deep_inline_tables", argv="lint {file:s.arch} --config {file:lint.toml}", expect="2")
def toml_deep_inline_tables(tmp: Path) -> None:
    _spec(tmp)
    (tmp / "lint.toml").write_text("severity = " + "{a = " * 50_000 + "1" + "}" * 50_000 + "\n")


@case("lnt_toml_dotted_key_bomb", argv="lint {file:s.arch}", expect="2")
def toml_dotted_key_bomb(tmp: Path) -> None:
    """tomllib's work and memory grow with the square of a dotted key's length (10,000 parts: 400 MB)."""
    _spec(tmp)
    _pyproject(tmp, "[tool.archdsl]\n" + "a" + ".a" * 100_000 + " = 1\n")


@case("lnt_toml_table_name_bomb", argv="lint {file:s.arch} --config {file:lint.toml}", expect="2")
def toml_table_name_bomb(tmp: Path) -> None:
    _spec(tmp)
    (tmp / "lint.toml").write_text("[" + ".".join(['"x"'] * 100_000) + "]\n")


@case("lnt_toml_malformed", argv="lint {file:s.arch}", expect="2")
def toml_malformed(tmp: Path) -> None:
    _spec(tmp)
    _pyproject(tmp, '[tool.archdsl.lint]\nselect = ["AD"\nignore = ["AR203"]\n')


@case("lnt_toml_not_utf8", argv="lint {file:s.arch} --config {file:lint.toml}", expect="2")
def toml_not_utf8(tmp: Path) -> None:
    _spec(tmp)
    (tmp / "lint.toml").write_bytes(b'select = ["AD"]\nignore = ["\xff\xfe\x00"]\n')


@case("lnt_toml_binary", argv="lint {file:s.arch} --config {file:lint.toml}", expect="2")
def toml_binary(tmp: Path) -> None:
    _spec(tmp)
    (tmp / "lint.toml").write_bytes(bytes(range(256)) * 64)


@case("lnt_config_oversized", argv="lint {file:s.arch}", expect="2")
def config_oversized(tmp: Path) -> None:
    """A 64 MB pyproject.toml: refused by its size, never read whole."""
    _spec(tmp)
    with (tmp / "pyproject.toml").open("wb") as fh:
        fh.write(b"[tool.archdsl.lint]\n# ")
        fh.truncate(64 << 20)


@case("lnt_config_fifo", argv="lint {file:s.arch} --config {file:lint.toml}", expect="2")
def config_fifo(tmp: Path) -> None:
    """A FIFO as --config: opening it for reading would block forever."""
    _spec(tmp)
    os.mkfifo(tmp / "lint.toml")


@case("lnt_pyproject_fifo", argv="lint --preset attendnext {file:s.arch}")
def pyproject_fifo(tmp: Path) -> None:
    """A FIFO named pyproject.toml beside the spec is not a configuration: passed over, no blocking."""
    _spec(tmp)
    os.mkfifo(tmp / "pyproject.toml")


@case("lnt_config_wrong_types", argv="lint {file:s.arch}", expect="2")
def config_wrong_types(tmp: Path) -> None:
    _spec(tmp)
    _pyproject(tmp, "[tool.archdsl]\nlint = [1, 2]\n")


@case("lnt_results_fifo", argv="lint --preset attendnext {file:s.arch}", expect="2")
def results_fifo(tmp: Path) -> None:
    """The accuracy rule's results file is a FIFO."""
    _spec(tmp)
    os.mkfifo(tmp / "results.json")
    _pyproject(tmp, '[tool.archdsl.lint.rules.AD104]\nresults = "results.json"\n')


@case("lnt_results_deep_json", argv="lint --preset attendnext {file:s.arch}", expect="2")
def results_deep_json(tmp: Path) -> None:
    _spec(tmp)
    (tmp / "results.json").write_text("[" * 200_000 + "]" * 200_000)
    _pyproject(tmp, '[tool.archdsl.lint.rules.AD104]\nresults = "results.json"\n')


# ---- the report must never replace an input ---------------------------------------------------


@case("lnt_o_onto_pyproject", argv="lint {file:s.arch} -o {file:pyproject.toml}", expect="2")
def o_onto_pyproject(tmp: Path) -> None:
    _spec(tmp)
    _pyproject(tmp, '[tool.archdsl.lint]\nselect = ["AD"]\n')


@case("lnt_o_onto_config", argv="lint {file:s.arch} --config {file:lint.toml} -o {file:lint.toml}", expect="2")
def o_onto_config(tmp: Path) -> None:
    _spec(tmp)
    (tmp / "lint.toml").write_text('select = ["AD"]\n')


@case("lnt_o_hard_link_to_spec", argv="lint {file:s.arch} -o {file:report.txt}", expect="2")
def o_hard_link(tmp: Path) -> None:
    os.link(_spec(tmp), tmp / "report.txt")


@case("lnt_o_symlink_to_spec", argv="lint {file:s.arch} --format sarif -o {file:report.sarif}", expect="2")
def o_symlink(tmp: Path) -> None:
    _spec(tmp)
    os.symlink("s.arch", tmp / "report.sarif")


@case("lnt_o_onto_import", argv="lint {file:s.arch} -o {file:lib/blocks.arch}", expect="2")
def o_onto_import(tmp: Path) -> None:
    _spec(tmp, "lib/blocks.arch", "block unit(c) {\n    conv(c, k = 3) -> bn -> relu\n}\n")
    _spec(tmp, "s.arch", 'import "lib/blocks.arch"\n\nnet n {\n    input image [3, 32, 32]\n    x = unit(16)\n}\n')


@case("lnt_o_onto_results", argv="lint --preset attendnext {file:s.arch} -o {file:results.json}", expect="2")
def o_onto_results(tmp: Path) -> None:
    _spec(tmp)
    (tmp / "results.json").write_text('{"n": 70.0}')
    _pyproject(tmp, '[tool.archdsl.lint.rules.AD104]\nresults = "results.json"\n')


# ---- specs that made lint quadratic ----------------------------------------------------------


@case("lnt_spec_fifo_in_folder", argv="lint {tmp}", expect="4")
def spec_fifo_in_folder(tmp: Path) -> None:
    """A FIFO named *.arch found by the folder search: refused (E602), never opened for a blocking read."""
    _spec(tmp, "specs/ok.arch")
    os.mkfifo(tmp / "specs" / "pipe.arch")


@case("lnt_many_unused_blocks", argv="lint {file:s.arch}")
def many_unused_blocks(tmp: Path) -> None:
    blocks = "".join(f"block b{i}(c) {{\n    conv(c, k = 3)\n}}\n" for i in range(800))
    _spec(tmp, "s.arch", f"{blocks}net n {{\n    input image [3, 16, 16]\n    x = b0(8)\n}}\n")


@case("lnt_noqa_flood", argv="lint {file:s.arch}")
def noqa_flood(tmp: Path) -> None:
    """Thousands of file-level noqa comments, a line noqa with thousands of codes, many findings."""
    head = "".join(f"# archdsl: noqa-file AD10{i % 5 + 1} AR2{i % 100:02d}\n" for i in range(5000))
    codes = ", ".join(f"AR{200 + i % 800}" for i in range(20_000))
    blocks = "".join(f"block u{i}(c) {{\n    conv(c)\n}}\n" for i in range(800))
    body = f"block b0(c) {{  # archdsl: noqa {codes}\n    conv(c)\n}}\n{blocks}"
    _spec(tmp, "s.arch", f"{head}{body}net n {{\n    input image [3, 8, 8]\n    x = b0(8)\n}}\n")

"""Hostile cases of the resolver that are too large or too regular to keep as files.

Each writes a small spec whose expansion (not its size) is the attack: thousands of labelled
columns, an expression evaluated in every repetition, many nets re-resolving an expensive one,
names so long that the paths of nested ops fill memory. Every one must be refused by the work
budget (E506) or a size limit, quickly and in little memory.
"""

from __future__ import annotations

from pathlib import Path

from tests.hostile.harness import case

HEAD = "net n {\n    input x [3, 8, 8]\n"


def _write(tmp: Path, name: str, text: str) -> None:
    (tmp / name).write_text(text, encoding="utf-8")


@case("res_columns_labelled", argv="check {file:cols.arch}")
def columns_labelled(tmp: Path) -> None:
    """1024 labelled columns, each a repeat of a repeat that makes nothing."""
    cols = "".join(f"        c{i}: ((relu * 0) * 1000) * 1000\n" for i in range(1024))
    _write(tmp, "cols.arch", HEAD + '    y = columns(join = "add") {\n' + cols + "    }\n}\n")


@case("res_expression_per_repetition", argv="check {file:expr.arch}")
def expression_per_repetition(tmp: Path) -> None:
    """A 4096-term expression (balanced, so not deep) evaluated in each of 10,000 repetitions."""

    def balanced(depth: int) -> str:
        return "1" if depth == 0 else f"({balanced(depth - 1)} + {balanced(depth - 1)})"

    _write(tmp, "expr.arch", HEAD + f"    y = dropout(p = 0 * {balanced(12)}) * 10000\n}}\n")


@case("res_extends_many", argv="check {file:many.arch}")
def extends_many(tmp: Path) -> None:
    """300 nets extending one that costs a third of the budget: the file pays once, not 300 times."""
    text = "net p {\n    input x [3, 8, 8]\n    y = ((relu * 0) * 1000) * 25 -> relu\n}\n"
    text += "".join(f"net c{i} extends p {{ }}\n" for i in range(300))
    _write(tmp, "many.arch", text)


@case("res_long_paths", argv="check {file:paths.arch}")
def long_paths(tmp: Path) -> None:
    """30 nested blocks, each naming its statement with 10,000 letters: every op's path is 300 KB."""
    lines = []
    for i in range(30):
        inner = f"b{i + 1}()" if i < 29 else "relu * 10000"
        lines.append(f"block b{i}() {{\n    n{i}_{'a' * 10_000} = {inner}\n}}")
    _write(tmp, "paths.arch", "\n".join(lines) + "\n" + HEAD + "    y = b0()\n}\n")


@case("res_block_defaults", argv="check {file:defaults.arch}")
def block_defaults(tmp: Path) -> None:
    """A block with 500 computed defaults, used 10,000 times: every default is evaluated per use."""
    params = ", ".join(f"p{i} = {i} * 2 + 1" for i in range(500))
    _write(tmp, "defaults.arch", f"block wide({params}) {{ y = relu * 0 }}\n" + HEAD + "    y = wide() * 10000\n}\n")


@case("res_block_many_statements", argv="check {file:stmts.arch}")
def block_many_statements(tmp: Path) -> None:
    """A block of 500 statements that make nothing, used 10,000 times (each statement once rescanned
    the whole body: quadratic per use)."""
    body = "".join("    relu * 0\n" for _ in range(500))
    _write(tmp, "stmts.arch", f"block wide() {{\n{body}}}\n" + HEAD + "    y = wide * 10000\n}\n")


@case("res_columns_of_residuals", argv="check {file:res.arch}")
def columns_of_residuals(tmp: Path) -> None:
    """Columns of residuals of columns: scopes at every level, a merge at every level, no real work."""
    _write(
        tmp,
        "res.arch",
        HEAD + '    y = columns(1024, join = "add") { residual { columns(1024, join = "add") { relu * 0 } } }\n}\n',
    )


@case("res_many_similar_blocks", argv="check {file:blocks.arch}")
def many_similar_blocks(tmp: Path) -> None:
    """1,000 blocks and 1,000 calls of names one letter off theirs: every E201 wants a did-you-mean
    among 1,000 similar names (each once compared with all of them: 10 s, 4,000 took 2 minutes)."""
    blocks = "".join(f"block blk{i} {{ relu }}\n" for i in range(1000))
    uses = "".join(f"    y{i} = blx{i}\n" for i in range(1000))
    _write(tmp, "blocks.arch", blocks + HEAD + uses + "}\n")


@case("res_many_unknown_names", argv="check {file:names.arch}")
def many_unknown_names(tmp: Path) -> None:
    """2,500 statements, each using an unknown name: each E202 suggests among the names before it."""
    _write(tmp, "names.arch", HEAD + "".join(f"    y{i} = x -> conv(nosuch{i})\n" for i in range(2500)) + "}\n")


@case("res_many_unknown_after_bad_input", argv="check {file:poisoned.arch}")
def many_unknown_after_bad_input(tmp: Path) -> None:
    """A bad input, then 2,000 statements with unknown ops: each is looked up once (they were
    re-resolved, each scanning every name defined before it)."""
    body = "".join(f"    y{i} = nosuchop{i}(3)\n" for i in range(2000))
    _write(tmp, "poisoned.arch", "net n {\n    input x [0, 8, 8]\n" + body + "}\n")

"""The archdsl grammar files, installed as the package ``archdsl_grammars``.

The repository keeps grammars in the top-level ``grammars/`` folder; ``pyproject.toml`` maps that
folder to this package so the ``.lark`` files ship inside the wheel as package data, with
``arch_tables.json``: the parse tables generated from ``arch.lark`` by
``scripts/gen_parser_tables.py`` (see ``archdsl/syntax/tables.py``; plain JSON, never a pickle).
"""

from importlib.resources import files


def read_text(name: str) -> str:
    """A file of this package (and only of this package) as text."""
    return (files(__name__) / name).read_text(encoding="utf-8")


def grammar_text(name: str = "arch.lark") -> str:
    return read_text(name)

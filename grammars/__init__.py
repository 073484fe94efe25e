"""The archdsl grammar files, installed as the package ``archdsl_grammars``.

The repository keeps grammars in the top-level ``grammars/`` folder; ``pyproject.toml`` maps that
folder to this package so the ``.lark`` files ship inside the wheel as package data, with
``arch_tables.json``: the parse tables generated from ``arch.lark`` by
``scripts/gen_parser_tables.py`` (see ``archdsl/syntax/tables.py``; plain JSON, never a pickle).
"""

import os


def read_text(name: str) -> str:
    """A file of this package (and only of this package) as text: read next to this module when the
    package is a folder (no ``importlib.resources`` to import on the start-up of ``archdsl check``),
    through ``importlib.resources`` otherwise (a zipped install)."""
    if os.path.basename(name) != name:
        raise ValueError(f"not a file of this package: {name!r}")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            return f.read()
    from importlib.resources import files

    return (files(__name__) / name).read_text(encoding="utf-8")


def grammar_text(name: str = "arch.lark") -> str:
    return read_text(name)

"""The archdsl grammar files, installed as the package ``archdsl_grammars``.

The repository keeps grammars in the top-level ``grammars/`` folder; ``pyproject.toml`` maps that
folder to this package so the ``.lark`` files ship inside the wheel as package data.
"""

from importlib.resources import files


def grammar_text(name: str = "arch.lark") -> str:
    return (files(__name__) / name).read_text(encoding="utf-8")

"""A point of a space written back as a spec: ``net NAME extends NET(values)``, canonical and commented.

``archdsl explore`` writes every Pareto-optimal design this way; the file imports the spec that
defines the net (by a path relative to where it is written), so ``archdsl check`` and ``archdsl
lint`` read it like any variant.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from archdsl.fmt import format_text
from archdsl.space.loader import LoadedSpace, format_point

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def literal(v: Any) -> str:
    """``v`` as the language writes it (a string with its escapes, ``true``, ``none``, a number)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, str):
        return '"' + "".join(_ESCAPES.get(c, c) for c in v) + '"'
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"{v} has no literal in the language")
    return repr(v)


def variant_text(loaded: LoadedSpace, point: dict[str, Any], name: str, at: str | Path, doc: str = "") -> str:
    """The spec of ``point`` as net ``name``, to be written at path ``at``: it imports the file
    that defines the space's net and extends that net with the space's fixed values and the point.
    ``doc`` (lines of text) goes into the comment above the net. Formatted canonically."""
    space = loaded.space
    ndef = loaded.program.nets[space.net]
    source = ndef.span.file
    if source.startswith("<"):
        raise ValueError(f"net '{space.net}' comes from {source}, which a file cannot import")
    rel = os.path.relpath(os.path.abspath(source), os.path.abspath(Path(at).parent))
    values = {**space.fixed(), **point}
    args = ", ".join(f"{k} = {literal(v)}" for k, v in values.items())
    notes = [f"A point of search space '{space.name}' ({space.file}):", f"  {format_point(point)}"]
    notes += [line for line in doc.splitlines()]
    comment = "".join(f"# {line}".rstrip() + "\n" for line in notes)
    imp = "".join(_ESCAPES.get(c, c) for c in Path(rel).as_posix())
    text = f'import "{imp}"\n\n{comment}net {name} extends {space.net}({args})\n'
    return format_text(text, str(at))


__all__ = ["literal", "variant_text"]

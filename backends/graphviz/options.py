"""What the user can ask of a rendering: level of detail, roll-up, focus, shapes, theme, format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archdsl.diagnostics import did_you_mean

from .errors import OptionError
from .themes import THEMES

STAGES, BLOCKS, OPS = 1, 2, 3
DEPTH_NAMES = {"stages": STAGES, "blocks": BLOCKS, "ops": OPS}

FORMATS = ("dot", "svg", "png", "pdf")
EXTENSIONS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".pdf": "pdf"}


@dataclass(frozen=True)
class RenderOptions:
    """Options of one rendering. ``depth``: 1 stages, 2 blocks, 3 primitive ops.

    ``expand``: draw every iteration of a repeat instead of rolling identical ones up as one
    "×N" box. ``focus``: a path (stage, block, column ...): draw only what lies under it.
    ``shapes``: label edges with tensor shapes. ``rankdir``: ``LR`` (stages left to right) or ``TB``.
    """

    depth: int = BLOCKS
    expand: bool = False
    focus: str | None = None
    shapes: bool = False
    theme: str = "paper"
    rankdir: str = "LR"

    def __post_init__(self) -> None:
        if self.depth not in (STAGES, BLOCKS, OPS):
            raise option_error(f"depth must be 1, 2 or 3 (stages, blocks, ops), got {self.depth}")
        if self.theme not in THEMES:
            raise option_error(f"unknown theme '{self.theme}'", did_you_mean(self.theme, set(THEMES)), THEMES)
        if self.rankdir not in ("LR", "TB"):
            raise option_error(f"rankdir must be LR or TB, got {self.rankdir!r}")


def option_error(message: str, hint: str | None = None, known=None) -> OptionError:
    if hint is None and known:
        hint = "choose one of: " + ", ".join(sorted(known))
    return OptionError(message, hint)


def parse_depth(value: Any) -> int:
    """``1``/``2``/``3`` or ``stages``/``blocks``/``ops``."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value in (STAGES, BLOCKS, OPS):
            return value
    elif isinstance(value, str):
        v = value.strip().lower()
        if v in DEPTH_NAMES:
            return DEPTH_NAMES[v]
        if v in ("1", "2", "3"):
            return int(v)
    raise option_error(
        f"depth must be 1, 2 or 3 (or stages, blocks, ops), got {value!r}", "1 = stages, 2 = blocks, 3 = ops"
    )


def format_for(output: Path | None, fmt: str | None) -> str:
    """The output format: ``fmt`` when given, else from the file extension, else svg."""
    if fmt:
        f = fmt.lower().lstrip(".")
        if f == "gv":
            f = "dot"
        if f not in FORMATS:
            raise option_error(f"unknown format '{fmt}'", did_you_mean(f, set(FORMATS)), FORMATS)
        return f
    if output is not None and str(output) != "-":
        ext = output.suffix.lower()
        if ext in EXTENSIONS:
            return EXTENSIONS[ext]
        if ext:
            raise option_error(
                f"cannot tell the format from the extension '{ext}'",
                "use .dot, .gv, .svg, .png or .pdf, or pass --format",
            )
    return "svg" if output is None or str(output) != "-" else "dot"


def from_mapping(opts: dict[str, Any]) -> RenderOptions:
    """Options given as ``-O key=value`` to ``archdsl compile --backend graphviz``."""
    known = {"depth", "expand", "focus", "shapes", "theme", "rankdir", "format"}
    unknown = set(opts) - known
    if unknown:
        name = sorted(unknown)[0]
        raise option_error(f"unknown graphviz option '{name}'", did_you_mean(name, known), known)
    kw: dict[str, Any] = {}
    if "depth" in opts:
        kw["depth"] = parse_depth(opts["depth"])
    for flag in ("expand", "shapes"):
        if flag in opts:
            v = opts[flag]
            if isinstance(v, str):
                v = v.lower() in ("1", "true", "yes", "on")
            kw[flag] = bool(v)
    for text in ("focus", "theme", "rankdir"):
        if text in opts and opts[text] is not None:
            kw[text] = str(opts[text])
    return RenderOptions(**kw)

"""What the user can ask of a rendering: level of detail, roll-up, focus, shapes, theme, format.

:class:`RenderOptions` is what a drawing depends on; :class:`GraphvizOptions` (the backend's
``options_model``, published under ``archdsl.backend_options`` for ``archdsl compile --help``)
adds the output ``format`` of ``archdsl compile --backend graphviz -O format=...``. Both are
pydantic models validated by the hook (:class:`archdsl.backend.Options`): an unknown key is
``B004`` with a did-you-mean, a bad value ``B005``, an unknown format ``B006``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator

from archdsl.backend import OptionError, OptionProblem, Options, choose_format
from archdsl.diagnostics import did_you_mean

from .themes import THEMES

STAGES, BLOCKS, OPS = 1, 2, 3
DEPTH_NAMES = {"stages": STAGES, "blocks": BLOCKS, "ops": OPS}

RENDER_FORMATS = {"dot": (".dot", ".gv"), "svg": (".svg",), "png": (".png",), "pdf": (".pdf",)}
FORMATS = tuple(RENDER_FORMATS)
EXTENSIONS = {ext: f for f, exts in RENDER_FORMATS.items() for ext in exts}
DEFAULT_FORMAT = "svg"  # for files
STDOUT_FORMAT = "dot"  # for `-o -`: text, not an image on a terminal


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
    raise OptionProblem(
        f"depth must be 1, 2 or 3 (or stages, blocks, ops), got {value!r}", "1 = stages, 2 = blocks, 3 = ops"
    )


class RenderOptions(Options):
    """Options of one rendering. ``depth``: 1 stages, 2 blocks, 3 primitive ops.

    ``expand``: draw every iteration of a repeat instead of rolling identical ones up as one
    "×N" box. ``focus``: a path (stage, block, column ...): draw only what lies under it.
    ``shapes``: label edges with tensor shapes. ``rankdir``: ``LR`` (stages left to right) or ``TB``.
    """

    backend: ClassVar[str] = "graphviz"

    depth: int = Field(BLOCKS, description="level of detail: 1|stages, 2|blocks, 3|ops")
    expand: bool = Field(False, description="draw every iteration of a repeat instead of one ×N box")
    focus: str | None = Field(None, description="draw only the stage, block or column at this path")
    shapes: bool = Field(False, description="label the edges with tensor shapes")
    theme: str = Field("paper", description="colours: " + ", ".join(THEMES))
    rankdir: str = Field("LR", description="LR: stages left to right; TB: top to bottom")

    @field_validator("depth", mode="before")
    @classmethod
    def _depth(cls, value: Any) -> int:
        return parse_depth(value)

    @field_validator("theme")
    @classmethod
    def _theme(cls, theme: str) -> str:
        if theme not in THEMES:
            raise OptionProblem(
                f"unknown theme '{theme}'", did_you_mean(theme, set(THEMES)) or "choose one of: " + ", ".join(THEMES)
            )
        return theme

    @field_validator("rankdir")
    @classmethod
    def _rankdir(cls, rankdir: str) -> str:
        if rankdir not in ("LR", "TB"):
            raise OptionProblem(f"rankdir must be LR or TB, got {rankdir!r}", "LR: left to right; TB: top to bottom")
        return rankdir


class GraphvizOptions(RenderOptions):
    """The graphviz backend's ``-O`` options: a rendering's, and the output format."""

    format: str | None = Field(None, description="dot, svg, png or pdf; default: from the output's extension, or svg")

    @field_validator("format")
    @classmethod
    def _format(cls, fmt: str | None) -> str | None:
        if fmt is None:
            return None
        try:
            return choose_format(RENDER_FORMATS, None, fmt, DEFAULT_FORMAT)
        except OptionError as exc:  # B006, raised again the way a validator must
            d = exc.diagnostics[0]
            raise OptionProblem(d.message, d.help, code=d.code) from None

    def drawing(self) -> RenderOptions:
        """The options the figure depends on (everything but the format)."""
        return RenderOptions(**self.model_dump(exclude={"format"}))


def format_for(output: Path | None, fmt: str | None) -> str:
    """The output format: ``fmt`` when given, else from the file extension, else svg (dot for ``-``)."""
    to_stdout = output is not None and str(output) == "-"
    return choose_format(RENDER_FORMATS, output, fmt, STDOUT_FORMAT if to_stdout else DEFAULT_FORMAT, to_stdout)

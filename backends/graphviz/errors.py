"""Errors of the graphviz backend, as location-less diagnostics (codes: :mod:`archdsl.codes`).

``OptionError`` is the hook's (:class:`archdsl.backend.OptionError`: ``B004`` an unknown option,
``B005`` a bad value, ``B006`` an unknown format; exit 2 from the command line), raised by the
options model and by ``--focus`` paths that name nothing. ``MissingPackage`` (``B003``),
``DotNotFound`` (``B301``) and ``DotFailed`` (``B302``) are the tool's (exit 3): the ``graphviz``
Python package or the Graphviz installation missing, or ``dot`` failing.
"""

from __future__ import annotations

from archdsl.backend import OptionError
from archdsl.diagnostics import Diagnostic, DiagnosticError

__all__ = ["INSTALL_HELP", "DotFailed", "DotNotFound", "MissingPackage", "OptionError", "RenderError"]

INSTALL_HELP = (
    "install Graphviz: Debian/Ubuntu `sudo apt-get install graphviz`, Fedora `sudo dnf install graphviz`, "
    "macOS `brew install graphviz`, conda `conda install -c conda-forge graphviz`, Windows "
    "`winget install graphviz`; or write DOT text, which needs no Graphviz, with --format dot "
    "(or an output file ending in .dot)"
)


class RenderError(DiagnosticError):
    """A failure of the tools the renderer drives; each subclass has its code."""

    code: str

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(Diagnostic(self.code, message, None, help=hint))
        self.message = message
        self.hint = hint


class DotNotFound(RenderError):
    code = "B301"

    def __init__(self, fmt: str) -> None:
        super().__init__(f"the Graphviz 'dot' program was not found on PATH; it is needed to write {fmt}", INSTALL_HELP)


class DotFailed(RenderError):
    code = "B302"


class MissingPackage(RenderError):
    code = "B003"

    def __init__(self) -> None:
        super().__init__(
            "the graphviz backend needs the Python package 'graphviz', which is not installed",
            "pip install 'archdsl[render]'",
        )

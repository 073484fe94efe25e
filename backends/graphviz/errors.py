"""Errors of the graphviz backend, as located-less diagnostics the CLI knows how to report.

``OptionError`` is the user's mistake in an option (exit 2 from the CLI); ``MissingPackage``,
``DotNotFound`` and ``DotFailed`` are the tool's (exit 3): the ``graphviz`` Python package or the
Graphviz installation missing, or ``dot`` failing.
"""

from __future__ import annotations

from archdsl.diagnostics import Diagnostic, DiagnosticError

INSTALL_HELP = (
    "install Graphviz: Debian/Ubuntu `sudo apt-get install graphviz`, Fedora `sudo dnf install graphviz`, "
    "macOS `brew install graphviz`, conda `conda install -c conda-forge graphviz`, Windows "
    "`winget install graphviz`; or write DOT text, which needs no Graphviz, with --format dot "
    "(or an output file ending in .dot)"
)


class RenderError(DiagnosticError):
    code = "B100"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(Diagnostic(self.code, message, None, help=hint))
        self.message = message
        self.hint = hint


class OptionError(RenderError):
    code = "B101"


class DotNotFound(RenderError):
    code = "B102"

    def __init__(self, fmt: str) -> None:
        super().__init__(f"the Graphviz 'dot' program was not found on PATH; it is needed to write {fmt}", INSTALL_HELP)


class DotFailed(RenderError):
    code = "B103"


class MissingPackage(RenderError):
    code = "B003"

    def __init__(self) -> None:
        super().__init__(
            "the graphviz backend needs the Python package 'graphviz', which is not installed",
            "pip install 'archdsl[render]'",
        )

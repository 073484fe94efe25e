"""``archdsl lsp``: run the language server on stdin/stdout (for editors; see docs/editors.md)."""

from __future__ import annotations

import typer

from archdsl.cli import app
from archdsl.cli.common import fail_tool


@app.command(epilog="Editors start it themselves; docs/editors.md shows how (VS Code, Neovim, Helix, Emacs).")
def lsp(
    stdio: bool = typer.Option(
        True, "--stdio", help="Talk LSP over stdin/stdout (the only transport; accepted for editors that pass it)."
    ),
) -> None:
    """Run the archdsl language server: diagnostics, hover with shapes/parameters/MACs, go to
    definition, references, completion, outline, formatting and quick fixes.

    Needs pygls: pip install 'archdsl[lsp]'.
    """
    try:
        from archdsl.lsp.server import serve
    except ImportError as exc:
        raise fail_tool(f"the language server needs pygls ({exc.name or exc})", "pip install 'archdsl[lsp]'") from None
    serve()

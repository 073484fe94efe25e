"""The language server's features, one module each; every one works from a
:class:`~archdsl.lsp.documents.Document` and its analyses and never raises for a spec's text."""

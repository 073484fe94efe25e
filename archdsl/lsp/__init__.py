"""The archdsl language server (``archdsl lsp``): diagnostics, hover with shapes, parameters and
MACs, go to definition, references, completion, outline, formatting and quick fixes for editors.

Modules: :mod:`~archdsl.lsp.server` (pygls wiring, debouncing), :mod:`~archdsl.lsp.documents`
(open documents, views of older analyses), :mod:`~archdsl.lsp.analysis` (check + lint on the
text), :mod:`~archdsl.lsp.incremental` (re-parsing only what changed), :mod:`~archdsl.lsp.positions`
(spans ↔ LSP positions in UTF-16), :mod:`~archdsl.lsp.index` (names and what they mean),
:mod:`~archdsl.lsp.irinfo` (from text to IR numbers), :mod:`~archdsl.lsp.signatures`, and one
module per feature in :mod:`archdsl.lsp.features`. Needs ``pygls`` (the ``lsp`` extra); imports
neither torch nor onnx. docs/editors.md describes it for users.
"""

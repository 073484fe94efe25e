"""The language server (pygls 2.x over stdio): documents in, diagnostics out, requests answered.

Each open document is analysed (:func:`archdsl.lsp.analysis.analyze`: ``archdsl check`` and
``archdsl lint`` on the text in the editor) on open and after changes, *debounced*: a change
waits ``debounceMs`` (30 ms by default) for the next one, and changes that arrive while an
analysis runs are taken together by the next. Analyses run one at a time in a worker thread, so
requests are answered meanwhile, from the latest finished analysis (:mod:`archdsl.lsp.documents`
lines it up with the current text). Diagnostics are published only for the text they were made
from, with its version.

After an analysis is published, its indexes (the names of the text, the IR by span) are built in
a second thread, so that the first hover does not wait for them.

Every handler is wrapped: whatever a spec's text does, a request gets an answer (maybe empty) and
the server goes on; an unexpected exception is logged to the client (``window/logMessage``),
never raised into pygls. The server imports neither torch nor onnx.

The documents are kept here, not in pygls's workspace: incremental changes are applied with LSP's
line model (``\\n``, ``\\r\\n``, ``\\r``), where pygls would also split lines at characters like
U+2028 and disagree with the client about positions.

Initialisation options: ``debounceMs`` (int), ``lint`` (bool: false publishes only the compiler's
errors), ``docsUrl`` (base URL of the docs folder, for the links of rule codes).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from archdsl import __version__
from archdsl.lsp.analysis import Analysis, analyze
from archdsl.lsp.documents import Document, document_path
from archdsl.lsp.features.diagnostics import default_docs_url, diagnostics
from archdsl.lsp.positions import UTF16, apply_change

DEBOUNCE_S = 0.03
log = logging.getLogger("archdsl.lsp")


class _Protocol(LanguageServerProtocol):
    """pygls's protocol, with the text synchronisation left to :class:`ArchdslServer`."""

    def _user(self, method: str, params):
        handler = self.fm.features.get(method)
        if handler is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params):
        yield from self._user(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params):
        yield from self._user(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params):
        yield from self._user(types.TEXT_DOCUMENT_DID_CLOSE, params)


class ArchdslServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "archdsl",
            __version__,
            protocol_cls=_Protocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.docs: dict[str, Document] = {}
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archdsl-analysis")
        self.warmer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archdsl-index")
        self.debounce = DEBOUNCE_S
        self.lint = True
        self.docs_url = default_docs_url()
        self.shown: set[str] = set()

    # ---- helpers ------------------------------------------------------------------------
    @property
    def encoding(self) -> str:
        try:
            enc = self.workspace.position_encoding
        except RuntimeError:  # not initialised yet
            return UTF16
        return str(getattr(enc, "value", enc) or UTF16)

    def log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        try:
            self.window_log_message(types.LogMessageParams(type=kind, message=message))
        except Exception:  # no transport (a test calling a handler directly)
            log.warning("%s", message)

    def notice(self, message: str) -> None:
        """Tell the user once (a broken lint configuration, a rule that crashed)."""
        if message in self.shown:
            return
        self.shown.add(message)
        self.log(message, types.MessageType.Warning)
        try:
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=message))
        except Exception:
            log.warning("%s", message)

    def doc(self, uri: str) -> Document | None:
        return self.docs.get(uri)

    # ---- analysis scheduling -------------------------------------------------------------
    def schedule(self, doc: Document, delay: float) -> None:
        doc.dirty = True
        if doc.sleeper is not None:
            doc.sleeper.cancel()
        doc.sleeper = asyncio.ensure_future(self._after(doc, delay))

    async def _after(self, doc: Document, delay: float) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            return
        doc.sleeper = None
        if doc.worker is None and not doc.closed:
            doc.worker = asyncio.ensure_future(self._work(doc))

    async def _work(self, doc: Document) -> None:
        loop = asyncio.get_running_loop()
        try:
            while doc.dirty and not doc.closed and doc.sleeper is None:
                doc.dirty = False
                text, version = doc.text, doc.version
                analysis = await loop.run_in_executor(self.executor, self._analyze, doc, text, version)
                if analysis is None or doc.closed:
                    continue
                doc.record(analysis)
                for notice in analysis.notices:
                    self.notice(f"archdsl lint: {notice}")
                if doc.version == version and doc.text == text:
                    self.publish(doc, analysis)
                loop.run_in_executor(self.warmer, _warm, analysis)
        except Exception:
            self.log("archdsl: analysis failed:\n" + traceback.format_exc(), types.MessageType.Error)
        finally:
            doc.worker = None
            if doc.dirty and doc.sleeper is None and not doc.closed:  # a change came in at the very end
                doc.worker = asyncio.ensure_future(self._work(doc))

    def _analyze(self, doc: Document, text: str, version: int | None) -> Analysis | None:
        """In the worker thread: analyse, and never let an exception out."""
        try:
            return analyze(text, doc.path, doc.parser, version=version, lint=self.lint)
        except Exception:
            self.log(f"archdsl: internal error analysing {doc.uri}:\n{traceback.format_exc()}", types.MessageType.Error)
            return None

    def publish(self, doc: Document, analysis: Analysis) -> None:
        lines = doc.lines(self.encoding)
        diags = diagnostics(analysis, lines, self.docs_url)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=doc.uri, version=analysis.version, diagnostics=diags)
        )


def _warm(analysis: Analysis) -> None:
    """Build an analysis's indexes (names, graphs) before the first hover asks for them."""
    from archdsl.lsp import lookup

    try:
        lookup.index_for(analysis)
        lookup.infos(analysis)
    except Exception:  # the request that needs them will build them again, and report
        log.debug("warming the indexes failed", exc_info=True)


def _safe(server: ArchdslServer, name: str, default: Any = None) -> Callable:
    """Wrap a handler: an exception is logged and answered with ``default``."""

    def wrap(fn):
        if asyncio.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(params):
                try:
                    return await fn(params)
                except Exception:
                    server.log(f"archdsl: {name} failed:\n{traceback.format_exc()}", types.MessageType.Error)
                    return default

            return run_async

        @functools.wraps(fn)
        def run(params):
            try:
                return fn(params)
            except Exception:
                server.log(f"archdsl: {name} failed:\n{traceback.format_exc()}", types.MessageType.Error)
                return default

        return run

    return wrap


def create_server() -> ArchdslServer:
    from archdsl.lsp.features import code_actions, completion, formatting, hover, navigation, symbols

    server = ArchdslServer()

    def feature(method: str, options: Any = None, default: Any = None):
        def register(fn):
            server.feature(method, options)(_safe(server, method, default)(fn))
            return fn

        return register

    @feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        opts = params.initialization_options if isinstance(params.initialization_options, dict) else {}
        if isinstance(opts.get("debounceMs"), (int, float)) and not isinstance(opts.get("debounceMs"), bool):
            server.debounce = max(0.0, min(float(opts["debounceMs"]) / 1000, 5.0))
        if isinstance(opts.get("lint"), bool):
            server.lint = opts["lint"]
        if isinstance(opts.get("docsUrl"), str) and opts["docsUrl"]:
            server.docs_url = opts["docsUrl"].rstrip("/") + "/"

    @feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        td = params.text_document
        old = server.docs.get(td.uri)
        if old is not None:
            old.closed = True
        doc = Document(td.uri, td.text, td.version, document_path(td.uri), td.language_id or "archdsl")
        server.docs[td.uri] = doc
        server.schedule(doc, 0)

    @feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        doc = server.docs.get(params.text_document.uri)
        if doc is None:
            return
        text = doc.text
        for change in params.content_changes:
            text = apply_change(text, change, server.encoding)
        doc.set_text(text, params.text_document.version)
        server.schedule(doc, server.debounce)

    @feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        for doc in server.docs.values():  # specs that import the saved file read it from disk
            if doc.uri != params.text_document.uri:
                server.schedule(doc, server.debounce)

    @feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        doc = server.docs.pop(params.text_document.uri, None)
        if doc is None:
            return
        doc.closed = True
        if doc.sleeper is not None:
            doc.sleeper.cancel()
        server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=doc.uri, diagnostics=[]))

    @feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(params: types.HoverParams):
        doc = server.doc(params.text_document.uri)
        return hover.hover(doc, params.position, server.encoding) if doc else None

    @feature(types.TEXT_DOCUMENT_DEFINITION)
    def on_definition(params: types.DefinitionParams):
        doc = server.doc(params.text_document.uri)
        return navigation.definition(doc, params.position, server.encoding) if doc else None

    @feature(types.TEXT_DOCUMENT_REFERENCES)
    def on_references(params: types.ReferenceParams):
        doc = server.doc(params.text_document.uri)
        if doc is None:
            return None
        include = bool(params.context and params.context.include_declaration)
        return navigation.references(doc, params.position, server.encoding, include, list(server.docs.values()))

    @feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=["(", ",", ">", '"']),
        default=types.CompletionList(is_incomplete=False, items=[]),
    )
    def on_completion(params: types.CompletionParams):
        doc = server.doc(params.text_document.uri)
        if doc is None:
            return types.CompletionList(is_incomplete=False, items=[])
        return completion.completion(doc, params.position, server.encoding)

    @feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, default=[])
    def on_symbols(params: types.DocumentSymbolParams):
        doc = server.doc(params.text_document.uri)
        return symbols.document_symbols(doc, server.encoding) if doc else []

    @feature(types.TEXT_DOCUMENT_FORMATTING)
    def on_formatting(params: types.DocumentFormattingParams):
        doc = server.doc(params.text_document.uri)
        if doc is None:
            return None
        try:
            return formatting.formatting(doc, server.encoding)
        except formatting.FormatterMissing as exc:
            server.notice(f"archdsl: formatting needs the formatter (archdsl.fmt): {exc}")
            return None

    @feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
        default=[],
    )
    def on_code_action(params: types.CodeActionParams):
        doc = server.doc(params.text_document.uri)
        return code_actions.code_actions(doc, params, server.encoding) if doc else []

    return server


class _OneLine(logging.Formatter):
    """Log records on stderr (the editor's log of the server) as one line each: what pygls reports
    about a malformed message is the client's problem, not a traceback of ours. ARCHDSL_DEBUG=1
    keeps the tracebacks."""

    def formatException(self, ei) -> str:
        return "" if not os.environ.get("ARCHDSL_DEBUG") else super().formatException(ei)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if os.environ.get("ARCHDSL_DEBUG"):
            return text
        return text.strip().split("\n", 1)[0]  # a message that embeds a traceback: its first line


def serve() -> None:
    """Run the server on stdin/stdout until the client says exit."""
    handler = logging.StreamHandler()
    handler.setFormatter(_OneLine("archdsl lsp: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if os.environ.get("ARCHDSL_DEBUG") else logging.WARNING)
    create_server().start_io()

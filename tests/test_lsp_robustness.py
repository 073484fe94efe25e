"""Broken text never breaks the language server: random edits of real specs, then every request.

In process, each feature is called directly on the mutated text and must return without raising
(the server would swallow an exception, but it would be a bug). Through the real server (pytest-lsp,
as tests/test_lsp.py), a sequence of random edits is sent as incremental changes with requests in
between; every request must be answered without a JSON-RPC error, the server must log no internal
error and must publish the diagnostics of the last version.
"""

from __future__ import annotations

import asyncio
import random

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from lsprotocol import types  # noqa: E402
from pytest_lsp import LanguageClient, client_capabilities  # noqa: E402

from archdsl.lsp.analysis import analyze  # noqa: E402
from archdsl.lsp.documents import Document  # noqa: E402
from archdsl.lsp.features import code_actions, completion, hover, navigation, symbols  # noqa: E402
from archdsl.lsp.features.diagnostics import diagnostics  # noqa: E402
from archdsl.lsp.positions import LineIndex  # noqa: E402
from tests.conftest import ROOT, SPECS  # noqa: E402
from tests.test_lsp import LOG_FILE, Doc, server_config, wait_diagnostics  # noqa: E402

SOURCES = [ROOT / "specs" / "attendnext.arch", *SPECS[:6], ROOT / "archdsl" / "stdlib" / "std.arch"]
PIECES = [
    "(", ")", "{", "}", "[", "]", ",", "=", "->", "*", '"', "#", "\n", "\r\n", "\r", " ", "\t", "net", "block",
    "import", "x", "in", "in.", "conv(", "conv(8)", "k = ", "block b(c) {", "net n {", "}\n", "😀", "é", "\u2028",
    "1e99", "99999999999999999999", "first(s = 2)", "columns(2) {", "residual {", "shortcut {", "* 3", "if",
    '"unterminated', "# archdsl: noqa", "extends", "import \"nowhere.arch\"", "\x00", "\ufeff", "mul(a, ",
]  # fmt: skip


@st.composite
def edit_script(draw):
    """A source spec and a few edits: (start fraction, length to delete, text to insert)."""
    source = draw(st.sampled_from(SOURCES))
    edits = draw(
        st.lists(
            st.tuples(st.floats(0, 1), st.integers(0, 40), st.lists(st.sampled_from(PIECES), max_size=3).map("".join)),
            min_size=1,
            max_size=6,
        )
    )
    probes = draw(st.lists(st.floats(0, 1), min_size=1, max_size=4))
    return source, edits, probes


def _off_crlf(text: str, i: int) -> int:
    """``i``, or the offset before a CR LF it would split (an LSP position cannot name that spot)."""
    return i - 1 if 0 < i < len(text) and text[i - 1] == "\r" and text[i] == "\n" else i


def _apply(text: str, edit) -> tuple[str, int, int, str]:
    frac, cut, new = edit
    a = _off_crlf(text, int(frac * len(text)))
    b = _off_crlf(text, min(len(text), a + cut))
    return text[:a] + new + text[b:], a, b, new


def _positions(text: str, probes) -> list[types.Position]:
    idx = LineIndex(text)
    return [idx.position(int(p * len(text))) for p in probes]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit_script())
def test_features_never_raise_on_mutated_text(script):
    source, edits, probes = script
    text = source.read_text()
    path = source
    doc = Document(path.as_uri(), text, 0, path)
    doc.record(analyze(text, path, doc.parser, 0, isolated=True))
    for v, e in enumerate(edits, 1):
        text = _apply(text, e)[0]
        doc.set_text(text, v)
        if v % 2 == 0 or v == len(edits):
            doc.record(analyze(text, path, doc.parser, v, isolated=True))
        for pos in _positions(text, probes):
            hover.hover(doc, pos, "utf-16")
            navigation.definition(doc, pos, "utf-16")
            navigation.references(doc, pos, "utf-16", True, [doc])
            completion.completion(doc, pos, "utf-16")
        symbols.document_symbols(doc, "utf-16")
    if doc.latest.text == text:
        diags = diagnostics(doc.latest, doc.lines(), None)
        params = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=doc.uri),
            range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
            context=types.CodeActionContext(diagnostics=diags),
        )
        code_actions.code_actions(doc, params, "utf-16")


# ---- through the real server ---------------------------------------------------------------


@pytest_lsp.fixture(config=server_config(LOG_FILE.with_suffix(".robust.log")), scope="module")
async def client(lsp_client: LanguageClient):
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=ROOT.as_uri(),
        initialization_options={"debounceMs": 5},
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


async def _requests(client, doc: Doc, pos: types.Position) -> None:
    ident = doc.ident()
    await client.text_document_hover_async(types.HoverParams(text_document=ident, position=pos))
    await client.text_document_definition_async(types.DefinitionParams(text_document=ident, position=pos))
    await client.text_document_completion_async(types.CompletionParams(text_document=ident, position=pos))
    await client.text_document_references_async(
        types.ReferenceParams(
            text_document=ident, position=pos, context=types.ReferenceContext(include_declaration=True)
        )
    )
    await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=ident))


@pytest.mark.asyncio(loop_scope="module")
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(script=edit_script(), seed=st.integers(0, 2**32))
async def test_random_edits_never_crash_the_server(client, script, seed):
    source, edits, probes = script
    rnd = random.Random(seed)
    doc = Doc(client, source)
    for e in edits:
        lines = LineIndex(doc.text)
        new_text, a, b, new = _apply(doc.text, e)
        rng = types.Range(start=lines.position(a), end=lines.position(b))
        doc.edit(rng, new)
        assert doc.text == new_text
        if rnd.random() < 0.5:
            await asyncio.sleep(rnd.choice([0, 0.002, 0.02]))
        for pos in _positions(doc.text, probes):
            await _requests(client, doc, pos)
    diags = await wait_diagnostics(client, doc.uri, doc.version)
    assert all(isinstance(d, types.Diagnostic) for d in diags)
    failures = [m.message for m in client.log_messages if m.type == types.MessageType.Error]
    assert failures == []
    diags_after = await doc.diagnostics()
    assert diags_after == diags
    doc.close()

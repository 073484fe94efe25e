"""``archdsl lsp`` end to end: a real LSP client (pytest-lsp) spawns the server and talks to it.

The server runs with torch, onnx, onnxruntime, graphviz and numpy blocked (as in
tests/test_cli_core.py); every import it tries of them is written to a file that must stay empty.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types  # noqa: E402
from pygls.protocol import default_converter  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features  # noqa: E402

from tests.conftest import ROOT  # noqa: E402

ATTENDNEXT = ROOT / "specs" / "attendnext.arch"
STD = ROOT / "archdsl" / "stdlib" / "std.arch"
PUBLISH = types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS
TIMEOUT = 60

BLOCKER = """
import os, sys
LOG = os.environ["ARCHDSL_TEST_IMPORT_LOG"]
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'torch', 'onnx', 'onnxruntime', 'graphviz', 'numpy'}:
            with open(LOG, 'a') as f:
                f.write(name + '\\n')
            raise ImportError('blocked heavy import: ' + name)
sys.meta_path.insert(0, Block())
sys.argv = ['archdsl', 'lsp']
from archdsl.cli import main
main()
"""


def make_client() -> LanguageClient:
    """pytest-lsp's client, recording every publishDiagnostics with its version."""
    client = LanguageClient(converter_factory=default_converter)
    features = {k: v for k, v in DEFAULT_CLIENT_FEATURES.items() if k != PUBLISH}
    register_lsp_features(client, features)
    client.published = []

    @client.feature(PUBLISH)
    def on_publish(params: types.PublishDiagnosticsParams):
        client.published.append(params)
        client.diagnostics[params.uri] = params.diagnostics

    return client


async def wait_diagnostics(client, uri: str, version: int) -> list[types.Diagnostic]:
    """The diagnostics published for ``uri`` at ``version`` (waits for them)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while loop.time() < deadline:
        for p in reversed(client.published):
            if p.uri == uri and p.version == version:
                return list(p.diagnostics)
        await asyncio.sleep(0.01)
    raise AssertionError(f"no diagnostics for {uri} version {version} within {TIMEOUT} s")


def server_config(log: Path) -> ClientServerConfig:
    env = {**os.environ, "ARCHDSL_TEST_IMPORT_LOG": str(log), "PYTHONPATH": str(ROOT)}
    return ClientServerConfig(
        server_command=[sys.executable, "-c", BLOCKER], client_factory=make_client, server_env=env
    )


LOG_FILE = Path(os.environ.get("TMPDIR", "/tmp")) / f"archdsl-lsp-imports-{os.getpid()}.log"


@pytest_lsp.fixture(config=server_config(LOG_FILE), scope="module")
async def client(lsp_client: LanguageClient):
    LOG_FILE.unlink(missing_ok=True)
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=ROOT.as_uri(),
        initialization_options={"debounceMs": 0},
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


class Doc:
    """An open document of the session: its text and version, changed through the client.

    Versions are unique in the session, so that a test never takes the diagnostics published
    for an earlier test's document of the same URI."""

    versions = iter(range(1, 10**9, 1000))

    def __init__(self, client, path: Path, text: str | None = None):
        self.client = client
        self.uri = path.absolute().as_uri()
        self.text = path.read_text() if text is None else text
        self.version = next(Doc.versions)
        item = types.TextDocumentItem(uri=self.uri, language_id="archdsl", version=self.version, text=self.text)
        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))

    def position(self, needle: str, nth: int = 0, offset: int = 0) -> types.Position:
        """The position of the ``nth`` occurrence of ``needle`` on a line that is not a comment."""
        for i, line in enumerate(self.text.split("\n")):
            if line.lstrip().startswith("#"):
                continue
            j = line.find(needle)
            while j >= 0:
                if nth == 0:
                    return types.Position(line=i, character=j + offset)
                nth -= 1
                j = line.find(needle, j + 1)
        raise AssertionError(f"{needle!r} not found")

    def replace(self, old: str, new: str) -> None:
        """Replace the first ``old`` (outside comments) with ``new``, as one incremental change."""
        start = self.position(old)
        end = types.Position(line=start.line, character=start.character + len(old))
        self.edit(types.Range(start=start, end=end), new)

    def _offset(self, pos: types.Position) -> int:
        """The offset of an LSP position: lines end at \\n, \\r\\n or a lone \\r, as the protocol says."""
        breaks = list(re.finditer(r"\r\n|\r|\n", self.text))
        if pos.line > len(breaks):
            return len(self.text)  # past the last line: the end of the document
        i, units = ([0] + [m.end() for m in breaks])[pos.line], 0
        end = breaks[pos.line].start() if pos.line < len(breaks) else len(self.text)
        while units < pos.character and i < end:  # UTF-16 code units; past the line's end: its end
            units += 2 if ord(self.text[i]) > 0xFFFF else 1
            i += 1
        return i

    def edit(self, rng: types.Range, new: str) -> None:
        a, b = self._offset(rng.start), self._offset(rng.end)
        self.text = self.text[:a] + new + self.text[b:]
        self.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=[types.TextDocumentContentChangePartial(range=rng, text=new)],
            )
        )

    async def diagnostics(self) -> list[types.Diagnostic]:
        return await wait_diagnostics(self.client, self.uri, self.version)

    def close(self) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=self.uri))
        )

    def ident(self) -> types.TextDocumentIdentifier:
        return types.TextDocumentIdentifier(uri=self.uri)


def errors(diags) -> list[types.Diagnostic]:
    return [d for d in diags if d.severity == types.DiagnosticSeverity.Error]


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_attendnext_opens_without_errors(client):
    doc = Doc(client, ATTENDNEXT)
    diags = await doc.diagnostics()
    assert errors(diags) == []
    # the lint findings of `archdsl lint specs/attendnext.arch`: AR203 infos, with their rule links
    assert diags and {d.code for d in diags} == {"AR203"}
    assert all(d.source == "archdsl" and d.severity == types.DiagnosticSeverity.Information for d in diags)
    assert all(d.code_description and d.code_description.href.endswith("rules/AR203.md") for d in diags)
    doc.close()


async def test_typo_is_e201_at_the_name_with_did_you_mean(client):
    doc = Doc(client, ATTENDNEXT)
    await doc.diagnostics()
    where = doc.position("dcac(mid = 8")
    doc.replace("dcac(mid = 8", "dcax(mid = 8")
    diags = errors(await doc.diagnostics())
    assert [d.code for d in diags] == ["E201"]
    d = diags[0]
    assert d.range == types.Range(start=where, end=types.Position(line=where.line, character=where.character + 4))
    assert "unknown op or block 'dcax'" in d.message
    assert "did you mean 'dcac'?" in d.message
    assert d.code_description is not None and "language.md" in d.code_description.href
    doc.close()


def _show_row(path: Path, stage: str):
    """The row `archdsl show` prints for a stage (computed as it computes it)."""
    from archdsl.analysis import summarize
    from archdsl.resolve import load_graph

    g = load_graph(path)
    return next(r for r in summarize(g, 1) if r.path == stage), g


async def test_hover_on_a_stage_shows_shape_parameters_and_macs(client):
    from archdsl.lsp.irinfo import human

    doc = Doc(client, ATTENDNEXT)
    await doc.diagnostics()
    pos = doc.position("stage3 =", offset=3)
    h = await client.text_document_hover_async(types.HoverParams(text_document=doc.ident(), position=pos))
    assert h is not None
    text = h.contents.value
    row, g = _show_row(ATTENDNEXT, "stage3")
    assert str(row.out) == "[320, 14, 14]"
    assert "`[320, 14, 14]`" in text
    assert f"{row.params:,} parameters ({100 * row.params / g.total_params:.1f}%)" in text
    assert f"{human(row.macs)} MACs" in text and f"{row.macs:,}" in text
    assert h.range == types.Range(start=doc.position("stage3 ="), end=types.Position(line=pos.line, character=10))
    doc.close()


async def test_hover_on_a_repeated_block_call_gives_each_instance_and_the_total(client):
    doc = Doc(client, ATTENDNEXT)
    await doc.diagnostics()
    pos = doc.position("bottleneck(make_divisible(320", offset=2)
    h = await client.text_document_hover_async(types.HoverParams(text_document=doc.ident(), position=pos))
    text = h.contents.value
    assert 'block bottleneck(c, mid = c // 4, groups = 4, act = "silu")' in text
    assert "Bottleneck with grouped 3x3" in text  # the block's documentation comment in std.arch
    assert "**10 instances**" in text
    # the first changes the channels (a projection shortcut), the nine others are alike
    assert "- `stage3.bottleneck.0`: `[84, 14, 14]` → `[320, 14, 14]`" in text
    assert "- `stage3.bottleneck.1` and 8 more alike: each `[320, 14, 14]` → `[320, 14, 14]`" in text
    doc.close()


async def test_hover_on_an_op_shows_its_signature_from_the_registry(client):
    from archdsl.ops import OPS

    doc = Doc(client, ATTENDNEXT)
    await doc.diagnostics()
    h = await client.text_document_hover_async(
        types.HoverParams(text_document=doc.ident(), position=doc.position("conv(32, k = 3)", offset=1))
    )
    text = h.contents.value
    assert "conv(c, k = 1, s = 1, p = none, d = 1, groups = 1, bias = false)" in text
    assert OPS["conv"].doc in text
    assert "`k`: int | (int, ...) = `1` · kernel size" in text
    assert "`[3, 224, 224]` → `[32, 224, 224]`" in text
    doc.close()


async def test_definition_of_dcac_is_in_the_installed_standard_library(client):
    doc = Doc(client, ATTENDNEXT)
    await doc.diagnostics()
    locs = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc.ident(), position=doc.position("dcac(mid = 8", offset=2))
    )
    assert locs and len(locs) == 1
    loc = locs[0]
    assert loc.uri == STD.resolve().as_uri()
    std_lines = STD.read_text().split("\n")
    line = next(i for i, x in enumerate(std_lines) if x.startswith("block dcac("))
    assert loc.range == types.Range(
        start=types.Position(line=line, character=6), end=types.Position(line=line, character=10)
    )
    doc.close()


async def test_definition_of_tensors_parameters_and_imports(client):
    doc = Doc(client, ATTENDNEXT)
    await doc.diagnostics()

    async def goto(pos):
        got = await client.text_document_definition_async(
            types.DefinitionParams(text_document=doc.ident(), position=pos)
        )
        return got[0] if got else None

    width = await goto(doc.position("10 * width", offset=6))
    assert width.uri == doc.uri and width.range.start == doc.position("width = 1.0")
    imp = await goto(doc.position("import std", offset=8))
    assert imp.uri == STD.resolve().as_uri()
    doc.close()


async def test_completion_of_conv_arguments(client):
    doc = Doc(client, ATTENDNEXT)
    await doc.diagnostics()
    end = doc.position("head = gap")
    doc.edit(types.Range(start=end, end=end), "x = conv(")
    at = types.Position(line=end.line, character=end.character + len("x = conv("))
    got = await client.text_document_completion_async(types.CompletionParams(text_document=doc.ident(), position=at))
    items = {i.label: i for i in (got.items if isinstance(got, types.CompletionList) else got)}
    for arg in ("c", "k", "s", "p", "d", "groups", "bias"):
        assert arg in items, arg
    assert items["k"].detail == "int | (int, ...) = 1"
    assert items["k"].insert_text == "k = "
    assert items["c"].detail == "int ≥ 1, required"
    assert items["bias"].detail == "bool = false"
    assert "width" in items  # a parameter of the net, as a value
    doc.close()


async def test_completion_of_pipeline_elements_and_tensors(client):
    doc = Doc(client, ATTENDNEXT)
    await doc.diagnostics()
    end = doc.position("head = gap")
    doc.edit(types.Range(start=end, end=end), "x = ")
    at = types.Position(line=end.line, character=end.character + 4)
    got = await client.text_document_completion_async(types.CompletionParams(text_document=doc.ident(), position=at))
    labels = {i.label for i in got.items}
    assert {"conv", "bn", "dcac", "bottleneck", "columns", "stage3", "image"} <= labels
    doc.close()


async def test_formatting_the_document(client):
    from archdsl.fmt import format_text

    messy = ATTENDNEXT.read_text().replace("stem = conv(32, k = 3)", "stem   =   conv( 32,k=3 )")
    doc = Doc(client, ATTENDNEXT, text=messy)
    await doc.diagnostics()
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=doc.ident(), options=types.FormattingOptions(tab_size=4, insert_spaces=True)
        )
    )
    assert edits and len(edits) == 1
    assert edits[0].new_text == format_text(messy, str(ATTENDNEXT))
    assert "stem = conv(32, k = 3)" in edits[0].new_text
    doc.close()


async def test_the_server_never_imported_torch_or_onnx(client):
    """Last in this module: every request above ran in a server with the heavy imports blocked."""
    tried = LOG_FILE.read_text() if LOG_FILE.exists() else ""
    assert tried == ""

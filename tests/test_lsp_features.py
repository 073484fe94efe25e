"""``archdsl lsp`` end to end, continued: references, outline, quick fixes, UTF-16 positions,
broken text, hover inside a spec's own blocks (tests/test_lsp.py has the session helpers)."""

from __future__ import annotations

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types  # noqa: E402
from pytest_lsp import LanguageClient, client_capabilities  # noqa: E402

from tests.conftest import ROOT  # noqa: E402
from tests.test_lsp import ATTENDNEXT, LOG_FILE, STD, Doc, errors, server_config  # noqa: E402

FEATURES_LOG = LOG_FILE.with_suffix(".features.log")
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(config=server_config(FEATURES_LOG), scope="module")
async def client(lsp_client: LanguageClient):
    FEATURES_LOG.unlink(missing_ok=True)
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=ROOT.as_uri(),
        initialization_options={"debounceMs": 0},
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


async def test_references_of_a_block(client):
    doc = Doc(client, ATTENDNEXT)
    await doc.diagnostics()
    pos = doc.position("aads", offset=1)
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc.ident(), position=pos, context=types.ReferenceContext(include_declaration=False)
        )
    )
    uses = [(r.range.start.line, r.range.start.character) for r in refs]
    expected = []
    for i, line in enumerate(doc.text.split("\n")):
        if not line.lstrip().startswith("#"):
            j = line.find("aads")
            while j >= 0:
                expected.append((i, j))
                j = line.find("aads", j + 1)
    assert sorted(uses) == expected and len(expected) == 5
    assert all(r.uri == doc.uri for r in refs)
    with_decl = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc.ident(), position=pos, context=types.ReferenceContext(include_declaration=True)
        )
    )
    assert with_decl[0].uri == STD.resolve().as_uri() and len(with_decl) == 6
    doc.close()


async def test_document_symbols_are_the_net_and_its_stages(client):
    doc = Doc(client, ATTENDNEXT)
    await doc.diagnostics()
    syms = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc.ident()))
    names = [(s.name, s.kind) for s in syms]
    assert names == [("std", types.SymbolKind.Module), ("attendnext", types.SymbolKind.Class)]
    net = syms[1]
    assert [c.name for c in net.children] == ["image", "stem", "stage1", "stage2", "stage3", "stage4", "head"]
    assert net.selection_range.start == doc.position("attendnext(width", offset=0)
    doc.close()


async def test_document_symbols_list_a_space_and_its_entries(client):
    doc = Doc(client, ROOT / "specs" / "spaces" / "attendnext_widths.arch")
    await doc.diagnostics()
    syms = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc.ident()))
    assert [(s.name, s.kind) for s in syms] == [
        ("../attendnext.arch", types.SymbolKind.Module),
        ("attendnext_widths", types.SymbolKind.Struct),
    ]
    space = syms[1]
    assert space.detail == "space over attendnext"
    assert [c.name for c in space.children] == ["width", "depth", "classes"]
    assert space.selection_range.start == doc.position("attendnext_widths extends", offset=0)
    doc.close()


async def test_noqa_quick_fix_suppresses_the_finding(client):
    doc = Doc(client, ATTENDNEXT)
    diags = await doc.diagnostics()
    target = next(d for d in diags if d.code == "AR203")
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc.ident(), range=target.range, context=types.CodeActionContext(diagnostics=[target])
        )
    )
    titles = [a.title for a in actions]
    assert "Suppress AR203 on this line (# archdsl: noqa AR203)" in titles
    fix = next(a for a in actions if a.title.startswith("Suppress AR203 on this line"))
    (edit,) = fix.edit.changes[doc.uri]
    assert edit.new_text == "  # archdsl: noqa AR203"
    doc.edit(edit.range, edit.new_text)
    after = await doc.diagnostics()
    assert not any(d.code == "AR203" and d.range.start.line == target.range.start.line for d in after)
    assert len(after) == len(diags) - 1
    doc.close()


async def test_did_you_mean_quick_fix_and_missing_import(client):
    doc = Doc(client, ATTENDNEXT)
    await doc.diagnostics()
    doc.replace("dcac(mid = 8", "dcax(mid = 8")
    (e201,) = errors(await doc.diagnostics())
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc.ident(), range=e201.range, context=types.CodeActionContext(diagnostics=[e201])
        )
    )
    (fix,) = actions
    assert fix.title == "Replace with 'dcac'" and fix.is_preferred
    (edit,) = fix.edit.changes[doc.uri]
    doc.edit(edit.range, edit.new_text)
    assert errors(await doc.diagnostics()) == []

    start = doc.position("import std")
    doc.edit(types.Range(start=start, end=types.Position(line=start.line, character=10)), "")
    missing = errors(await doc.diagnostics())
    assert missing and {d.code for d in missing} == {"E201"}
    assert "add 'import std'" in missing[0].message
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc.ident(), range=missing[0].range, context=types.CodeActionContext(diagnostics=missing[:1])
        )
    )
    (fix,) = actions
    assert fix.title == "Add 'import std'"
    (edit,) = fix.edit.changes[doc.uri]
    doc.edit(edit.range, edit.new_text)
    assert errors(await doc.diagnostics()) == []
    doc.close()


async def test_positions_count_utf16_code_units(client, tmp_path):
    # two emoji (two UTF-16 code units each, one code point each) before the typo on its line
    spec = tmp_path / "emoji.arch"
    text = (
        "net emoji {\n"
        "    input image [3, 32, 32]\n"
        '    stem = conv(8) -> (bn if "😀😀" == "😀😀") -> rleu\n'
        "    head = gap -> flatten -> linear(10)\n"
        "}\n"
    )
    spec.write_text(text)
    doc = Doc(client, spec)
    (d,) = errors(await doc.diagnostics())
    line = text.split("\n")[2]
    cp = line.index("rleu")
    assert d.code == "E201" and "did you mean 'relu' or 'relu6'?" in d.message
    assert d.range.start == types.Position(line=2, character=cp + 4)  # four emoji: four more units
    assert d.range.end == types.Position(line=2, character=cp + 8)
    h = await client.text_document_hover_async(
        types.HoverParams(text_document=doc.ident(), position=types.Position(line=2, character=cp + 4 + 1))
    )
    assert h is None or h.range is None or h.range.start.character == cp + 4
    doc.close()


async def test_broken_text_keeps_diagnostics_hover_and_completion(client):
    doc = Doc(client, ATTENDNEXT)
    await doc.diagnostics()
    # break the last statement: an unclosed call (a syntax error at the end of the net)
    doc.replace("linear(classes)", "linear(classes")
    diags = errors(await doc.diagnostics())
    assert [d.code for d in diags] == ["E100"]
    # the IR of the last text that resolved still answers for the lines that did not change
    h = await client.text_document_hover_async(
        types.HoverParams(text_document=doc.ident(), position=doc.position("stage3 =", offset=2))
    )
    assert h is not None and "`[320, 14, 14]`" in h.contents.value
    assert h.range.start == doc.position("stage3 =")
    # a line that changed gets no stale answer, and no error either
    h2 = await client.text_document_hover_async(
        types.HoverParams(text_document=doc.ident(), position=doc.position("linear(classes", offset=2))
    )
    assert h2 is None or "linear" in h2.contents.value
    # an added line above moves what the old analysis knows: the hover follows it
    top = doc.position("input image")
    doc.edit(types.Range(start=top, end=top), "\n    ")
    await doc.diagnostics()
    h3 = await client.text_document_hover_async(
        types.HoverParams(text_document=doc.ident(), position=doc.position("stage3 =", offset=2))
    )
    assert h3 is not None and "`[320, 14, 14]`" in h3.contents.value
    assert h3.range.start == doc.position("stage3 =")
    doc.close()


BLOCKS = """import std

# Two convolutions and a gate; g is the gate.
block gated(c, k = 3) {
    a = conv(c, k = k) -> bn -> relu
    g = a -> conv(c) -> sigmoid
    mul(a, g)
}

net small(width = 1.0) {
    input image [3, 32, 32]
    stem = conv(16, k = 3) -> bn -> relu
    body = gated(16) * 2 -> gated(32, k = 5)
    head = gap -> flatten -> linear(10)
}
"""


async def test_hover_on_a_named_tensor_of_a_block_and_its_parameters(client, tmp_path):
    spec = tmp_path / "blocks.arch"
    spec.write_text(BLOCKS)
    doc = Doc(client, spec)
    assert errors(await doc.diagnostics()) == []

    async def hover(needle, nth=0, offset=1):
        pos = doc.position(needle, nth=nth, offset=offset)
        h = await client.text_document_hover_async(types.HoverParams(text_document=doc.ident(), position=pos))
        return h.contents.value if h else ""

    g = await hover("g = a")
    assert "**g** · named tensor of block `gated`" in g
    assert "**3 instances**" in g  # gated(16) * 2 and gated(32, k = 5)
    assert "`body.gated.0.g`" in g and "`[16, 32, 32]`" in g and "`[32, 32, 32]`" in g
    block = await hover("block gated", offset=7)
    assert "Two convolutions and a gate; g is the gate." in block and "**3 instances**" in block
    assert "argument of `conv`" in await hover("k = k", offset=0)  # conv's k
    for where in (await hover("k = 3)", offset=0), await hover("k = k", offset=4)):  # the block's k, and a use
        assert "**k** · parameter of block `gated`" in where and "default `3`" in where
        assert "`3` (2×)" in where and "`5` (1×)" in where
    net = await hover("small", offset=1)
    assert "parameters" in net and "stages: `stem`, `body`, `head`" in net
    # definition of a tensor used in the block
    locs = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc.ident(), position=doc.position("mul(a, g)", offset=7))
    )
    assert locs[0].range.start == doc.position("g = a")
    doc.close()


async def test_the_server_never_imported_torch_or_onnx(client):
    tried = FEATURES_LOG.read_text() if FEATURES_LOG.exists() else ""
    assert tried == ""

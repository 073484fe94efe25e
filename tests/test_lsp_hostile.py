"""Hostile input to the language server: what a spec (or a client) can send must not break it.

Each case sends one document or request that is too large, too deep, malformed or out of range,
and checks that the server answers, publishes located diagnostics with codes (as ``archdsl check``
would), logs no internal error, and keeps serving the next request, within a generous bound.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types  # noqa: E402
from pytest_lsp import LanguageClient, client_capabilities  # noqa: E402

from tests.conftest import ROOT  # noqa: E402
from tests.test_lsp import LOG_FILE, Doc, errors, server_config  # noqa: E402

BOUND_S = 30  # generous: a denial-of-service bound, not a speed claim

in_session = pytest.mark.asyncio(loop_scope="module")


HOSTILE_LOG = LOG_FILE.with_suffix(".hostile.log")


@pytest_lsp.fixture(config=server_config(HOSTILE_LOG), scope="module")
async def client(lsp_client: LanguageClient):
    HOSTILE_LOG.unlink(missing_ok=True)
    params = types.InitializeParams(
        capabilities=client_capabilities("neovim"), root_uri=ROOT.as_uri(), initialization_options={"debounceMs": 0}
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


def no_internal_errors(client) -> None:
    assert [m.message for m in client.log_messages if m.type == types.MessageType.Error] == []


async def alive(client, doc: Doc) -> None:
    """The server still answers a request on the document."""
    await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc.ident()))


async def open_and_check(client, path: Path, text: str, codes: set[str]) -> list[types.Diagnostic]:
    t0 = time.monotonic()
    doc = Doc(client, path, text=text)
    diags = errors(await doc.diagnostics())
    assert time.monotonic() - t0 < BOUND_S
    assert {d.code for d in diags} & codes, [(d.code, d.message) for d in diags]
    await alive(client, doc)
    no_internal_errors(client)
    doc.close()
    return diags


@in_session
async def test_a_document_over_the_size_limit(client, tmp_path):
    text = "net big {\n    input image [3, 8, 8]\n" + "    # " + "x" * (5 * 1024 * 1024) + "\n}\n"
    await open_and_check(client, tmp_path / "big.arch", text, {"E105"})


@in_session
async def test_a_document_over_the_token_limit(client, tmp_path):
    body = "\n".join(f"    s{i} = conv(8) -> bn -> relu -> bn -> relu" for i in range(6000))
    text = f"net many {{\n    input image [3, 8, 8]\n{body}\n}}\n"
    (d,) = await open_and_check(client, tmp_path / "many.arch", text, {"E105"})
    assert d.range.start.line > 1  # at the first token past the limit


@in_session
async def test_nesting_too_deep(client, tmp_path):
    text = "net deep {\n    input image [3, 8, 8]\n    x = " + "(" * 5000 + "relu" + ")" * 5000 + "\n}\n"
    await open_and_check(client, tmp_path / "deep.arch", text, {"E106", "E100", "E105"})


@in_session
async def test_nul_bytes_and_lone_surrogates(client, tmp_path):
    text = 'net n {\n    input image [3, 8, 8]\n    x = conv(8) -> se(act = "\ud800") -> relu\x00\n}\n'
    (d,) = await open_and_check(client, tmp_path / "nul.arch", text, {"E101"})
    assert d.range.start.line == 2


@in_session
async def test_an_exploding_repeat_and_block_budget(client, tmp_path):
    text = (
        "block b1(c) {\n    conv(c) * 1000\n}\n"
        "block b2(c) {\n    b1(c) * 1000\n}\n"
        "net boom {\n    input image [3, 8, 8]\n    x = b2(8) * 1000\n}\n"
    )
    await open_and_check(client, tmp_path / "boom.arch", text, {"E502", "E504", "E506", "E503"})


@in_session
async def test_imports_of_special_and_missing_files(client, tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    os.mkfifo(tmp_path / "fifo.arch")
    text = 'import "fifo.arch"\nimport "missing.arch"\nimport "/dev/zero"\nnet n {\n    input image [3, 8, 8]\n}\n'
    diags = await open_and_check(client, tmp_path / "imports.arch", text, {"E602"})
    assert all(d.range.start.line in (0, 1, 2) for d in diags if d.code == "E602")


@in_session
async def test_an_import_cycle(client, tmp_path):
    (tmp_path / "a.arch").write_text('import "b.arch"\nblock a1(c) {\n    conv(c)\n}\n')
    (tmp_path / "b.arch").write_text('import "a.arch"\nblock b1(c) {\n    conv(c)\n}\n')
    text = 'import "a.arch"\nnet n {\n    input image [3, 8, 8]\n    x = a1(8) -> b1(8)\n}\n'
    await open_and_check(client, tmp_path / "main.arch", text, {"E601"})


@in_session
async def test_positions_out_of_range_and_unknown_documents(client, tmp_path):
    spec = tmp_path / "small.arch"
    spec.write_text("net n {\n    input image [3, 8, 8]\n    x = conv(8)\n}\n")
    doc = Doc(client, spec)
    await doc.diagnostics()
    far = types.Position(line=10**6, character=10**6)
    mid_pair = types.Position(line=2, character=3)
    for pos in (far, mid_pair):
        await client.text_document_hover_async(types.HoverParams(text_document=doc.ident(), position=pos))
        await client.text_document_completion_async(types.CompletionParams(text_document=doc.ident(), position=pos))
        await client.text_document_definition_async(types.DefinitionParams(text_document=doc.ident(), position=pos))
    ghost = types.TextDocumentIdentifier(uri=(tmp_path / "never-opened.arch").as_uri())
    assert await client.text_document_hover_async(types.HoverParams(text_document=ghost, position=far)) is None
    assert await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=ghost)) == []
    # a change to a document that is not open, and a change far past the end of one that is
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=ghost.uri, version=5),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="net x {")],
        )
    )
    doc.edit(types.Range(start=far, end=far), "\n# appended")
    assert errors(await doc.diagnostics()) == []
    no_internal_errors(client)
    doc.close()


@in_session
async def test_a_slow_document_does_not_block_requests_on_another(client, tmp_path):
    body = "\n".join(f"    s{i} = conv(16) -> bn -> relu" for i in range(2500))
    slow = Doc(client, tmp_path / "slow.arch", text=f"net slow {{\n    input image [16, 16, 16]\n{body}\n}}\n")
    quick = tmp_path / "quick.arch"
    quick.write_text("net q {\n    input image [3, 8, 8]\n    x = conv(8)\n}\n")
    t0 = time.monotonic()
    fast = Doc(client, quick)
    syms = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=fast.ident()))
    assert time.monotonic() - t0 < BOUND_S and isinstance(syms, list)
    await fast.diagnostics()
    await slow.diagnostics()
    no_internal_errors(client)
    slow.close()
    fast.close()


def test_malformed_messages_do_not_stop_the_server(tmp_path):
    """Raw bytes on stdin: garbage, a bad header, invalid JSON, then a real initialize."""

    def frame(obj) -> bytes:
        body = json.dumps(obj).encode()
        return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)

    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "processId": None}}
    data = (
        b"garbage without a header\r\n\r\n"
        + b"Content-Length: 7\r\n\r\n{nope!}"
        + frame({"jsonrpc": "2.0", "id": 0, "method": "textDocument/hover", "params": {"bogus": True}})
        + frame(init)
        + frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        + frame({"jsonrpc": "2.0", "method": "exit"})
    )
    res = subprocess.run(
        [sys.executable, "-m", "archdsl", "lsp"], input=data, capture_output=True, timeout=BOUND_S, cwd=ROOT
    )
    out = res.stdout.decode("utf-8", "replace")
    assert '"id": 1' in out and '"capabilities"' in out  # initialize was answered
    assert '"id": 2' in out  # and shutdown
    assert res.returncode == 0, res.stderr.decode()[-2000:]
    assert "Traceback" not in res.stderr.decode()


@in_session
async def test_the_server_survives_after_all_of_it(client, tmp_path):
    spec = tmp_path / "after.arch"
    spec.write_text("net n {\n    input image [3, 8, 8]\n    x = conv(8) -> rleu\n}\n")
    doc = Doc(client, spec)
    (d,) = errors(await doc.diagnostics())
    assert d.code == "E201"
    doc.close()
    await asyncio.sleep(0)
    assert not HOSTILE_LOG.exists() or HOSTILE_LOG.read_text() == ""  # and never imported torch or onnx

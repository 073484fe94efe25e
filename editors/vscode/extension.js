// The archdsl extension: starts `archdsl lsp` (the language server of the archdsl package) for
// .arch files. The highlighting is the TextMate grammar in syntaxes/; everything else comes from
// the server. Settings: archdsl.server.command, archdsl.debounceMs, archdsl.lint, archdsl.docsUrl.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function serverOptions() {
  const config = vscode.workspace.getConfiguration("archdsl");
  const [command, ...args] = config.get("server.command", ["archdsl", "lsp"]);
  return { command, args, transport: TransportKind.stdio, options: { env: process.env } };
}

function clientOptions() {
  const config = vscode.workspace.getConfiguration("archdsl");
  return {
    documentSelector: [
      { scheme: "file", language: "archdsl" },
      { scheme: "untitled", language: "archdsl" },
    ],
    initializationOptions: {
      debounceMs: config.get("debounceMs", 30),
      lint: config.get("lint", true),
      docsUrl: config.get("docsUrl", "") || undefined,
    },
    outputChannelName: "archdsl",
  };
}

async function start() {
  client = new LanguageClient("archdsl", "archdsl", serverOptions(), clientOptions());
  try {
    await client.start();
  } catch (err) {
    vscode.window.showErrorMessage(
      `archdsl: cannot start the language server (${err}). Install it with pip install 'archdsl[lsp]' ` +
        "or set archdsl.server.command."
    );
  }
}

async function stop() {
  if (client) {
    const c = client;
    client = undefined;
    await c.stop();
  }
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("archdsl.restartServer", async () => {
      await stop();
      await start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("archdsl")) {
        await stop();
        await start();
      }
    })
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };

"""``autograd-lint server``: a Language Server over stdio (pygls), for editors.

Diagnostics come on open, on save, and as you type (debounced: a burst of keystrokes is checked
once, ``debounceMs`` after the last); quick fixes, "fix all", ``# noqa`` and hover come from the
last check of the document's current version. The documents are synchronised in full (each
change sends the whole text): a training script is small, and the text is then exactly what the
editor holds, line ends included.

What each feature answers is in ``server_features.py``; this module only wires it to LSP.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from . import __version__
from .config import ConfigError
from .server_features import (
    FIX_ALL_KIND,
    DocumentCheck,
    Settings,
    check_document,
    code_actions,
    diagnostics,
    hover,
)

PYTHON_SUFFIXES = (".py", ".pyi")


class AutogradLintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("autograd-lint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.settings = Settings()
        self.checks: dict[str, DocumentCheck] = {}
        self.pending: dict[str, asyncio.TimerHandle] = {}
        self.shown_errors: set[str] = set()

    # --- checking and publishing ------------------------------------------------------------

    def check(self, uri: str) -> DocumentCheck | None:
        """The check of the document's current text, from the cache when its version was checked."""
        document = self.workspace.get_text_document(uri)
        if not _is_python(document.language_id, uri):
            return None
        cached = self.checks.get(uri)
        if cached is not None and cached.version == document.version and cached.source == document.source:
            return cached
        path = to_fs_path(uri) if uri.startswith("file:") else None
        result = check_document(document.source, path, document.version, self.settings, self.position_encoding)
        if result.error is not None:
            self.show_error(result.error)
        self.checks[uri] = result
        return result

    @property
    def position_encoding(self) -> str:
        """How the client counts columns, as negotiated at initialisation: "utf-16" (LSP's
        default), "utf-8" (Helix asks for it first) or "utf-32"."""
        encoding = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        return encoding.value if isinstance(encoding, types.PositionEncodingKind) else str(encoding)

    def publish(self, uri: str) -> None:
        self.pending.pop(uri, None)
        if uri not in self.workspace.text_documents:
            return  # closed while it waited
        result = self.check(uri)
        if result is None:
            return
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics(result), version=result.version)
        )

    def publish_later(self, uri: str) -> None:
        """Check once the typing pauses: each change restarts the wait."""
        waiting = self.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        if self.settings.debounce_ms == 0:
            self.publish(uri)
            return
        loop = asyncio.get_running_loop()
        self.pending[uri] = loop.call_later(self.settings.debounce_ms / 1000, self.publish, uri)

    def republish_all(self) -> None:
        self.checks.clear()
        for uri in list(self.workspace.text_documents):
            self.publish(uri)

    def show_error(self, message: str) -> None:
        """A config error, once per message: it would otherwise come back on every keystroke."""
        logging.getLogger(__name__).error(message)
        if message not in self.shown_errors:
            self.shown_errors.add(message)
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Error, message=f"autograd-lint: {message}")
            )

    def apply_settings(self, options: Any) -> None:
        try:
            self.settings = Settings.from_options(options, self.settings)
        except ConfigError as error:
            self.show_error(str(error))


def _is_python(language_id: str | None, uri: str) -> bool:
    return language_id == "python" or uri.endswith(PYTHON_SUFFIXES)


server = AutogradLintServer()


@server.feature(types.INITIALIZE)
def initialize(ls: AutogradLintServer, params: types.InitializeParams) -> None:
    ls.apply_settings(params.initialization_options)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: AutogradLintServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.publish(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: AutogradLintServer, params: types.DidChangeTextDocumentParams) -> None:
    if ls.settings.run == "onType":
        ls.publish_later(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: AutogradLintServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.publish(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: AutogradLintServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    waiting = ls.pending.pop(uri, None)
    if waiting is not None:
        waiting.cancel()
    ls.checks.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: AutogradLintServer, params: types.DidChangeConfigurationParams) -> None:
    options = params.settings
    if not options and _can_pull_configuration(ls):
        # The client sent an empty notification: the settings are to be asked for.
        [options] = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section="autograd-lint")])
        )
    ls.apply_settings(options)
    ls.republish_all()


def _can_pull_configuration(ls: AutogradLintServer) -> bool:
    workspace = ls.client_capabilities.workspace
    return bool(workspace and workspace.configuration)


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]),
)
def code_action(ls: AutogradLintServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    result = ls.check(params.text_document.uri)
    if result is None:
        return None
    automatic = params.context.trigger_kind == types.CodeActionTriggerKind.Automatic
    return code_actions(result, params.text_document.uri, params.range, params.context.only, ls.settings, automatic)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def on_hover(ls: AutogradLintServer, params: types.HoverParams) -> types.Hover | None:
    result = ls.check(params.text_document.uri)
    return hover(result, params.position) if result is not None else None


def start() -> None:
    """Serve on stdin/stdout until the client says exit."""
    server.start_io()

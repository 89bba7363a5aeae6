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
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from . import __version__
from .config import ConfigError
from .server_features import (
    FIX_ALL_KIND,
    DocumentCheck,
    Settings,
    check_document,
    code_actions,
    diagnostics,
    encoding_name,
    hover,
)
from .server_notebooks import (
    NOTEBOOK_SYNC,
    CellSyncProtocol,
    NotebookCheck,
    cell_texts,
    check_notebook_document,
    document_path,
)

PYTHON_SUFFIXES = (".py", ".pyi")


class AutogradLintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "autograd-lint",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Full,
            notebook_document_sync=NOTEBOOK_SYNC,
            protocol_cls=CellSyncProtocol,
        )
        self.settings = Settings()
        self.checks: dict[str, DocumentCheck] = {}
        self.notebook_checks: dict[str, NotebookCheck] = {}
        # What each notebook's cells were last sent, to publish only what changed (and the
        # empty list to a cell whose findings went away).
        self.published_cells: dict[str, dict[str, tuple[int | None, list[types.Diagnostic]]]] = {}
        self.pending: dict[str, asyncio.TimerHandle] = {}
        self.shown_errors: set[str] = set()

    # --- checking and publishing ------------------------------------------------------------

    def check(self, uri: str) -> DocumentCheck | None:
        """The check of the document's current text, from the cache when its version was checked;
        for a notebook's cell, its part of the notebook's check."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        if notebook is not None:
            return self.check_notebook(notebook).cells.get(uri)
        document = self.workspace.get_text_document(uri)
        if not _is_python(document.language_id, uri):
            return None
        cached = self.checks.get(uri)
        if cached is not None and cached.version == document.version and cached.source == document.source:
            return cached
        result = check_document(
            document.source, document_path(uri), document.version, self.settings, self.position_encoding
        )
        if result.error is not None:
            self.show_error(result.error)
        self.checks[uri] = result
        return result

    def check_notebook(self, notebook: types.NotebookDocument) -> NotebookCheck:
        """The check of the notebook's cells as they are now, from the cache when they were checked."""
        texts = cell_texts(self.workspace, notebook)
        cached = self.notebook_checks.get(notebook.uri)
        if cached is not None and cached.texts == texts:
            return cached
        result = check_notebook_document(texts, document_path(notebook.uri), self.settings, self.position_encoding)
        if result.error is not None:
            self.show_error(result.error)
        self.notebook_checks[notebook.uri] = result
        return result

    @property
    def position_encoding(self) -> str:
        return encoding_name(self.workspace.position_encoding)

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

    def publish_notebook(self, uri: str) -> None:
        """Each cell's diagnostics, sent where they changed (an edited cell's ranges may have moved)."""
        self.pending.pop(uri, None)
        notebook = self.workspace.get_notebook_document(notebook_uri=uri)
        if notebook is None:
            return  # closed while it waited
        result = self.check_notebook(notebook)
        before = self.published_cells.get(uri, {})
        now = {}
        for cell_uri, check in result.cells.items():
            found = diagnostics(check)
            now[cell_uri] = (check.version if found else None, found)
            if before.get(cell_uri, (None, [])) != now[cell_uri]:
                self.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(uri=cell_uri, diagnostics=found, version=check.version)
                )
        self.published_cells[uri] = {cell_uri: sent for cell_uri, sent in now.items() if sent[1]}
        self.clear_cells([cell_uri for cell_uri, sent in before.items() if cell_uri not in now])

    def clear_cells(self, cell_uris: list[str]) -> None:
        """An empty list for cells that had diagnostics and are gone (removed, or no longer code)."""
        for cell_uri in cell_uris:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=cell_uri, diagnostics=[]))

    def publish_later(self, uri: str, publish: Callable[[str], None] | None = None) -> None:
        """Check once the typing pauses: each change restarts the wait."""
        publish = publish or self.publish
        self.stop_waiting(uri)
        if self.settings.debounce_ms == 0:
            publish(uri)
            return
        loop = asyncio.get_running_loop()
        self.pending[uri] = loop.call_later(self.settings.debounce_ms / 1000, publish, uri)

    def stop_waiting(self, uri: str) -> None:
        waiting = self.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()

    def republish_all(self) -> None:
        self.checks.clear()
        self.notebook_checks.clear()
        for uri in list(self.workspace.text_documents):
            if self.workspace.get_notebook_document(cell_uri=uri) is None:
                self.publish(uri)
        for notebook in list(self.workspace.notebook_documents.values()):
            self.publish_notebook(notebook.uri)

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
    ls.stop_waiting(uri)
    ls.checks.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
def did_open_notebook(ls: AutogradLintServer, params: types.DidOpenNotebookDocumentParams) -> None:
    ls.publish_notebook(params.notebook_document.uri)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
def did_change_notebook(ls: AutogradLintServer, params: types.DidChangeNotebookDocumentParams) -> None:
    if ls.settings.run == "onType":
        ls.publish_later(params.notebook_document.uri, ls.publish_notebook)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
def did_save_notebook(ls: AutogradLintServer, params: types.DidSaveNotebookDocumentParams) -> None:
    ls.publish_notebook(params.notebook_document.uri)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
def did_close_notebook(ls: AutogradLintServer, params: types.DidCloseNotebookDocumentParams) -> None:
    uri = params.notebook_document.uri
    ls.stop_waiting(uri)
    ls.notebook_checks.pop(uri, None)
    ls.clear_cells(list(ls.published_cells.pop(uri, {})))


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
    uri = params.text_document.uri
    result = ls.check(uri)
    if result is None:
        return None
    automatic = params.context.trigger_kind == types.CodeActionTriggerKind.Automatic
    notebook = ls.workspace.get_notebook_document(cell_uri=uri)
    fix_all = ls.check_notebook(notebook).fix_all_action if notebook is not None else None
    return code_actions(result, uri, params.range, params.context.only, ls.settings, automatic, fix_all)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def on_hover(ls: AutogradLintServer, params: types.HoverParams) -> types.Hover | None:
    result = ls.check(params.text_document.uri)
    return hover(result, params.position) if result is not None else None


def start() -> None:
    """Serve on stdin/stdout until the client says exit."""
    server.start_io()

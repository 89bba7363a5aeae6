"""Helpers every test file shares: the one reader of ``.expected`` files, the one CLI runner, and
the language server started under a real LSP client (pytest-lsp, over stdio) as an editor would."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from click.testing import CliRunner, Result
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from autograd_lint.cli import main
from autograd_lint.editing import EditorPositions

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"


def read_expected(script: Path) -> list[tuple[int, str]]:
    """The findings a fixture expects: ``NAME.expected`` beside it, one ``LINE CODE`` per line
    (blank lines and ``#`` comments ignored), sorted."""
    pairs = []
    for raw in script.with_suffix(".expected").read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            line, code = raw.split()
            pairs.append((int(line), code))
    return sorted(pairs)


def read_notebook_expected(notebook: Path) -> list[tuple[int, int | str, str]]:
    """A notebook fixture's expectations: ``NAME.expected`` beside it, one ``CELL LINE CODE`` per
    finding (the cell counted from 1 over every cell, the line from the cell's first) or ``CELL
    error`` for a cell that is not valid Python; sorted."""
    rows: list[tuple[int, int | str, str]] = []
    for raw in notebook.with_suffix(".expected").read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            parts = raw.split()
            if parts[1] == "error":
                rows.append((int(parts[0]), 0, "error"))
            else:
                rows.append((int(parts[0]), int(parts[1]), parts[2]))
    return sorted(rows, key=str)


def cli(*args: str, input: str | bytes | None = None) -> Result:
    """``autograd-lint ARGS`` in this process, as click runs it; stdout and stderr kept apart."""
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def autograd_lint_process(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess[str]:
    """``python -m autograd_lint ARGS`` in a new process (tests using it are marked slow)."""
    return subprocess.run(
        [sys.executable, "-m", "autograd_lint", *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder, with no colour forced either way."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    return tmp_path


# --- the language server ------------------------------------------------------------------------

LSP_SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "autograd_lint", "server"])


@pytest_lsp.fixture(config=LSP_SERVER)
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest):
    """A started server, to a client that syncs notebooks as VS Code does; ``indirect``
    parametrisation passes its ``initializationOptions``."""
    options: dict[str, Any] = {"debounceMs": 50, **getattr(request, "param", {})}
    capabilities = client_capabilities("visual-studio-code")
    capabilities.notebook_document = types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities(execution_summary_support=True)
    )
    if "positionEncodings" in options:  # not a setting: what the client offers to count in
        capabilities.general = types.GeneralClientCapabilities(position_encodings=options.pop("positionEncodings"))
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=capabilities, initialization_options=options)
    )
    yield
    await lsp_client.shutdown_session()


def lsp_uri(path: Path) -> str:
    return path.resolve().as_uri()


def next_diagnostics(client: LanguageClient) -> asyncio.Future[types.PublishDiagnosticsParams]:
    """The next diagnostics the server publishes (waited for from now on, so none is missed)."""
    return client.protocol.wait_for_notification_async(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)


def apply_action(text: str, action: types.CodeAction, uri: str | None = None) -> str:
    """What an editor does with the action's edit to the document (``uri``, or its only one)."""
    [edits] = [
        change.edits
        for change in (action.edit.document_changes or [])
        if action.edit is not None
        if isinstance(change, types.TextDocumentEdit) and uri in (None, change.text_document.uri)
    ]
    positions = EditorPositions(text)
    spans = [
        (
            positions.offset(e.range.start.line, e.range.start.character),
            positions.offset(e.range.end.line, e.range.end.character),
            e.new_text,
        )
        for e in edits
        if isinstance(e, types.TextEdit)
    ]
    for start, end, new_text in sorted(spans, reverse=True):
        text = text[:start] + new_text + text[end:]
    return text

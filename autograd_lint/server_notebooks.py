"""Notebook documents in the language server (LSP 3.17 notebook sync): the cells an editor holds,
checked as the CLI checks an ``.ipynb``, and what that check says about each cell.

The code cells in Python are one module in cell order (``notebook_check``: the same joining, the
same magics masked, the config of the notebook's path), so a loss built in one cell and
backpropagated in another is found as in a script. Each finding goes to its cell's document,
with a range counted in that cell. A quick fix is offered on a cell when all of its edits lie in
that cell; "fix all" is the CLI's ``--fix`` on the notebook, and may edit several cells.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import unquote

from lsprotocol import types
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path
from pygls.workspace import Workspace

from .config import Config, ConfigError
from .editing import EditorPositions
from .finding import Finding
from .notebook import Cell, Notebook
from .notebook_check import check_notebook, fix_notebook
from .server_features import DocumentCheck, Settings, checked_config, encoding_name, fix_all_of, internal_error

NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithNotebook(
            notebook="jupyter-notebook", cells=[types.NotebookCellLanguage(language="python")]
        )
    ],
    save=True,
)


@dataclass(frozen=True)
class CellText:
    """One cell of a notebook document as the editor holds it."""

    uri: str
    version: int | None
    source: str
    python: bool  # a code cell in Python: the only ones checked


@dataclass(frozen=True)
class NotebookCheck:
    """One check of a notebook document's cells; ``cells`` holds each Python code cell's part."""

    texts: tuple[CellText, ...]
    path: str
    config: Config | None = None
    error: str | None = None
    cells: dict[str, DocumentCheck] = field(default_factory=dict)

    def fix_all_action(self) -> types.CodeAction | None:
        """The CLI's ``--fix`` on the notebook: one action editing every cell it changes."""
        if self.config is None or not any(
            f.fix is not None and f.fix.applicability == "safe" for check in self.cells.values() for f in check.findings
        ):
            return None
        fixed = fix_notebook(_notebook(self.texts, self.path), self.config, unsafe=False).sources
        changed = [
            (self.texts[n - 1].uri, self.cells[self.texts[n - 1].uri], text) for n, text in sorted(fixed.items())
        ]
        return fix_all_of(changed) if changed else None


def document_path(uri: str) -> str | None:
    """The file a document is, for its project's config; ``None`` for an unsaved one."""
    return to_fs_path(uri) if uri.startswith("file:") else None


def cell_texts(workspace: Workspace, notebook: types.NotebookDocument) -> tuple[CellText, ...]:
    """The notebook's cells, in order, with the texts pygls keeps for them."""
    texts = []
    for cell in notebook.cells:
        document = workspace.text_documents.get(unquote(cell.document))  # pygls keys them unquoted
        source = document.source if document is not None else ""
        python = cell.kind == types.NotebookCellKind.Code and document is not None and document.language_id == "python"
        texts.append(CellText(cell.document, document.version if document else None, source, python))
    return tuple(texts)


def check_notebook_document(
    texts: Sequence[CellText], path: str | None, settings: Settings, encoding: str = "utf-16"
) -> NotebookCheck:
    """Check a notebook's cells as the CLI would check the notebook file at ``path``."""
    texts = tuple(texts)
    name = path or "<untitled>"
    try:
        config = checked_config(path, settings)
    except ConfigError as problem:
        return NotebookCheck(texts, name, error=str(problem))
    findings: list[Finding] = []
    error = None
    if config is not None:
        try:
            findings = check_notebook(_notebook(texts, name), config)[0]  # a cell that does not parse is skipped
        except Exception as bug:  # a bug in a rule: say so, and keep serving the other documents
            error = internal_error(bug)
    by_cell: dict[int, list[Finding]] = {}
    for finding in findings:
        by_cell.setdefault(finding.cell or 0, []).append(_within_cell(finding))
    cells = {
        text.uri: DocumentCheck(
            text.source, text.version, tuple(by_cell.get(number, ())), config, name, encoding=encoding
        )
        for number, text in enumerate(texts, start=1)
        if text.python
    }
    return NotebookCheck(texts, name, config, error, cells)


def _notebook(texts: Sequence[CellText], path: str) -> Notebook:
    """The cells as the notebook reader gives them: numbered in order, markdown included."""
    cells = tuple(
        Cell(number, "code" if text.python else "other", text.source) for number, text in enumerate(texts, start=1)
    )
    return Notebook(path, "", "utf-8", cells, "python", 4)


def _within_cell(finding: Finding) -> Finding:
    """The finding, without its fix where an edit lies in another cell: a cell's quick fix edits that cell."""
    if finding.fix is None or all(edit.cell == finding.cell for edit in finding.fix.edits):
        return finding
    return replace(finding, fix=None)


# --- keeping the cells' texts ---------------------------------------------------------------------


def changed_text(text: str, changes: Sequence[types.TextDocumentContentChangeEvent], encoding: str) -> str:
    """The text after the editor's changes, in order: a range replaced, or the whole text."""
    for change in changes:
        if isinstance(change, types.TextDocumentContentChangePartial):
            positions = EditorPositions(text, encoding)
            start = positions.offset(change.range.start.line, change.range.start.character)
            end = positions.offset(change.range.end.line, change.range.end.character)
            text = text[:start] + change.text + text[end:]
        else:
            text = change.text
    return text


class CellSyncProtocol(LanguageServerProtocol):
    """pygls, but with notebook cells that follow the editor's range edits.

    LSP synchronises a notebook's cells incrementally whatever the server's text sync kind (VS
    Code sends ranges), while pygls applies a range only to a document synchronised
    incrementally, and this server's are in full. So each cell change becomes the cell's whole
    new text before pygls stores it, counted as every other position here is (LSP's line ends
    only, the negotiated units), not by ``str.splitlines``."""

    @lsp_method(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def lsp_notebook_document__did_change(self, params: types.DidChangeNotebookDocumentParams) -> Iterator:
        cells = params.change.cells
        if cells is not None and cells.text_content:
            # The texts so far: a cell opened in this change, or changed twice in it, counts.
            texts = {d.uri: d.text for d in (cells.structure.did_open or [])} if cells.structure else {}
            encoding = encoding_name(self.workspace.position_encoding)
            for content in cells.text_content:
                uri = content.document.uri
                document = self.workspace.text_documents.get(unquote(uri))  # pygls keys them unquoted
                text = texts.get(uri, document.source if document is not None else None)
                if text is not None:
                    texts[uri] = changed_text(text, content.changes, encoding)
                    content.changes = [types.TextDocumentContentChangeWholeDocument(texts[uri])]
        yield from super().lsp_notebook_document__did_change(params)

"""Notebook documents (LSP 3.17 notebook sync) in ``autograd-lint server``, driven by a real LSP
client over stdio as VS Code drives them: cells sent in the notebook's notifications, edited by
ranges, added and removed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from textwrap import dedent

import pytest
import pytest_lsp
from conftest import LSP_SERVER, apply_action, lsp_uri
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from autograd_lint.editing import EditorPositions

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

TITLE = "# Training\n\nOne step per batch."
SETUP = dedent(
    """\
    import torch
    %matplotlib inline

    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)"""
)
LOOP = dedent(
    """\
    for batch in torch.randn(10, 3):
        optimizer.zero_grad()
        loss = model(batch).sum()
        loss.backward()
        optimizer.step()
    w = {"é😀": torch.autograd.Variable(torch.ones(3))}
    v = torch.autograd.Variable(torch.zeros(1))"""
)


class Notebook:
    """A notebook as the editor holds it: its cells' URIs (VS Code's scheme, percent-escaped) and texts."""

    def __init__(self, client: LanguageClient, path: Path) -> None:
        self.client = client
        self.uri = lsp_uri(path)
        self.path = path
        self.version = 0
        self.cells: list[tuple[str, types.NotebookCellKind, str]] = []
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.count = 0

    def cell_uri(self) -> str:
        self.count += 1
        return f"vscode-notebook-cell:{self.path.resolve().as_posix()}#W{self.count}sZmlsZQ%3D%3D"

    def item(self, uri: str, kind: types.NotebookCellKind, text: str) -> types.TextDocumentItem:
        self.texts[uri], self.versions[uri] = text, 1
        language = "python" if kind == types.NotebookCellKind.Code else "markdown"
        return types.TextDocumentItem(uri, language, 1, text)

    def open(self, *cells: tuple[types.NotebookCellKind, str]) -> list[str]:
        items = [self.item(self.cell_uri(), kind, text) for kind, text in cells]
        self.client.notebook_document_did_open(
            types.DidOpenNotebookDocumentParams(
                types.NotebookDocument(
                    self.uri,
                    "jupyter-notebook",
                    self.version,
                    [types.NotebookCell(k, i.uri) for (k, _), i in zip(cells, items, strict=True)],
                ),
                items,
            )
        )
        return [item.uri for item in items]

    def change(self, cells: types.NotebookDocumentCellChanges) -> None:
        self.version += 1
        self.client.notebook_document_did_change(
            types.DidChangeNotebookDocumentParams(
                types.VersionedNotebookDocumentIdentifier(self.version, self.uri),
                types.NotebookDocumentChangeEvent(cells=cells),
            )
        )

    def edit(self, uri: str, edits: list[types.TextEdit]) -> None:
        """Range edits to one cell, as VS Code sends a cell's typing or an applied code action."""
        self.versions[uri] += 1
        text = self.texts[uri]
        # Last first, as editors send them, so that each range holds in the text the one before left.
        edits = sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True)
        for edit in edits:
            positions = EditorPositions(text)
            start = positions.offset(edit.range.start.line, edit.range.start.character)
            end = positions.offset(edit.range.end.line, edit.range.end.character)
            text = text[:start] + edit.new_text + text[end:]
        self.texts[uri] = text
        changes = [types.TextDocumentContentChangePartial(e.range, e.new_text) for e in edits]
        self.change(
            types.NotebookDocumentCellChanges(
                text_content=[
                    types.NotebookDocumentCellContentChanges(
                        types.VersionedTextDocumentIdentifier(self.versions[uri], uri), changes
                    )
                ]
            )
        )

    def insert(self, index: int, text: str) -> str:
        uri = self.cell_uri()
        item = self.item(uri, types.NotebookCellKind.Code, text)
        cell = types.NotebookCell(types.NotebookCellKind.Code, uri)
        self.change(
            types.NotebookDocumentCellChanges(
                structure=types.NotebookDocumentCellChangeStructure(
                    types.NotebookCellArrayChange(index, 0, [cell]), did_open=[item]
                )
            )
        )
        return uri

    def remove(self, index: int, uri: str) -> None:
        self.change(
            types.NotebookDocumentCellChanges(
                structure=types.NotebookDocumentCellChangeStructure(
                    types.NotebookCellArrayChange(index, 1), did_close=[types.TextDocumentIdentifier(uri)]
                )
            )
        )


async def diagnostics_of(client: LanguageClient, *uris: str) -> list[list[types.Diagnostic]]:
    """The diagnostics next published for each of these cells, once all have come."""

    async def arrived() -> None:
        while not all(uri in client.diagnostics for uri in uris):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(arrived(), 30)
    return [list(client.diagnostics.pop(uri)) for uri in uris]


async def actions_on(client: LanguageClient, uri: str, where: types.Range, only=None) -> list[types.CodeAction]:
    params = types.CodeActionParams(
        types.TextDocumentIdentifier(uri), where, types.CodeActionContext(diagnostics=[], only=only)
    )
    return list(await client.text_document_code_action_async(params) or [])


def edits_to(action: types.CodeAction, uri: str) -> list[types.TextEdit]:
    assert action.edit is not None and action.edit.document_changes
    [edits] = [
        c.edits
        for c in action.edit.document_changes
        if isinstance(c, types.TextDocumentEdit) and c.text_document.uri == uri
    ]
    return [e for e in edits if isinstance(e, types.TextEdit)]


MARKDOWN, CODE = types.NotebookCellKind.Markup, types.NotebookCellKind.Code


async def test_the_server_says_it_syncs_jupyter_notebooks_of_python_cells():
    client = pytest_lsp.make_test_lsp_client()
    await client.start_io(*LSP_SERVER.server_command)
    capabilities = client_capabilities("visual-studio-code")
    capabilities.notebook_document = types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities()
    )
    result = await client.initialize_session(types.InitializeParams(capabilities=capabilities))
    await client.shutdown_session()
    await client.stop()
    sync = result.capabilities.notebook_document_sync
    assert isinstance(sync, types.NotebookDocumentSyncOptions) and sync.save
    [selector] = sync.notebook_selector
    assert selector.notebook == "jupyter-notebook" and [c.language for c in selector.cells or []] == ["python"]


async def test_a_mistake_is_reported_on_its_cell_and_an_edit_that_fixes_it_clears_it(
    client: LanguageClient, tmp_path: Path
):
    notebook = Notebook(client, tmp_path / "train.ipynb")
    title, setup, loop = notebook.open((MARKDOWN, TITLE), (CODE, SETUP), (CODE, LOOP))
    [[variable, other]] = await diagnostics_of(client, loop)
    assert variable.code == "AGL003" and variable.data["name"] == "deprecated-variable"
    # Line 5 of its own cell; after é (1 UTF-16 unit) and 😀 (2 units). The torch import two cells
    # up counts, though that cell holds a magic.
    assert variable.range == types.Range(types.Position(5, 12), types.Position(5, 50))
    assert other.range.start == types.Position(6, 4)
    assert title not in client.diagnostics and setup not in client.diagnostics

    # Typing is sent as ranges: a line added above moves both down.
    notebook.edit(loop, [types.TextEdit(types.Range(types.Position(0, 0), types.Position(0, 0)), "# train\n")])
    [[variable, other]] = await diagnostics_of(client, loop)
    assert (variable.range.start, other.range.start) == (types.Position(6, 12), types.Position(7, 4))
    notebook.edit(
        loop, [types.TextEdit(variable.range, "torch.ones(3)"), types.TextEdit(other.range, "torch.zeros(1)")]
    )
    assert await diagnostics_of(client, loop) == [[]]
    assert notebook.texts[loop].startswith("# train\nfor batch")


@pytest.mark.parametrize("title", ["Fix AGL003", "Add `# noqa: AGL003`"])
async def test_a_code_action_on_a_cell_edits_that_cell_and_its_diagnostic_goes(
    client: LanguageClient, tmp_path: Path, title: str
):
    notebook = Notebook(client, tmp_path / "train.ipynb")
    _, _, loop = notebook.open((MARKDOWN, TITLE), (CODE, SETUP), (CODE, LOOP))
    [[variable, other]] = await diagnostics_of(client, loop)
    [action] = [a for a in await actions_on(client, loop, variable.range) if a.title.startswith(title)]
    assert action.diagnostics and action.diagnostics[0].code == "AGL003"
    edits = edits_to(action, loop)
    after = apply_action(notebook.texts[loop], action, loop)
    fixed = 'w = {"é😀": torch.ones(3)}\n' if title.startswith("Fix") else "))}  # noqa: AGL003\n"
    assert fixed in after
    notebook.edit(loop, edits)
    assert notebook.texts[loop] == after
    [[left]] = await diagnostics_of(client, loop)  # the other one, still where it was
    assert left.range == other.range


async def test_fix_all_in_a_cell_fixes_the_notebook(client: LanguageClient, tmp_path: Path):
    notebook = Notebook(client, tmp_path / "train.ipynb")
    first = "import torch\nx = torch.autograd.Variable(torch.ones(3))"
    _, setup, loop = notebook.open((MARKDOWN, TITLE), (CODE, first), (CODE, LOOP))
    await diagnostics_of(client, setup, loop)
    everything = types.Range(types.Position(0, 0), types.Position(0, 0))
    [fix_all] = await actions_on(client, loop, everything, only=[types.CodeActionKind.SourceFixAll])
    assert fix_all.kind == "source.fixAll.autograd-lint"
    assert apply_action(notebook.texts[setup], fix_all, setup) == "import torch\nx = torch.ones(3)"
    assert apply_action(notebook.texts[loop], fix_all, loop).endswith('w = {"é😀": torch.ones(3)}\nv = torch.zeros(1)')


async def test_a_fix_that_would_move_code_between_cells_is_not_offered(client: LanguageClient, tmp_path: Path):
    notebook = Notebook(client, tmp_path / "train.ipynb")
    built = SETUP + "\nloss = model(torch.ones(3)).sum()"
    stale = "for step in range(3):\n    optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()"
    _, _, loop = notebook.open((MARKDOWN, TITLE), (CODE, built), (CODE, stale))
    [[graph]] = await diagnostics_of(client, loop)
    assert graph.code == "AGL001" and graph.data["fix"] is None
    titles = [a.title for a in await actions_on(client, loop, graph.range)]
    assert titles == ["Add `# noqa: AGL001`"]  # its fix would move the loss out of the cell above


async def test_a_cell_added_is_checked_and_a_cell_removed_is_cleared(client: LanguageClient, tmp_path: Path):
    notebook = Notebook(client, tmp_path / "train.ipynb")
    _, setup, loop = notebook.open((MARKDOWN, TITLE), (CODE, SETUP), (CODE, LOOP))
    await diagnostics_of(client, loop)
    added = notebook.insert(2, "y = torch.autograd.Variable(torch.zeros(2))")
    [[variable]] = await diagnostics_of(client, added)
    assert variable.code == "AGL003" and variable.range.start == types.Position(0, 4)

    notebook.remove(2, added)
    assert await diagnostics_of(client, added) == [[]]
    notebook.remove(1, setup)  # torch is no longer imported: the loop's cell has no finding left
    assert await diagnostics_of(client, loop) == [[]]


async def test_hover_on_a_cell_shows_the_rule(client: LanguageClient, tmp_path: Path):
    notebook = Notebook(client, tmp_path / "train.ipynb")
    _, _, loop = notebook.open((MARKDOWN, TITLE), (CODE, SETUP), (CODE, LOOP))
    [[variable, _]] = await diagnostics_of(client, loop)
    shown = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(loop), variable.range.start)
    )
    assert shown is not None and isinstance(shown.contents, types.MarkupContent)
    assert "**AGL003** `deprecated-variable`" in shown.contents.value


async def test_the_notebook_gets_its_projects_config_and_closing_it_clears_its_cells(
    client: LanguageClient, tmp_path: Path
):
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "pyproject.toml").write_text('[tool.autograd-lint]\nignore = ["AGL003"]\n')
    legacy = Notebook(client, tmp_path / "legacy" / "old.ipynb")
    [old] = legacy.open((CODE, SETUP + "\nx = torch.autograd.Variable(torch.ones(3))"))
    notebook = Notebook(client, tmp_path / "train.ipynb")
    _, _, loop = notebook.open((MARKDOWN, TITLE), (CODE, SETUP), (CODE, LOOP))
    assert len((await diagnostics_of(client, loop))[0]) == 2
    assert old not in client.diagnostics  # checked first, and clean

    client.notebook_document_did_close(
        types.DidCloseNotebookDocumentParams(
            types.NotebookDocumentIdentifier(notebook.uri), [types.TextDocumentIdentifier(loop)]
        )
    )
    assert await diagnostics_of(client, loop) == [[]]


@pytest.mark.parametrize("client", [{"run": "onSave"}], indirect=True)
async def test_run_on_save_checks_a_notebook_on_save_only(client: LanguageClient, tmp_path: Path):
    notebook = Notebook(client, tmp_path / "train.ipynb")
    _, setup, loop = notebook.open((MARKDOWN, TITLE), (CODE, SETUP), (CODE, LOOP))
    await diagnostics_of(client, loop)
    notebook.edit(setup, [types.TextEdit(types.Range(types.Position(0, 0), types.Position(0, 12)), "import numpy")])
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(diagnostics_of(client, loop), 1.0)
    client.notebook_document_did_save(
        types.DidSaveNotebookDocumentParams(types.NotebookDocumentIdentifier(notebook.uri))
    )
    assert await diagnostics_of(client, loop) == [[]]  # torch is no longer imported


async def test_a_settings_change_rechecks_open_notebooks(client: LanguageClient, tmp_path: Path):
    notebook = Notebook(client, tmp_path / "train.ipynb")
    _, _, loop = notebook.open((MARKDOWN, TITLE), (CODE, SETUP), (CODE, LOOP))
    await diagnostics_of(client, loop)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"autograd-lint": {"ignore": ["deprecated-variable"]}})
    )
    assert await diagnostics_of(client, loop) == [[]]

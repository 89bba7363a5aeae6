"""``autograd-lint server`` driven by a real LSP client (pytest-lsp) over stdio, as an editor would."""

from __future__ import annotations

import asyncio
from pathlib import Path
from textwrap import dedent

import pytest
import pytest_lsp
from conftest import LSP_SERVER, apply_action, lsp_uri, next_diagnostics
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from autograd_lint.urls import rule_url

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

VARIABLE = dedent(
    """\
    import torch

    x = torch.autograd.Variable(torch.ones(3))
    y = {"é😀": torch.autograd.Variable(torch.ones(3))}
    """
)

TRAINING = dedent(
    """\
    import torch

    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for batch in torch.randn(10, 3):
        loss = model(batch).sum()
        loss.backward()
        optimizer.step()
    """
)


def _send_change(client: LanguageClient, path: Path, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version, lsp_uri(path)),
            [types.TextDocumentContentChangeWholeDocument(text)],
        )
    )


async def _open(client: LanguageClient, path: Path, text: str) -> types.PublishDiagnosticsParams:
    published = next_diagnostics(client)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(lsp_uri(path), "python", 1, text))
    )
    return await asyncio.wait_for(published, 30)


async def _change(client: LanguageClient, path: Path, text: str, version: int) -> types.PublishDiagnosticsParams:
    published = next_diagnostics(client)
    _send_change(client, path, text, version)
    return await asyncio.wait_for(published, 30)


async def _actions(client: LanguageClient, path: Path, where: types.Range, only=None) -> list[types.CodeAction]:
    params = types.CodeActionParams(
        types.TextDocumentIdentifier(lsp_uri(path)), where, types.CodeActionContext(diagnostics=[], only=only)
    )
    return list(await client.text_document_code_action_async(params) or [])


def _lines(text: str, *names: str) -> types.Range:
    """The whole first line that holds each name: what an editor asks code actions for."""
    line, content = next((i, c) for i, c in enumerate(text.splitlines()) if all(n in c for n in names))
    return types.Range(types.Position(line, 0), types.Position(line, len(content)))


async def test_open_fix_apply_and_the_diagnostic_is_gone(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "train.py"
    published = await _open(client, path, VARIABLE)
    first, second = published.diagnostics
    assert first.code == "AGL003" and first.source == "autograd-lint"
    assert first.severity == types.DiagnosticSeverity.Warning
    assert first.code_description is not None and first.code_description.href == rule_url("AGL003")
    assert "deprecated" in first.message and first.data["name"] == "deprecated-variable"
    assert first.range == types.Range(types.Position(2, 4), types.Position(2, 42))
    # After é (1 UTF-16 unit) and 😀 (2 units): what the editor counts, not characters.
    assert second.range.start == types.Position(3, 12)

    actions = await _actions(client, path, first.range)
    fix = next(a for a in actions if a.kind == types.CodeActionKind.QuickFix and a.title.startswith("Fix AGL003"))
    assert "(unsafe)" not in fix.title and fix.diagnostics and fix.diagnostics[0].code == "AGL003"
    fixed = apply_action(VARIABLE, fix)
    assert "x = torch.ones(3)\n" in fixed

    published = await _change(client, path, fixed, 2)
    assert published.version == 2
    assert [d.range.start.line for d in published.diagnostics] == [3]


async def test_fix_all_applies_every_safe_fix_and_leaves_the_unsafe_ones(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "train.py"
    text = VARIABLE + TRAINING.replace("import torch\n", "")
    published = await _open(client, path, text)
    assert sorted(d.code for d in published.diagnostics) == ["AGL002", "AGL003", "AGL003"]

    everything = types.Range(types.Position(0, 0), types.Position(0, 0))
    [fix_all] = await _actions(client, path, everything, only=[types.CodeActionKind.SourceFixAll])
    assert fix_all.kind == "source.fixAll.autograd-lint" and fix_all.title.startswith("Fix all safe problems")
    published = await _change(client, path, apply_action(text, fix_all), 2)
    assert [d.code for d in published.diagnostics] == ["AGL002"]


async def test_unsafe_fixes_are_offered_as_such_and_a_setting_hides_them(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "train.py"
    await _open(client, path, TRAINING)
    where = _lines(TRAINING, "loss.backward")
    titles = [a.title for a in await _actions(client, path, where)]
    assert any(t.startswith("Fix AGL002") and t.endswith("(unsafe)") for t in titles), titles

    published = next_diagnostics(client)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"autograd-lint": {"unsafeFixes": False}})
    )
    await asyncio.wait_for(published, 30)
    titles = [a.title for a in await _actions(client, path, where)]
    assert titles == ["Add `# noqa: AGL002`"]


async def test_noqa_action_merges_with_the_comment_there(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "train.py"
    text = VARIABLE.replace("torch.ones(3))\n", "torch.ones(3))  # noqa: E501\n", 1)
    published = await _open(client, path, text)
    actions = await _actions(client, path, published.diagnostics[0].range)
    [noqa] = [a for a in actions if "noqa" in a.title]
    assert noqa.title == "Add `# noqa: AGL003`"
    silenced = apply_action(text, noqa)
    assert "torch.ones(3))  # noqa: E501, AGL003\n" in silenced
    published = await _change(client, path, silenced, 2)
    assert [d.range.start.line for d in published.diagnostics] == [3]


async def test_hover_shows_the_rule_summary_and_its_docs(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "train.py"
    published = await _open(client, path, VARIABLE)
    where = published.diagnostics[0].range.start
    shown = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(lsp_uri(path)), types.Position(where.line, where.character + 3))
    )
    assert shown is not None and isinstance(shown.contents, types.MarkupContent)
    assert "**AGL003** `deprecated-variable`: Flags every use of `torch.autograd.Variable`" in shown.contents.value
    assert rule_url("AGL003") in shown.contents.value
    nothing = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(lsp_uri(path)), types.Position(0, 0))
    )
    assert nothing is None


async def test_settings_change_rechecks_open_documents(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "train.py"
    published = await _open(client, path, VARIABLE + TRAINING)
    assert {d.code for d in published.diagnostics} == {"AGL002", "AGL003"}
    published = next_diagnostics(client)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"autograd-lint": {"ignore": ["deprecated-variable"]}})
    )
    assert {d.code for d in (await asyncio.wait_for(published, 30)).diagnostics} == {"AGL002"}


async def test_a_bad_setting_is_shown_once_and_the_old_settings_stay(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "train.py"
    await _open(client, path, VARIABLE)
    published = next_diagnostics(client)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"select": ["AGL999"]}))
    assert [d.code for d in (await asyncio.wait_for(published, 30)).diagnostics] == ["AGL003", "AGL003"]
    assert [m.message for m in client.messages] == [
        "autograd-lint: setting 'select': unknown rule selector 'AGL999' (see 'autograd-lint rules')"
    ]


@pytest.mark.parametrize("client", [{"debounceMs": 1000}], indirect=True)
async def test_typing_is_checked_once_the_burst_ends(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "train.py"
    await _open(client, path, VARIABLE)
    published = next_diagnostics(client)
    # A burst of keystrokes well inside the debounce, even on a loaded machine; most of these
    # texts do not parse.
    ends = list(range(len("import torch\n"), len(VARIABLE), 7)) + [len(VARIABLE)]
    for version, end in enumerate(ends, start=2):
        _send_change(client, path, VARIABLE[:end], version)
    first = await asyncio.wait_for(published, 30)
    assert first.version == len(ends) + 1 and len(first.diagnostics) == 2
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(next_diagnostics(client), 0.5)


async def test_a_broken_buffer_clears_its_diagnostics_and_the_server_carries_on(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "train.py"
    await _open(client, path, VARIABLE)
    published = await _change(client, path, VARIABLE + "for x in (:\n", 2)
    assert list(published.diagnostics) == []
    published = await _change(client, path, VARIABLE, 3)
    assert len(published.diagnostics) == 2


@pytest.mark.parametrize("client", [{"run": "onSave"}], indirect=True)
async def test_run_on_save_checks_on_save_only(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "train.py"
    assert len((await _open(client, path, VARIABLE)).diagnostics) == 2
    with pytest.raises(asyncio.TimeoutError):
        await _change_within(client, path, "import torch\n", 2, seconds=1.0)
    published = next_diagnostics(client)
    client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(lsp_uri(path))))
    assert list((await asyncio.wait_for(published, 30)).diagnostics) == []


async def _change_within(client: LanguageClient, path: Path, text: str, version: int, seconds: float):
    published = next_diagnostics(client)
    _send_change(client, path, text, version)
    return await asyncio.wait_for(published, seconds)


async def test_each_document_gets_its_own_projects_config(client: LanguageClient, tmp_path: Path):
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "pyproject.toml").write_text('[tool.autograd-lint]\nignore = ["AGL003"]\n')
    (tmp_path / "vendored").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.autograd-lint]\nextend-exclude = ["vendored"]\n')
    assert len((await _open(client, tmp_path / "new.py", VARIABLE)).diagnostics) == 2
    assert list((await _open(client, tmp_path / "legacy" / "old.py", VARIABLE)).diagnostics) == []
    assert list((await _open(client, tmp_path / "vendored" / "lib.py", VARIABLE)).diagnostics) == []


async def test_closing_a_document_clears_its_diagnostics(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "train.py"
    await _open(client, path, VARIABLE)
    published = next_diagnostics(client)
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(lsp_uri(path))))
    assert list((await asyncio.wait_for(published, 30)).diagnostics) == []


@pytest.mark.parametrize("client", [{"positionEncodings": ["utf-8", "utf-16"]}], indirect=True)
async def test_a_client_counting_utf8_gets_utf8_columns(client: LanguageClient, tmp_path: Path):
    published = await _open(client, tmp_path / "train.py", VARIABLE)
    # `y = {"é😀": ` is 11 characters, 12 UTF-16 units and 15 bytes.
    assert published.diagnostics[1].range.start == types.Position(3, 15)


async def test_the_server_exits_cleanly_after_shutdown(capfd: pytest.CaptureFixture[str]):
    """pygls closes stdout on exit; the CLI's final flush must not turn that into a traceback."""
    client = pytest_lsp.make_test_lsp_client()
    await client.start_io(*LSP_SERVER.server_command)
    await client.initialize_session(types.InitializeParams(capabilities=client_capabilities("neovim")))
    await client.shutdown_session()
    assert client._server is not None and client._server.returncode == 0
    await asyncio.sleep(0.1)  # the stderr forwarder's last lines
    await client.stop()
    assert "Traceback" not in capfd.readouterr().err

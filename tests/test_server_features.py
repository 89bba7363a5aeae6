"""The language server's answers as plain functions: settings, the edits it sends, and notebook cells."""

from __future__ import annotations

from textwrap import dedent

import pytest
from lsprotocol import types

from autograd_lint.config import ConfigError
from autograd_lint.server_features import Settings, check_document, smallest_edit
from autograd_lint.server_notebooks import CellText, changed_text, check_notebook_document


def test_settings_come_bare_or_under_the_tool_s_key_and_keep_what_is_left_out():
    base = Settings.from_options({"autograd-lint": {"run": "onSave", "ignore": ["AGL008"]}})
    assert (base.run, base.ignore, base.unsafe_fixes) == ("onSave", ("AGL008",), True)
    changed = Settings.from_options({"unsafeFixes": False, "select": "AGL001,stale-graph"}, base)
    assert (changed.run, changed.select, changed.unsafe_fixes) == ("onSave", ("AGL001", "stale-graph"), False)
    assert Settings.from_options(None, base) == base


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"select": ["AGL999"]}, "setting 'select': unknown rule selector 'AGL999'"),
        ({"run": "always"}, "setting 'run' must be one of onType, onSave, not 'always'"),
        ({"debounceMs": -1}, "setting 'debounceMs' must be a whole number"),
        ({"ignore": 3}, "setting 'ignore' must be a list"),
    ],
)
def test_a_bad_setting_is_one_clear_message(options, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_options(options)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a = 1\r\nb = 2\r\n", "a = 1\r\nc = 3\r\nb = 2\r\n"),
        ("a\r\nb", "a\nb"),  # the common tail starts with the \n of a \r\n
        ("a\r\nb", "a\rx\nb"),  # the common head ends with the \r of one
    ],
)
def test_fix_all_edit_spans_only_the_change_and_never_splits_a_crlf(before, after):
    edit = smallest_edit(before, after)
    assert before[: edit.start] + edit.content + before[edit.end :] == after
    for offset in (edit.start, edit.end):
        assert before[offset - 1 : offset + 1] != "\r\n"


def test_a_document_that_does_not_parse_has_no_findings_and_no_error(tmp_path):
    source = dedent(
        """\
        import torch
        x = torch.autograd.Variable(torch.ones(3))
        for x in (:
        """
    )
    check = check_document(source, str(tmp_path / "t.py"), 1, Settings())
    assert check.findings == () and check.error is None


def test_a_cell_s_range_edits_count_lsp_line_ends_and_the_editor_s_units():
    # U+2028 and a form feed end lines for str.splitlines, not for LSP: the edit lands on line 1.
    text = "a = '\u2028\x0c'\r\nb = '😀x'\n"
    change = types.TextDocumentContentChangePartial(types.Range(types.Position(1, 7), types.Position(1, 8)), "y")
    assert changed_text(text, [change], "utf-16") == "a = '\u2028\x0c'\r\nb = '😀y'\n"
    whole = types.TextDocumentContentChangeWholeDocument("c = 3\n")
    assert changed_text(text, [change, whole], "utf-16") == "c = 3\n"


def test_a_notebook_s_python_cells_are_checked_as_one_module_and_the_others_left_out(tmp_path):
    cells = [
        CellText("cell:1", 1, "import torch\n%load_ext autoreload", True),
        CellText("cell:2", 1, "# Notes\nx = torch.autograd.Variable(torch.ones(3))", False),  # markdown
        CellText("cell:3", 1, "library(torch)\nx <- torch.autograd.Variable(1)", False),  # a cell in R
        CellText("cell:4", 3, "x = torch.autograd.Variable(torch.ones(3))", True),
    ]
    check = check_notebook_document(cells, str(tmp_path / "nb.ipynb"), Settings())
    assert check.error is None and list(check.cells) == ["cell:1", "cell:4"]
    [finding] = check.cells["cell:4"].findings
    assert (finding.code, finding.line, finding.column, finding.cell) == ("AGL003", 1, 5, 4)
    assert check.cells["cell:4"].version == 3 and check.cells["cell:1"].findings == ()

"""The language server's answers as plain functions: settings, and the edits it sends."""

from __future__ import annotations

from textwrap import dedent

import pytest

from autograd_lint.config import ConfigError
from autograd_lint.server_features import Settings, check_document, smallest_edit


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

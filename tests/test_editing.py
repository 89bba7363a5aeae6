"""Positions in an editor's units and the ``# noqa`` edit: what the language server sends."""

from __future__ import annotations

from textwrap import dedent

import pytest

from autograd_lint.editing import EditorPositions, noqa_edit
from autograd_lint.engine import check_source
from autograd_lint.finding import Fix
from autograd_lint.fixer import apply_fixes

NON_ASCII = dedent(
    """\
    import torch
    from torch.autograd import Variable

    y = {"é😀": Variable(torch.ones(3))}
    """
)


def test_columns_count_utf16_code_units_on_non_ascii_lines():
    [_, finding] = check_source(NON_ASCII, "t.py")
    assert (finding.line, finding.column) == (4, 12)  # characters: é and 😀 are one each
    positions = EditorPositions(NON_ASCII)
    # LSP: 0-based line; 😀 is two UTF-16 code units, é one.
    assert positions.line_column(finding.line, finding.column) == (3, 12)
    assert positions.line_column(finding.end_line, finding.end_column) == (3, 12 + len("Variable(torch.ones(3))"))


@pytest.mark.parametrize(("encoding", "character"), [("utf-16", 12), ("utf-8", 15), ("utf-32", 11)])
def test_columns_in_the_negotiated_encoding_round_trip(encoding, character):
    positions = EditorPositions(NON_ASCII, encoding)
    offset = NON_ASCII.index("Variable(torch")
    assert positions.position(offset) == (3, character)
    assert positions.offset(3, character) == offset


def test_lines_end_at_crlf_and_cr_as_lsp_says():
    source = "a = 1\r\nb = 2\rc = 3\n"
    positions = EditorPositions(source)
    assert positions.position(source.index("c")) == (2, 0)
    assert positions.offset(1, 99) == source.index("\rc")  # past a line's end is its end
    assert positions.offset(9, 0) == len(source)


def _with_noqa(source: str, line: int, code: str) -> str | None:
    edit = noqa_edit(source, line, code)
    return None if edit is None else apply_fixes(source, [Fix("noqa", "safe", (edit,))])


def test_noqa_is_appended_after_the_code_and_its_trailing_spaces():
    assert _with_noqa("x = f(a)   \ny = 2\n", 1, "AGL003") == "x = f(a)  # noqa: AGL003\ny = 2\n"


def test_noqa_merges_with_the_codes_already_there():
    assert _with_noqa("x = f(a)  # noqa: E501\n", 1, "AGL003") == "x = f(a)  # noqa: E501, AGL003\n"
    assert noqa_edit("x = f(a)  # noqa: AGL003\n", 1, "AGL003") is None


def test_noqa_goes_after_an_ordinary_comment():
    assert _with_noqa("x = f(a)  # why\n", 1, "AGL003") == "x = f(a)  # why  # noqa: AGL003\n"


def test_noqa_in_a_string_is_not_a_comment():
    assert _with_noqa('x = f("# noqa: E501")\n', 1, "AGL003") == 'x = f("# noqa: E501")  # noqa: AGL003\n'


def test_no_noqa_where_a_comment_would_change_the_code():
    inside_string = 'x = f("""a\nb""")\n'
    continued = "x = f(a) + \\\n    g(b)\n"
    assert noqa_edit(inside_string, 1, "AGL003") is None
    assert noqa_edit(continued, 1, "AGL003") is None
    assert _with_noqa(continued, 2, "AGL003") == "x = f(a) + \\\n    g(b)  # noqa: AGL003\n"


def test_noqa_on_a_last_line_without_newline():
    assert _with_noqa("x = f(a)", 1, "AGL003") == "x = f(a)  # noqa: AGL003"

"""positions.py counts characters through a private libcst class; it must agree with libcst's
own PositionProvider on every node, so a libcst upgrade that changes codegen fails here first."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from autograd_lint.positions import LineIndex, node_ranges

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SOURCES = {
    "tabs, CRLF, unicode": "import torch\r\nif True:\r\n\tx = torch.ones(3)  # π\r\n\ty = {'é': [x,\r\n\t\t1]}\r\n",
    "decorators and strings": textwrap.dedent(
        '''\
        @decorator(
            arg=1,
        )
        def f(a, /, b, *, c=2):
            """doc"""
            return f"{a!r:>10}" + b"\\x00".decode()
        '''
    ),
    "no final newline": "x = [\n    1,\n    2]",
    **{p.name: p.read_text(encoding="utf-8") for p in sorted((FIXTURES / "mistakes").glob("*.py"))[:6]},
}


@pytest.mark.parametrize("source", SOURCES.values(), ids=SOURCES.keys())
def test_ranges_agree_with_libcst_position_provider(source):
    wrapper = MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    expected = wrapper.resolve(PositionProvider)
    ranges = node_ranges(wrapper.module)
    lines = LineIndex(source)
    checked = 0
    for node, code_range in expected.items():
        if node not in ranges or isinstance(node, cst.Module):
            continue
        start, end = ranges[node]
        # PositionProvider: 1-based lines, 0-based columns, end exclusive; ours: 1-based columns.
        assert lines.position(start) == (code_range.start.line, code_range.start.column + 1), node
        assert lines.position(end) == (code_range.end.line, code_range.end.column + 1), node
        checked += 1
    assert checked >= 5

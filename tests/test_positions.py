"""positions.py counts characters through a private libcst class; it must agree with libcst's
own PositionProvider on every node, so a libcst upgrade that changes codegen fails here first."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from autograd_lint.engine import analyse
from autograd_lint.positions import LineIndex, NodeRanges, node_ranges

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


REPEATED = "import torch\nx = torch.ones(3)\nx = torch.ones(3)\nfor _ in range(3):\n    x.sum().backward()\n"


@pytest.mark.parametrize("source", [*SOURCES.values(), REPEATED], ids=[*SOURCES.keys(), "a repeated statement"])
def test_ranges_placed_a_statement_at_a_time_are_the_whole_module_ranges(source):
    module = cst.parse_module(source)
    context, _ = analyse(module, source, "x.py", [])
    whole = node_ranges(module)
    nodes = [node for node in context.tree.order if node in whole and node is not module]
    shared = NodeRanges(module, source, context.tree.parents)
    for node in reversed(nodes):  # the last statement first: it may be the one left without a newline
        assert shared[node] == whole[node], node
        assert NodeRanges(module, source, context.tree.parents)[node] == whole[node], node


def test_a_statement_repeated_verbatim_falls_back_to_the_whole_module():
    module = cst.parse_module(REPEATED)
    context, _ = analyse(module, REPEATED, "x.py", [])
    ranges = NodeRanges(module, REPEATED, context.tree.parents)
    assert ranges[module.body[2]] == node_ranges(module)[module.body[2]] == (31, 48)
    assert ranges._whole
    unique = NodeRanges(module, REPEATED, context.tree.parents)
    assert unique[module.body[3]] == node_ranges(module)[module.body[3]]
    assert not unique._whole

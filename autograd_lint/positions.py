"""Source ranges for the few nodes that are reported or rewritten.

libcst's ``PositionProvider`` tracks line and column for every token and costs about
three parses; a plain code generation costs a fifth of one. Since the generated code
is the source itself, counting characters is enough: offsets become lines and
columns through a table of line starts. It runs only for files with findings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import libcst as cst
from libcst._nodes.internal import CodegenState

from .lines import LineIndex

__all__ = ["LineIndex", "node_ranges"]


class _OffsetState(CodegenState):
    def __init__(self, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.offset = 0
        self.ranges: dict[cst.CSTNode, tuple[int, int]] = {}

    def add_token(self, value: str) -> None:
        self.offset += len(value)

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.offset += len(token)

    def pop_trailing_newline(self) -> None:
        # Only the end of the module moves; no recorded range is affected.
        pass

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Iterator[None]:
        start = self.offset
        try:
            yield
        finally:
            ranges = self.ranges
            if start_node is not None and start_node in ranges:
                start = ranges[start_node][0]
            end = ranges[end_node][1] if end_node is not None and end_node in ranges else self.offset
            ranges[node] = (start, end)


def node_ranges(module: cst.Module) -> dict[cst.CSTNode, tuple[int, int]]:
    """Character offsets ``(start, end)`` of every node's syntactic extent."""
    state = _OffsetState(module)
    module._codegen(state)
    return state.ranges

"""Source ranges for the few nodes that are reported or rewritten.

libcst's ``PositionProvider`` tracks line and column for every token and costs about
three parses; a plain code generation costs a fifth of one. Since the generated code
is the source itself, counting characters is enough: offsets become lines and
columns through a table of line starts. It runs only for files with findings, and
``NodeRanges`` generates only the top-level statements that hold a node asked about.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import libcst as cst
from libcst._nodes.internal import CodegenState

from .lines import LineIndex

__all__ = ["LineIndex", "NodeRanges", "node_ranges"]


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


class _TextState(_OffsetState):
    """Counts like ``_OffsetState`` and keeps the text too, to find it in the source."""

    def add_token(self, value: str) -> None:
        self.offset += len(value)
        self.tokens.append(value)

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.offset += len(token)
            self.tokens.append(token)


class NodeRanges:
    """``node_ranges(module)``, computed a top-level statement at a time, on first ask.

    A top-level statement's code is generated alone, as the module's code generation would
    (no indentation around it, the module's defaults), and placed where that text occurs in
    the source. Only a text that occurs exactly once is placed so; otherwise (a statement
    repeated verbatim, the last one of a file without a final newline, a node outside every
    statement) the whole module is generated, and every answer is ``node_ranges``' own.
    """

    def __init__(self, module: cst.Module, source: str, parents: Mapping[cst.CSTNode, cst.CSTNode]) -> None:
        self.module = module
        self.source = source
        self.parents = parents
        self._ranges: dict[cst.CSTNode, tuple[int, int]] = {}
        self._placed: set[cst.CSTNode] = set()
        self._whole = False

    def __getitem__(self, node: cst.CSTNode) -> tuple[int, int]:
        found = self._ranges.get(node)
        if found is not None:
            return found
        if not self._whole:
            statement = self._top_level_statement(node)
            if statement is not None and statement not in self._placed and self._place(statement):
                found = self._ranges.get(node)
                if found is not None:
                    return found
            self._ranges = node_ranges(self.module)
            self._whole = True
        return self._ranges[node]

    def _top_level_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        module, parents = self.module, self.parents
        current, parent = node, parents.get(node)
        while parent is not None and parent is not module:
            current, parent = parent, parents.get(parent)
        return current if parent is module else None

    def _place(self, statement: cst.CSTNode) -> bool:
        state = _TextState(self.module)
        statement._codegen(state)
        text = "".join(state.tokens)
        start = self.source.find(text)
        if not text or start < 0 or self.source.find(text, start + 1) >= 0:
            return False
        self._placed.add(statement)
        ranges = self._ranges
        for node, (begin, end) in state.ranges.items():
            ranges[node] = (begin + start, end + start)
        return True

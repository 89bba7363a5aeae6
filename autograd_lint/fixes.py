"""The edits rules ask for, by node, and their resolution into character offsets.

Rules speak in nodes (replace this call, insert a line before that statement); once the file
has findings, the engine knows every node's offsets and turns each ``PendingFix`` into a
``Fix`` of plain ``Edit``s, or drops it when the layout does not allow it (say, an anchor
sharing its line with other code).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from .finding import Applicability, Edit, Fix
from .positions import LineIndex, NodeRanges


@dataclass(frozen=True)
class TextRange:
    """Character offsets ``[start, end)`` into the source, for what has no node of its own:
    a comment, or a part of one."""

    start: int
    end: int


@dataclass(frozen=True)
class Replace:
    node: cst.CSTNode | TextRange
    code: str


@dataclass(frozen=True)
class InsertStatement:
    """Insert ``lines`` (one statement each, no indentation) before or after ``anchor``,
    at ``anchor``'s indentation."""

    anchor: cst.CSTNode
    lines: tuple[str, ...]
    after: bool = False


@dataclass(frozen=True)
class RemoveStatement:
    statement: cst.CSTNode


@dataclass(frozen=True)
class ReplaceStatement:
    """Replace a whole statement line by ``lines``: ``(extra indent levels, code)`` pairs,
    indented like the statement. A trailing comment goes on line ``comment_line``."""

    statement: cst.CSTNode
    lines: tuple[tuple[int, str], ...]
    comment_line: int = -1


PendingEdit = Replace | InsertStatement | RemoveStatement | ReplaceStatement


@dataclass(frozen=True)
class PendingFix:
    """A fix as a rule states it. Its ``applicability`` is this fix's own: one rule may offer
    a safe fix in one shape and an unsafe one in another."""

    description: str
    applicability: Applicability
    edits: tuple[PendingEdit, ...]


class FixResolver:
    """Turns pending fixes into offset edits for one file."""

    def __init__(self, module: cst.Module, source: str, ranges: NodeRanges, lines: LineIndex):
        self.module = module
        self.source = source
        self.ranges = ranges
        self.lines = lines

    def resolve(self, pending: PendingFix) -> Fix | None:
        edits: list[Edit] = []
        for edit in pending.edits:
            resolved = self._edit(edit)
            if resolved is None:
                return None
            edits.append(resolved)
        return Fix(pending.description, pending.applicability, tuple(sorted(edits, key=lambda e: (e.start, e.end))))

    def _edit(self, edit: PendingEdit) -> Edit | None:
        if isinstance(edit, Replace):
            if isinstance(edit.node, TextRange):
                return Edit(edit.node.start, edit.node.end, edit.code)
            start, end = self.ranges[edit.node]
            return Edit(start, end, edit.code)
        source, lines, newline = self.source, self.lines, self.module.default_newline
        node = edit.anchor if isinstance(edit, InsertStatement) else edit.statement
        start, end = self.ranges[node]
        line_start = lines.line_start(lines.position(start)[0])
        indent = source[line_start:start]
        if indent.strip():
            return None  # the statement shares its line with other code
        line_end = lines.line_end(lines.position(max(end - 1, start))[0])
        if isinstance(edit, InsertStatement):
            text = "".join(indent + line + newline for line in edit.lines)
            if not edit.after:
                return Edit(line_start, line_start, text)
            if line_end == len(source) and not source.endswith(("\n", "\r")):
                text = newline + text.rstrip("\r\n")
            return Edit(line_end, line_end, text)
        if isinstance(edit, RemoveStatement):
            return Edit(line_start, line_end, "")
        tail = source[end:line_end].rstrip("\r\n")
        ending = source[end + len(tail) : line_end]
        unit = self.module.default_indent
        body = [indent + unit * level + code for level, code in edit.lines]
        body[edit.comment_line] += tail
        return Edit(line_start, line_end, newline.join(body) + ending)

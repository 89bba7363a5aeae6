"""Offsets to 1-based lines and columns: a table of line starts, no parsing (no libcst either,
so the report formats and the text pre-check stay cheap to import)."""

from __future__ import annotations

import re
from bisect import bisect_right

_NEWLINE = re.compile(r"\r\n|\r|\n")


class LineIndex:
    """Converts character offsets into 1-based lines and columns."""

    def __init__(self, source: str) -> None:
        starts = [0]
        starts.extend(match.end() for match in _NEWLINE.finditer(source))
        self.starts = starts
        self.length = len(source)

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def line_start(self, line: int) -> int:
        return self.starts[line - 1]

    def line_end(self, line: int) -> int:
        """Offset just past the line's newline (or the end of the text)."""
        return self.starts[line] if line < len(self.starts) else self.length

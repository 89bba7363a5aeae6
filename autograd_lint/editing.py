"""Text edits an editor asks for that are not a rule's fix: positions in an editor's units and
a ``# noqa`` comment added to a line. Pure functions of the source text, no LSP types."""

from __future__ import annotations

import io
import re
import tokenize

from .finding import Edit
from .positions import LineIndex

# The comment's codes, as noqa.py reads them; group "codes" is what we extend.
_NOQA_CODES = re.compile(r"#\s*noqa(?P<colon>:\s*)(?P<codes>[\w-]+(?:[\s,]+[\w-]+)*)", re.IGNORECASE)
_BARE_NOQA = re.compile(r"#\s*noqa(?!:)", re.IGNORECASE)


def _units(text: str, encoding: str) -> int:
    """The length of ``text`` in an editor's code units: LSP counts UTF-16 by default."""
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


class EditorPositions:
    """Offsets in a text <-> ``(line, character)`` as an editor counts them: 0-based lines split at
    ``\\n``, ``\\r\\n`` or ``\\r`` (LSP's line ends, and ours) and columns in code units of
    ``encoding`` (``utf-16``, ``utf-8`` or ``utf-32``)."""

    def __init__(self, source: str, encoding: str = "utf-16") -> None:
        self.source = source
        self.encoding = encoding
        self.lines = LineIndex(source)

    def position(self, offset: int) -> tuple[int, int]:
        line, column = self.lines.position(min(max(offset, 0), len(self.source)))
        start = self.lines.line_start(line)
        return line - 1, _units(self.source[start : start + column - 1], self.encoding)

    def line_column(self, line: int, column: int) -> tuple[int, int]:
        """A finding's 1-based line and character column, in the editor's units."""
        if line > len(self.lines.starts):
            return self.position(len(self.source))
        start = self.lines.line_start(line)
        return line - 1, _units(self.source[start : start + column - 1], self.encoding)

    def offset(self, line: int, character: int) -> int:
        """The offset of an editor's position; past a line's end means its end (as LSP says)."""
        if line < 0:
            return 0
        if line >= len(self.lines.starts):
            return len(self.source)
        start = self.lines.line_start(line + 1)
        text = self.source[start : self._content_end(line + 1)]
        if self.encoding == "utf-32":
            return start + min(character, len(text))
        counted = 0
        for index, char in enumerate(text):
            if counted >= character:
                return start + index
            counted += _units(char, self.encoding)
        return start + len(text)

    def _content_end(self, line: int) -> int:
        """The offset where the line's text ends, before its line break."""
        end = self.lines.line_end(line)
        text = self.source[self.lines.line_start(line) : end]
        return end - (len(text) - len(text.rstrip("\r\n")))


def noqa_edit(source: str, line: int, code: str) -> Edit | None:
    """The edit that silences ``code`` on 1-based ``line``: the code added to the line's
    ``# noqa: X`` comment, or ``  # noqa: CODE`` appended. ``None`` where a comment cannot
    go at the line's end (inside a multi-line string, or after a backslash continuation), or
    the line already silences everything."""
    comments, line_ends = _comments_and_line_ends(source)
    if line not in line_ends:
        return None
    index = LineIndex(source)
    comment = comments.get(line)
    if comment is not None:
        column, text = comment
        start = index.line_start(line) + column
        match = _NOQA_CODES.search(text)
        if match is not None:
            codes = re.split(r"[\s,]+", match.group("codes"))
            if code in codes:
                return None
            end = start + match.end("codes")
            return Edit(end, end, f", {code}")
        if _BARE_NOQA.search(text):
            return None  # a noqa without codes silences every rule already
        end = start + len(text)
        return Edit(end, end, f"  # noqa: {code}")
    line_start = index.line_start(line)
    text = source[line_start : index.line_end(line)].rstrip("\r\n")
    content_end = line_start + len(text.rstrip())
    return Edit(content_end, line_start + len(text), f"  # noqa: {code}")


def _comments_and_line_ends(source: str) -> tuple[dict[int, tuple[int, str]], set[int]]:
    """The comment on each line (column, text) and the lines whose end is a real line end:
    not inside a string, not continued by a backslash."""
    comments: dict[int, tuple[int, str]] = {}
    line_ends: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = (token.start[1], token.string)
            elif token.type in (tokenize.NEWLINE, tokenize.NL):
                line_ends.add(token.start[0])
    except (tokenize.TokenError, SyntaxError):
        return {}, set()
    return comments, line_ends

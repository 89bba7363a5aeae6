"""``--add-noqa``: a ``# noqa: CODE`` where each finding is honoured, so a re-check is clean.

A finding is suppressed by a ``noqa`` on its own line (``noqa.py``). A line that ends inside a
multi-line string, or in a backslash continuation, cannot end in a comment; its ``noqa`` goes
where the string or the continuation ends, which is where the checker looks for it. An existing
``noqa`` gets the new codes merged in; another comment keeps its text and the directive follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .finding import Finding
from .lines import LineIndex
from .noqa import Comment, comment_lines, comments, parse_directive

# Codes --add-noqa never adds: a noqa for an unused noqa would only hide it.
NEVER_ADDED = frozenset({"AGL900"})


@dataclass
class Annotated:
    source: str
    added: int = 0  # findings now carrying a noqa


def add_noqa(source: str, findings: Sequence[Finding]) -> Annotated:
    moved = comment_lines(source)
    codes_by_line: dict[int, list[str]] = {}
    result = Annotated(source)
    for finding in findings:
        if finding.code in NEVER_ADDED:
            continue
        line = moved.get(finding.line, finding.line)
        codes = codes_by_line.setdefault(line, [])
        if finding.code not in codes:
            codes.append(finding.code)
        result.added += 1
    lines = LineIndex(source)
    existing = {comment.line: comment for comment in comments(source)}
    pieces: list[str] = []
    position = 0
    for line in sorted(codes_by_line):
        codes = sorted(codes_by_line[line])
        start, end = _content_span(source, lines, line)
        comment = existing.get(line)
        if comment is None:
            code_end = start + len(source[start:end].rstrip(" \t"))  # trailing blanks go
            pieces += [source[position:code_end], f"  # noqa: {', '.join(codes)}"]
        else:
            comment_start = start + comment.column
            comment_end = comment_start + len(comment.text)
            pieces += [source[position:comment_start], _merged(comment.text, codes)]
            end = comment_end
        position = end
    pieces.append(source[position:])
    result.source = "".join(pieces)
    return result


def _merged(text: str, codes: list[str]) -> str:
    directive = parse_directive(Comment(0, 0, text))
    if directive is None:
        return f"{text}  # noqa: {', '.join(codes)}"
    if directive.codes is None:
        return text  # a bare noqa already suppresses everything
    missing = [c for c in codes if c not in directive.codes]
    if not missing:
        return text
    return text[: directive.end] + ", " + ", ".join(missing) + text[directive.end :]


def _content_span(source: str, lines: LineIndex, line: int) -> tuple[int, int]:
    """The line's offsets without its line ending."""
    start, end = lines.line_start(line), lines.line_end(line)
    while end > start and source[end - 1] in "\r\n":
        end -= 1
    return start, end

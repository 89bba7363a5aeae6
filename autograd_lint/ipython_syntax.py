"""IPython's additions to Python, masked so that a notebook cell can be checked as Python.

A cell is masked only when it does not parse as it is. Each magic (``%time f()``), shell line
(``!pip install x``, ``files = !ls``) and help request (``obj?``, ``??obj``) at the start of a
statement becomes a placeholder name on the same line, so that lines and the columns before it
stay where they are; ``unmask`` puts the original text back after a fix. A cell magic that runs
Python (``%%time``, ``%%timeit``, ``%%capture``) is checked without its first line; any other cell
magic (``%%bash``, ``%%html``, ``%%writefile``...) is not Python and the cell is skipped.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

# Cell magics whose body is Python run in the user's namespace.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
PLACEHOLDER = "__ipython_{}__"
_PLACEHOLDER = re.compile(r"__ipython_\d+__")
_EOL = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Mask:
    original: str  # the text the placeholder stands for (to the end of its line)
    whole_line: bool = False  # a continuation line: the placeholder stands for the line, indentation included


@dataclass(frozen=True)
class MaskedCell:
    """A code cell as the checker reads it: ``text`` has the cell's lines, masked where needed."""

    text: str
    masks: dict[str, Mask] = field(default_factory=dict)

    @property
    def masked(self) -> bool:
        return bool(self.masks)


class Placeholders:
    """Hands out placeholder names unique within one notebook (a fix may move a line to another cell)."""

    def __init__(self) -> None:
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return PLACEHOLDER.format(self.count)


def cell_magic(source: str) -> str | None:
    """The name of the cell magic on the cell's first non-blank line (``%%time`` -> ``time``), if any."""
    for line in source.splitlines():
        if line.strip():
            stripped = line.strip()
            return stripped[2:].split(None, 1)[0] if stripped.startswith("%%") and len(stripped) > 2 else None
    return None


def mask_cell(source: str, placeholders: Placeholders | None = None) -> MaskedCell | None:
    """The cell as Python, or ``None`` for a cell magic whose body is not Python."""
    placeholders = placeholders or Placeholders()
    magic = cell_magic(source)
    if magic is not None and magic not in PYTHON_CELL_MAGICS:
        return None
    if magic is None and parses(source):
        return MaskedCell(source)
    lines = source.splitlines(keepends=True)
    masks: dict[str, Mask] = {}
    out: list[str] = []
    magic_line_done = magic is None
    continuation_indent: str | None = None
    for line, starts_statement in _lines_with_statement_starts(lines):
        body, eol = _split_eol(line)
        if continuation_indent is not None:
            # The lines a masked line continues with a backslash belong to it.
            token = placeholders.next()
            masks[token] = Mask(body, whole_line=True)
            out.append(continuation_indent + token + eol)
            continuation_indent = continuation_indent if body.endswith("\\") else None
            continue
        masked: str | None
        if not magic_line_done and body.strip():
            magic_line_done = True
            masked = _mask_from(body, len(body) - len(body.lstrip()), placeholders, masks)
        elif starts_statement:
            masked = _mask_ipython_line(body, placeholders, masks)
        else:
            masked = None
        if masked is None:
            out.append(line)
            continue
        out.append(masked + eol)
        if body.endswith("\\"):
            continuation_indent = body[: len(body) - len(body.lstrip())]
    return MaskedCell("".join(out), masks)


def unmask(text: str, masks: dict[str, Mask]) -> str:
    """``text`` with every placeholder of ``masks`` turned back into the original."""
    if not masks or not _PLACEHOLDER.search(text):
        return text

    def restore(match: re.Match[str]) -> str:
        indent, token = match.group(1) or "", match.group(2)
        mask = masks.get(token)
        if mask is None:
            return match.group(0)
        return mask.original if mask.whole_line else indent + mask.original

    return re.sub(r"(^[ \t]*)?(__ipython_\d+__)", restore, text, flags=re.MULTILINE)


def parses(source: str) -> bool:
    return python_error(source) is None


def python_error(source: str) -> tuple[str, int, int] | None:
    """Python's complaint about ``source``: message, line and column (1-based); ``None`` if it parses."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            ast.parse(source)
    except SyntaxError as error:
        return error.msg, error.lineno or 1, error.offset or 1
    except (ValueError, RecursionError, MemoryError) as error:
        return f"cannot parse: {type(error).__name__}", 1, 1
    return None


# --- which lines start a statement ---------------------------------------------------------------


def _lines_with_statement_starts(lines: list[str]) -> Iterator[tuple[str, bool]]:
    """Each line, and whether it starts a new statement: not inside a string, brackets or a
    backslash continuation. A small scanner, since the tokenizer stops at the first ``!ls``."""
    in_string: str | None = None
    depth = 0
    continued = False
    for line in lines:
        body, _ = _split_eol(line)
        starts = in_string is None and depth == 0 and not continued
        yield line, starts
        if starts and _is_ipython_line(body):
            continued = body.endswith("\\")
            continue
        in_string, depth, code_end = _scan(body, in_string, depth)
        continued = in_string is None and body[:code_end].endswith("\\")


def _scan(body: str, in_string: str | None, depth: int) -> tuple[str | None, int, int]:
    """The string and bracket state after ``body``, and where its code ends (a comment starts)."""
    i, n = 0, len(body)
    while i < n:
        char = body[i]
        if in_string is not None:
            if char == "\\":
                i += 2
                continue
            if body.startswith(in_string, i):
                i += len(in_string)
                in_string = None
                continue
            i += 1
            continue
        if char == "#":
            return None, depth, i
        if char in "\"'":
            delimiter = body[i : i + 3] if body[i : i + 3] in ('"""', "'''") else char
            in_string = delimiter
            i += len(delimiter)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
        i += 1
    if in_string is not None and len(in_string) == 1 and not body.endswith("\\"):
        in_string = None  # an unterminated one-line string: Python will say so
    return in_string, depth, n


def _is_ipython_line(body: str) -> bool:
    stripped = body.lstrip()
    if stripped.startswith(("%", "!", "?")):
        return True
    _, _, code_end = _scan(body, None, 0)
    code = body[:code_end].rstrip()
    return code.endswith("?") or _assignment_magic_at(code) is not None


def _mask_ipython_line(body: str, placeholders: Placeholders, masks: dict[str, Mask]) -> str | None:
    stripped = body.lstrip()
    indent = len(body) - len(stripped)
    if stripped.startswith(("%", "!", "?")):
        return _mask_from(body, indent, placeholders, masks)
    _, _, code_end = _scan(body, None, 0)
    code = body[:code_end].rstrip()
    if code.endswith("?"):
        return _mask_from(body, indent, placeholders, masks)
    start = _assignment_magic_at(code)
    if start is not None:
        return _mask_from(body, start, placeholders, masks)
    return None


def _assignment_magic_at(code: str) -> int | None:
    """Where the magic of ``files = !ls`` or ``t = %timeit f()`` starts: after the first plain ``=``,
    outside strings and brackets."""
    depth = 0
    in_string: str | None = None
    for index, char in enumerate(code):
        if in_string is not None:
            if char == in_string:
                in_string = None
        elif char in "\"'":
            in_string = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "=" and depth == 0:
            if code[index + 1 : index + 2] == "=" or (index and code[index - 1] in "=!<>+-*/%&|^@:~"):
                return None  # a comparison or an augmented assignment
            rest = code[index + 1 :]
            value = rest.lstrip()
            return index + 1 + len(rest) - len(value) if value.startswith(("!", "%")) else None
    return None


def _mask_from(body: str, start: int, placeholders: Placeholders, masks: dict[str, Mask]) -> str:
    token = placeholders.next()
    masks[token] = Mask(body[start:])
    return body[:start] + token


def _split_eol(line: str) -> tuple[str, str]:
    match = _EOL.search(line)
    return (line[: match.start()], line[match.start() :]) if match else (line, "")

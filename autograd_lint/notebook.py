"""Jupyter notebooks (``.ipynb``) read as their cells, and rewritten one cell source at a time.

The JSON is decoded for its structure, and scanned once more for where each cell's ``source``
value sits in the raw text: a fix replaces exactly those characters, so outputs, execution
counts, ids, metadata, key order, indentation and the final newline stay byte for byte, and a
notebook nothing changed in is written back identical. nbformat 4 is read directly;
nbformat 3 goes through nbformat's own converter (``pip install nbformat``) and is not rewritten.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from json.decoder import JSONDecodeError

NOTEBOOK_SUFFIX = ".ipynb"
_WHITESPACE = " \t\n\r"
_DECODER = json.JSONDecoder()
# json.dumps escapes only control characters unless told to escape every non-ASCII one.
_NON_ASCII_ESCAPE = re.compile(r"\\u(?!00[01])[0-9a-fA-F]{4}")


class NotebookError(Exception):
    """A file that is not a notebook we can read; the message is one line for the user."""


@dataclass(frozen=True)
class Cell:
    number: int  # 1-based, counting every cell, markdown included (as Jupyter and ruff show them)
    kind: str  # "code", "markdown", "raw"
    source: str
    span: tuple[int, int] | None = None  # where the source value sits in the raw text (nbformat 4)
    # The raw JSON text of each line of a list-valued source, kept so unchanged lines keep their escapes.
    raw_lines: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Notebook:
    path: str
    text: str  # the decoded file
    encoding: str  # 'utf-8' or 'utf-8-sig'
    cells: tuple[Cell, ...]
    language: str  # "python" unless the metadata names another
    nbformat: int

    @property
    def code_cells(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.kind == "code"]

    @property
    def rewritable(self) -> bool:
        return self.nbformat >= 4

    def with_sources(self, sources: dict[int, str]) -> str:
        """The notebook's text with the sources of these cells (by number) replaced."""
        if not self.rewritable:
            raise NotebookError(f"cannot rewrite an nbformat {self.nbformat} notebook; upgrade it to nbformat 4")
        pieces: list[str] = []
        position = 0
        for cell in self.cells:
            if cell.number not in sources or sources[cell.number] == cell.source or cell.span is None:
                continue
            start, end = cell.span
            pieces.append(self.text[position:start])
            pieces.append(self._encode_source(cell, sources[cell.number]))
            position = end
        pieces.append(self.text[position:])
        return "".join(pieces)

    def _encode_source(self, cell: Cell, source: str) -> str:
        ascii_only = _escapes_non_ascii(self.text)
        if cell.raw_lines is None:  # the source was one string: it stays one
            return json.dumps(source, ensure_ascii=ascii_only)
        lines = source.splitlines(keepends=True)
        if not lines:
            return "[]"
        known = dict(zip(cell.source.splitlines(keepends=True), cell.raw_lines, strict=False))
        encoded = [known.get(line) or json.dumps(line, ensure_ascii=ascii_only) for line in lines]
        leading, separator, closing = self._list_layout(cell)
        return "[" + leading + separator.join(encoded) + closing + "]"

    def _list_layout(self, cell: Cell) -> tuple[str, str, str]:
        """The whitespace before the first item of a source list, between items, and before its
        ``]``, as the file has them."""
        assert cell.span is not None
        start, end = cell.span
        items = _array_items(self.text, start)
        if items:
            leading = self.text[start + 1 : items[0][0]]
            closing = self.text[items[-1][1] : end - 1]
            if len(items) > 1:
                separator = self.text[items[0][1] : items[1][0]]
            else:
                separator = "," + leading if leading else ", "
            return leading, separator, closing
        # An empty list: indent as the file indents, one level below the "source" key.
        unit = _indent_unit(self.text)
        if unit is None:
            return "", ", ", ""
        line_start = self.text.rfind("\n", 0, start) + 1
        line = self.text[line_start:start]
        key_indent = line[: len(line) - len(line.lstrip(" \t"))]
        return "\n" + key_indent + unit, ",\n" + key_indent + unit, "\n" + key_indent


def is_notebook_path(path: str) -> bool:
    return path.lower().endswith(NOTEBOOK_SUFFIX)


def looks_like_notebook(text: str) -> bool | None:
    """For a file named without ``.ipynb``: ``None`` if it is not JSON, else whether it is a notebook."""
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        document = json.loads(text)
    except (JSONDecodeError, RecursionError):
        return None
    return isinstance(document, dict) and "nbformat" in document and ("cells" in document or "worksheets" in document)


def decode_notebook(data: bytes) -> tuple[str, str]:
    encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as error:
        raise NotebookError(f"not a readable notebook: invalid UTF-8 at byte {error.start}") from None


def read_notebook(path: str, data: bytes) -> Notebook:
    text, encoding = decode_notebook(data)
    try:
        document = json.loads(text)
    except JSONDecodeError as error:
        raise NotebookError(
            f"not a readable notebook: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise NotebookError("not a readable notebook: JSON nested too deeply") from None
    if not isinstance(document, dict) or not ("cells" in document or "worksheets" in document):
        raise NotebookError("not a readable notebook: no cells in the JSON")
    version = document.get("nbformat")
    if not isinstance(version, int) or version < 3:
        raise NotebookError(f"not a readable notebook: unsupported nbformat {version!r}")
    if version == 3:
        return _read_v3(path, text, encoding, document)
    cells = document.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise NotebookError("not a readable notebook: 'cells' is not a list of cells")
    spans = _source_spans(text)
    if len(spans) != len(cells):  # pragma: no cover - the scan reads what json.loads read
        raise NotebookError("not a readable notebook: cannot locate the cells in the JSON")
    parsed = [
        _cell(number, cell, text, span) for number, (cell, span) in enumerate(zip(cells, spans, strict=True), start=1)
    ]
    return Notebook(path, text, encoding, tuple(parsed), _language(document), version)


def _cell(number: int, cell: dict, text: str, span: tuple[int, int] | None) -> Cell:
    kind = cell.get("cell_type")
    if not isinstance(kind, str):
        raise NotebookError(f"not a readable notebook: cell {number} has no cell_type")
    source = cell.get("source", "")
    raw_lines = None
    if isinstance(source, list):
        if not all(isinstance(line, str) for line in source):
            raise NotebookError(f"not a readable notebook: cell {number} has a source that is not text")
        raw_lines = _raw_items(text, span) if span is not None else None
        source = "".join(source)
    elif not isinstance(source, str):
        raise NotebookError(f"not a readable notebook: cell {number} has a source that is not text")
    return Cell(number, kind, source, span, raw_lines)


def _language(document: dict) -> str:
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return "python"
    for key, field in (("language_info", "name"), ("kernelspec", "language")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(field), str):
            return section[field].lower()
    return "python"


def _read_v3(path: str, text: str, encoding: str, document: dict) -> Notebook:
    try:
        import nbformat
    except ImportError:
        raise NotebookError(
            "an nbformat 3 notebook: install nbformat to read it (pip install 'autograd-lint[notebook]')"
        ) from None
    try:
        upgraded = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises many kinds for a broken old notebook
        raise NotebookError(f"not a readable notebook: {type(error).__name__}: {error}") from None
    cells = tuple(
        Cell(number, str(cell.get("cell_type", "")), "".join(cell.get("source", "")))
        for number, cell in enumerate(upgraded.get("cells", []), start=1)
    )
    return Notebook(path, text, encoding, cells, _language(dict(upgraded)), 3)


# --- where the sources are in the raw text --------------------------------------------------------


def _skip_whitespace(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _object_members(text: str, index: int):
    """``(key, value_start, value_end)`` for each member of the JSON object at ``index``."""
    index = _skip_whitespace(text, index)
    if text[index] != "{":
        return
    index = _skip_whitespace(text, index + 1)
    if text[index] == "}":
        return
    while True:
        key, index = _DECODER.raw_decode(text, _skip_whitespace(text, index))
        index = _skip_whitespace(text, index) + 1  # past the ':'
        start = _skip_whitespace(text, index)
        _, end = _DECODER.raw_decode(text, start)
        yield key, start, end
        index = _skip_whitespace(text, end)
        if text[index] == "}":
            return
        index += 1  # past the ','


def _array_items(text: str, index: int) -> list[tuple[int, int]]:
    items: list[tuple[int, int]] = []
    index = _skip_whitespace(text, _skip_whitespace(text, index) + 1)
    if text[index] == "]":
        return items
    while True:
        start = _skip_whitespace(text, index)
        _, end = _DECODER.raw_decode(text, start)
        items.append((start, end))
        index = _skip_whitespace(text, end)
        if text[index] == "]":
            return items
        index += 1


def _source_spans(text: str) -> list[tuple[int, int] | None]:
    """For each cell, in order, the span of its ``source`` value (``None`` when it has none)."""
    for key, start, _ in _object_members(text, 0):
        if key == "cells":
            spans: list[tuple[int, int] | None] = []
            for cell_start, _ in _array_items(text, start):
                spans.append(next(((s, e) for k, s, e in _object_members(text, cell_start) if k == "source"), None))
            return spans
    return []


def _raw_items(text: str, span: tuple[int, int]) -> tuple[str, ...]:
    return tuple(text[start:end] for start, end in _array_items(text, span[0]))


def _indent_unit(text: str) -> str | None:
    """The indentation of the top-level keys: the file's indentation step."""
    second_line = text.find("\n")
    if second_line < 0:
        return None
    rest = text[second_line + 1 :]
    unit = rest[: len(rest) - len(rest.lstrip(" \t"))]
    return unit or None


def _escapes_non_ascii(text: str) -> bool:
    """Was the file written with ``ensure_ascii`` (nbformat writes non-ASCII as it is)?"""
    return text.isascii() and _NON_ASCII_ESCAPE.search(text) is not None
